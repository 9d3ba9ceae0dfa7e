"""Repeating patrol plans (e.g. every evening 19:00–23:00 in the station's time zone) and the job that turns
them into concrete patrols up to each plan's horizon, once per plan and day."""
