"""Purpose-built HTTP servers that benchbox's integration tests and benchmarks run as processes."""
