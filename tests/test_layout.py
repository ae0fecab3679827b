"""The package's layout holds: two halves that meet only in conf and exceptions, and the
dotted paths that users' settings and stored results name stay importable."""

from __future__ import annotations

import ast
import importlib
import importlib.metadata
from pathlib import Path

import pytest
from kombu.exceptions import OperationalError
from kombu.transport import resolve_transport

import django_jobtastic

PACKAGE = Path(django_jobtastic.__file__).parent


def imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports, at the top or inside functions."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


@pytest.mark.parametrize(("half", "other"), [("task", "web"), ("web", "task")])
def test_one_half_never_imports_the_other(half, other):
    crossing = {
        f"{path.relative_to(PACKAGE)}: {module}"
        for path in (PACKAGE / half).glob("*.py")
        for module in imported_modules(path)
        if module.startswith(f"django_jobtastic.{other}")
    }
    assert crossing == set()


def test_queued_failures_are_stored_under_their_stable_module():
    """Celery stores a failure's module and class name, and rebuilds it from them."""
    from django_jobtastic.queueing_errors import not_queued
    from tests.celery_app import app

    stored = app.backend.prepare_exception(not_queued(OperationalError("refused")), "json")
    assert (stored["exc_module"], stored["exc_type"]) == (
        "django_jobtastic.queueing_errors",
        "OperationalError",
    )
    rebuilt = app.backend.exception_to_python(stored)
    assert isinstance(rebuilt, django_jobtastic.JobNotQueuedError)
    assert str(rebuilt) == "The job could not be queued. Please try again."


def test_the_embedded_transport_resolves_from_the_path_settings_name():
    from django_jobtastic.filesystem_transport import Transport

    assert resolve_transport("django_jobtastic.filesystem_transport:Transport") is Transport


def test_the_task_class_imports_from_its_old_and_public_paths():
    from django_jobtastic.task import JobtasticTask

    assert JobtasticTask is django_jobtastic.JobtasticTask


def test_the_version_has_one_source():
    assert importlib.metadata.version("django-jobtastic") == django_jobtastic.__version__
