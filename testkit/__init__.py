"""Test and bench tooling."""
