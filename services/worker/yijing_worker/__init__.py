"""The job edge: arq functions and cron triggers built from the shared job registry."""
