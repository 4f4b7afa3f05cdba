"""Benchmarks for nemo_desk (scripts, not tests): see benchmarks/README.md."""
