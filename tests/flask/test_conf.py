"""The settings seam without Django: the Celery app's lower-case ``jobtastic_*`` keys."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator

import pytest
from django.core.exceptions import ImproperlyConfigured

from django_jobtastic.conf import conf, django_configured, forget
from django_jobtastic.job_cache import open_cache
from tests.flask import pace
from tests.flask.celery_app import app
from tests.flask.jobs import HeldJob


@pytest.fixture
def celery_conf() -> Iterator[dict[str, object]]:
    """Change the app's configuration for one test; the original comes back after it."""
    changes: dict[str, object] = {}
    saved = {key: app.conf.get(key) for key in list(app.conf.keys()) if key.startswith("jobtastic")}
    yield changes
    for key in list(app.conf.keys()):
        if key.startswith("jobtastic") and key not in saved:
            del app.conf[key]
    app.conf.update(saved)
    forget()


def configure(celery_conf: dict[str, object], **values: object) -> None:
    celery_conf.update(values)
    app.conf.update(values)
    forget()


def test_settings_come_from_the_celery_apps_lower_case_keys(celery_conf):
    configure(celery_conf, jobtastic_poll_interval=3.5, jobtastic_token_max_age=60)

    assert (conf.POLL_INTERVAL, conf.TOKEN_MAX_AGE, conf.PROGRESS_INTERVAL) == (3.5, 60, 0.0)


def test_an_unset_setting_has_its_documented_default(celery_conf):
    del app.conf["jobtastic_publish_timeout"]
    forget()

    assert (conf.PUBLISH_TIMEOUT, conf.LOST_AFTER, conf.GRANTS_PER_OWNER) == (2.0, 60, 50)


@pytest.mark.parametrize(
    ("name", "value", "read"),
    [
        ("jobtastic_progress_interval", -3, lambda: conf.PROGRESS_INTERVAL),
        ("jobtastic_token_max_age", "1 day", lambda: conf.TOKEN_MAX_AGE),
        ("jobtastic_cache", "default", lambda: conf.CACHE),
    ],
)
def test_a_bad_value_names_its_celery_key(celery_conf, name, value, read):
    configure(celery_conf, **{name: value})

    with pytest.raises(ImproperlyConfigured, match=rf"^{name} must be .*; it is "):
        read()


def test_the_cache_is_a_url(celery_conf):
    assert app.conf.jobtastic_cache == conf.CACHE


def test_no_cache_url_is_a_clear_error(celery_conf):
    del app.conf["jobtastic_cache"]
    forget()

    with pytest.raises(ImproperlyConfigured, match="^jobtastic_cache is not set"):
        open_cache()


def test_no_cache_url_submits_without_herd_avoidance(worker, celery_conf, caplog):
    del app.conf["jobtastic_cache"]
    forget()
    marker = f"flask-{uuid.uuid4().hex}"
    pace.release(marker)  # whichever worker picks it up runs it straight through

    with caplog.at_level(logging.WARNING, logger="django_jobtastic"):
        result = HeldJob.delay_or_fail(marker=marker)

    assert result.id
    assert any("jobtastic_cache is not set" in record.getMessage() for record in caplog.records)


def test_a_settings_module_named_in_the_environment_counts_as_django(monkeypatch):
    """A Django project's script that has not touched its settings yet still reads them."""
    assert django_configured() is False
    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", "tests.settings")

    assert django_configured() is True
