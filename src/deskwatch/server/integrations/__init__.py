"""SIEM and webhook integrations: sinks an admin sets up, an outbox, delivery."""
