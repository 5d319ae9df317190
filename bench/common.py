"""Shared helpers: percentiles, child processes with peak RSS, machine facts, the question set."""

from __future__ import annotations

import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bot.settings import ENV_VARS

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "seeds"
BIN = Path(sys.executable).parent
SUMMIT_BOT = BIN / "summit-bot"
QUESTIONS = REPO / "eval" / "questions.jsonl"
TOKEN = "123456789:AAE-fake_token_for_the_benchmark_000000"


def summary(samples_s: list[float] | np.ndarray) -> dict[str, float]:
    """Median, p95, p99, mean, min, max of durations given in seconds, reported in milliseconds."""
    ms = np.asarray(samples_s, dtype=np.float64) * 1000.0
    if ms.size == 0:
        return {"n": 0}
    return {
        "n": int(ms.size),
        "median": float(np.median(ms)),
        "p95": float(np.percentile(ms, 95)),
        "p99": float(np.percentile(ms, 99)),
        "mean": float(ms.mean()),
        "min": float(ms.min()),
        "max": float(ms.max()),
    }


def child_env(data_dir: Path | None = None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ENV_VARS}
    env.update(SUMMIT_SEEDS_DIR=str(SEEDS), HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1")
    if data_dir is not None:
        env["SUMMIT_DATA_DIR"] = str(data_dir)
    env.update(extra)
    return env


@dataclass
class ChildResult:
    wall_s: float  # start -> exit
    first_line_s: float | None  # start -> first line on stdout
    stdout: str
    stderr: str
    returncode: int
    peak_rss_mb: float


def run_child(cmd: list[str], env: dict[str, str], *, cwd: Path | None = None, timeout: float = 300) -> ChildResult:
    """Run ``cmd``; time to first stdout line and to exit; peak RSS from wait4 (this child only)."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        cmd, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL
    )
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    first_s = time.perf_counter() - started if first else None
    rest = proc.stdout.read()
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    return ChildResult(
        wall,
        first_s,
        (first + rest).decode("utf-8", "replace"),
        err.decode("utf-8", "replace"),
        proc.returncode,
        usage.ru_maxrss / 1024.0,
    )


def proc_status_mb(pid: int, field_name: str) -> float:
    """VmHWM (peak RSS) or VmRSS of a live process, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1]) / 1024.0
    return float("nan")


def self_peak_rss_mb() -> float:
    return proc_status_mb(os.getpid(), "VmHWM")


def load_questions(limit: int | None = None) -> list[str]:
    """Distinct eval questions that stand alone (no conversation context)."""
    out: list[str] = []
    seen: set[str] = set()
    for line in QUESTIONS.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        q = row["question"]
        if row.get("context") or q in seen:
            continue
        seen.add(q)
        out.append(q)
    return out[:limit] if limit else out


def machine() -> dict[str, Any]:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import faiss

    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "faiss": faiss.__version__,
        "load_average_start": os.getloadavg(),
        "ram_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
    }


def copy_index(src_data: Path, dst_data: Path) -> Path:
    dst_data.mkdir(parents=True, exist_ok=True)
    shutil.copytree(src_data / "index", dst_data / "index", dirs_exist_ok=True)
    return dst_data


@dataclass
class Section:
    """One report section: prose, tables, targets, raw data for the JSON file."""

    key: str
    title: str
    notes: list[str] = field(default_factory=list)
    tables: list[tuple[str, list[str], list[list[Any]]]] = field(default_factory=list)
    targets: list[dict[str, Any]] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def table(self, caption: str, headers: list[str], rows: list[list[Any]]) -> None:
        self.tables.append((caption, headers, rows))

    def target(self, name: str, value: float | None, limit: float, *, at_most: bool = True, unit: str = "") -> None:
        ok = value is not None and (value <= limit if at_most else value >= limit)
        self.targets.append(
            {"target": name, "value": value, "limit": limit, "at_most": at_most, "unit": unit, "pass": bool(ok)}
        )


def fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value != value:  # NaN
            return "—"
        if abs(value) >= 100:
            return f"{value:,.0f}"
        return f"{value:.{digits}f}"
    return str(value)


def stop_process(proc: subprocess.Popen[bytes]) -> int:
    """SIGTERM (as a service manager would), then SIGKILL after 30 s; the exit code."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode
