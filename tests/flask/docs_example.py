"""Runs the example of docs/flask.md as a site, in a process of its own (its Celery app must
not meet the test suite's): ``python -m tests.flask.docs_example <folder>``.

The page's ``# flaskdemo/<module>.py`` blocks and its ``{# flaskdemo/templates/<name> #}``
template become files of a package in ``<folder>``; its Celery app runs jobs eagerly (no
worker), storing their results for real. The page's view is requested with Flask's test
client, and the status URL of the widget it renders must report the job's SUCCESS.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "flask.md"
FENCE = re.compile(r"^```(?P<language>\S*)\n(?P<body>.*?)^```$", re.MULTILINE | re.DOTALL)
MODULE = re.compile(r"^# (?P<path>flaskdemo/[a-z_]+\.py)\n")
TEMPLATE = re.compile(r"^\{# flaskdemo/(?P<path>templates/[\w./-]+) #\}\n")
STATUS_URL = re.compile(r'data-jobtastic-url="(?P<url>[^"]+)"')


def write_package(folder: Path) -> list[str]:
    """The page's files under ``folder``; the languages of every fence, in page order."""
    package = folder / "flaskdemo"
    (package / "templates").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    languages = []
    for fence in FENCE.finditer(PAGE.read_text(encoding="utf-8")):
        languages.append(fence["language"])
        body = fence["body"]
        if fence["language"] == "python" and (module := MODULE.match(body)):
            (folder / module["path"]).write_text(body)
        elif fence["language"] == "jinja" and (template := TEMPLATE.match(body)):
            (package / template["path"]).write_text(body)
    return languages


def main(folder: Path) -> None:
    write_package(folder)
    sys.path.insert(0, str(folder))
    from flaskdemo.app import app  # type: ignore[import-not-found]
    from flaskdemo.celery_app import celery  # type: ignore[import-not-found]

    celery.conf.task_always_eager = True
    client = app.test_client()
    page = client.get("/", query_string={"iterations": 20})
    assert page.status_code == 200, page.data
    url = STATUS_URL.search(page.get_data(as_text=True))
    assert url, page.data
    task = client.get(url["url"]).get_json()["task"]
    assert (task["status"], task["error"]) == ("SUCCESS", None), task
    assert task["result"][:2] == [0.0, 20 / 11], task
    stranger = app.test_client().get(url["url"])
    assert stranger.status_code == 404, stranger.data
    from django.conf import settings

    assert not settings.configured
    print("ok")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
