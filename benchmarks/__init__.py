"""Benchmarks: each module prints one JSON line of figures; ``python -m benchmarks`` runs all."""
