"""The agent: camera → edge pipeline → durable outbox → server, on the worker's own PC."""
