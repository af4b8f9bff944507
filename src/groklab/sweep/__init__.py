"""Sweeps: a spec expanded into many runs, executed on a local pool, results in DuckDB, a report.
Orchestration only: every run is an ordinary run directory made by train/analyze/extract."""
