"""Training (培训): monthly trainings online and offline, attendance a volunteer cannot fake by clicking a
link, each session settled by the station's versioned attendance rules, and monthly compliance."""
