"""Disputes (纠纷调解): small disputes stepped into by volunteers first, mediated, resolved, escalated or
failed, and visited again afterwards (回访), kept as people's-mediation case records."""
