"""The data package's error type."""

from __future__ import annotations

from pathlib import Path

from pathologies.text import InputError


class DataError(InputError):
    """A data set cannot be found or read: unknown name or split, missing or corrupt file."""


def at(path: str | Path, lineno: int, message: str) -> DataError:
    """A :class:`DataError` that points at ``path:lineno`` (1-based line numbers)."""
    return DataError(f"{path}:{lineno}: {message}")
