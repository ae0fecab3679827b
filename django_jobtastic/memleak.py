"""Resident memory of this process, for the per-run leak check."""

from __future__ import annotations

import psutil

BYTES_PER_MB = 1_000_000  # SI megabytes, as ``memleak_threshold`` is documented


def resident_bytes() -> int:
    """The resident set size of the current process, in bytes."""
    return int(psutil.Process().memory_info().rss)


def exceeds(growth: int, threshold_mb: float) -> bool:
    """Whether ``growth`` bytes is above ``threshold_mb`` (SI megabytes)."""
    return growth > threshold_mb * BYTES_PER_MB


def to_mb(size: int) -> float:
    return round(size / BYTES_PER_MB, 1)
