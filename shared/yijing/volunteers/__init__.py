"""Volunteers (义警): who they are, where they serve, their status lifecycle and bulk enrolment."""
