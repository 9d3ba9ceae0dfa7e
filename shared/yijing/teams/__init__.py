"""The 1+2+N team of a site: one community officer and two police assistants, dated, plus its volunteers."""
