"""Patrol routes of a site and their ordered checkpoints, whose tags volunteers scan on patrol."""
