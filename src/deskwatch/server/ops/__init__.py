"""Operations: Prometheus metrics, health and readiness probes, structured logs."""
