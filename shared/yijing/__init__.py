"""yijing (义警): the shared core of the volunteer-police backend — settings, database, tables, schemas,
repositories, domain services and the typed job registry that both edges (API and worker) import."""
