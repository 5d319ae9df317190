"""Publishing shipped index versions in tests: ``summit-bot index --out`` run in-process."""

from __future__ import annotations

from pathlib import Path

from bot import cli
from embeddings.artifact import read_current

EXTRA_DOC = "900_test_library"  # an article some tests add to seeds/ to make a second version


def publish(out: Path, *flags: str) -> str:
    """Build the index of SUMMIT_SEEDS_DIR into ``out`` (SUMMIT_EMBEDDER must name the fake) and
    return the version CURRENT then names."""
    code = cli.main(["index", "--out", str(out), *flags])
    assert code == 0, f"summit-bot index --out {out} exited {code}"
    return read_current(out)


def write_article(seeds: Path, paragraphs: list[str], doc: str = EXTRA_DOC) -> Path:
    """A plain-text article in ``seeds`` (English, paragraphs separated by blank lines)."""
    path = seeds / f"{doc}.txt"
    path.write_text("\n\n".join(paragraphs) + "\n", encoding="utf-8")
    return path


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """(mtime, size) of everything under ``folder``: equal before and after means nothing was written."""
    return {str(p.relative_to(folder)): (p.stat().st_mtime_ns, p.stat().st_size) for p in folder.rglob("*")}
