"""iCalendar feeds of captain weeks for calendar apps: a secret address per group or per volunteer."""
