"""Comments, disputes and the human review of events (GDPR Art. 22)."""
