"""A secret key for development only: made at random once, then kept in a file."""

from __future__ import annotations

import os
from pathlib import Path

from django.core.management.utils import get_random_secret_key


def development_secret_key(path: Path) -> str:
    """The key kept in ``path`` (readable by its owner only), made on first use."""
    if not path.exists():
        draft = path.with_name(f".{path.name}.{os.getpid()}")
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(get_random_secret_key())
        try:
            os.link(draft, path)  # atomic, and the first process to get there wins
        except FileExistsError:
            pass  # the web server and the worker started at once: both take the first key
        finally:
            os.unlink(draft)
    return path.read_text().strip()
