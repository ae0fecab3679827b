"""docs/flask.md's example runs as written, in a process that never configures Django."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.flask.celery_app import REDIS_URL
from tests.flask.conftest import ROOT
from tests.flask.docs_example import write_package


def test_the_flask_page_fences_name_known_languages(tmp_path):
    assert set(write_package(tmp_path)) <= {"python", "jinja", "sh"}


def test_the_flask_page_example_runs_and_follows_its_job(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "REDIS_URL": REDIS_URL}
    env.pop("DJANGO_SETTINGS_MODULE", None)

    ran = subprocess.run(
        [sys.executable, "-m", "tests.flask.docs_example", str(tmp_path)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert (ran.returncode, ran.stdout) == (0, "ok\n"), ran.stderr
