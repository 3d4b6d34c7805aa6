"""Network stage: the device API client and the outbox uploader. JSON only, never pixels."""
