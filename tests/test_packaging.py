"""The wheel users install carries what the package needs at run time."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_contains_the_package_and_its_type_marker(tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
    )
    [wheel] = tmp_path.glob("django_jobtastic-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "django_jobtastic/py.typed" in names
    assert "django_jobtastic/task.py" in names
    # The widget ships built: pip users need no Node.
    assert "django_jobtastic/static/django_jobtastic/jobtastic.js" in names
    assert "django_jobtastic/static/django_jobtastic/jobtastic.css" in names
    assert "django_jobtastic/templates/django_jobtastic/progress.html" in names
    assert "django_jobtastic/templatetags/jobtastic.py" in names
    assert "django_jobtastic/locale/de/LC_MESSAGES/django.mo" in names
    assert not any(name.startswith("tests/") for name in names)
