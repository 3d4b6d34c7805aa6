"""Work schedules from a WFM tool (shifts, breaks) and the WFM integration's tokens."""
