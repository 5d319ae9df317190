"""Benchmark suite for summit-bot (issue 5): ``python -m bench`` writes bench/results/report.{md,json}."""
