"""The benchmark harness: servers, data, the load generator (wrk) and the report. Entry point: ``run.py``."""
