"""Tooling for tests and benchmarks: material qrcheck did not make (other encoders, captures)."""
