"""Patrol logs: what happened on a patrol — observations, safety persuasion and outreach, interventions,
hazards found (made or linked through the hazards service) and disputes — with photos."""
