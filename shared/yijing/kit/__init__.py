"""The small kit every domain builds on: the generic mechanism lives here, each domain declares only what
is its own (which rows a caller reaches, which filters a list takes, which actions its lifecycle has)."""
