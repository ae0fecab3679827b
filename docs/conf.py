"""Sphinx configuration of the documentation site: Markdown pages (MyST), the furo theme."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _version() -> str:
    """``django_jobtastic.__version__``, read without importing the package (no settings)."""
    source = (ROOT / "django_jobtastic" / "__init__.py").read_text(encoding="utf-8")
    match = re.search(r'^__version__ = "([^"]+)"', source, re.MULTILINE)
    return match.group(1) if match else "unknown"


project = "django-jobtastic"
author = "django-jobtastic developers"
copyright = "django-jobtastic developers"
release = _version()
version = release

extensions = ["myst_parser"]
source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build"]

myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

html_theme = "furo"
html_title = f"django-jobtastic {release}"
html_static_path: list[str] = []

nitpicky = True
