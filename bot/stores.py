"""The shared-state layer's errors (the import point of :class:`StoreUnavailable`).

Placeholder on branch gaps-pg: branch shared-state writes the full module (``open_stores`` and the
store protocols) with this same exception; when merging, keep that file.
"""

from __future__ import annotations


class StoreUnavailable(Exception):
    """A shared store did not answer; retry the update later."""
