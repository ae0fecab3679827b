from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from django_jobtastic.conf import conf


def test_conf_defaults_when_unset(settings):
    for name in ("JOBTASTIC_PROGRESS_INTERVAL", "JOBTASTIC_PUBLISH_TIMEOUT"):
        delattr(settings, name)
    assert (
        conf.CACHE,
        conf.PROGRESS_INTERVAL,
        conf.POLL_INTERVAL,
        conf.PUBLISH_TIMEOUT,
        conf.TOKEN_MAX_AGE,
        conf.STATUS_ALLOW_RAW_IDS,
    ) == ("default", 0.5, 1.0, 2.0, 86400, False)


@override_settings(
    JOBTASTIC_CACHE="other",
    JOBTASTIC_PROGRESS_INTERVAL=2,
    JOBTASTIC_POLL_INTERVAL=3.5,
    JOBTASTIC_PUBLISH_TIMEOUT=7,
    JOBTASTIC_TOKEN_MAX_AGE=60,
    JOBTASTIC_STATUS_ALLOW_RAW_IDS=True,
)
def test_conf_reads_overrides_at_access_time():
    assert (
        conf.CACHE,
        conf.PROGRESS_INTERVAL,
        conf.POLL_INTERVAL,
        conf.PUBLISH_TIMEOUT,
        conf.TOKEN_MAX_AGE,
        conf.STATUS_ALLOW_RAW_IDS,
    ) == ("other", 2.0, 3.5, 7.0, 60, True)


@pytest.mark.parametrize(
    ("name", "value", "read"),
    [
        ("JOBTASTIC_TOKEN_MAX_AGE", "1 day", lambda: conf.TOKEN_MAX_AGE),
        ("JOBTASTIC_POLL_INTERVAL", float("nan"), lambda: conf.POLL_INTERVAL),
        ("JOBTASTIC_PROGRESS_INTERVAL", -3, lambda: conf.PROGRESS_INTERVAL),
        ("JOBTASTIC_CACHE", 5, lambda: conf.CACHE),
    ],
)
def test_a_bad_setting_read_where_no_check_ran_names_itself(settings, name, value, read):
    """gunicorn runs no checks and Celery ignores their outcome: the read itself says it."""
    setattr(settings, name, value)
    with pytest.raises(ImproperlyConfigured, match=rf"^{name} must be .*; it is "):
        read()


def test_a_setting_read_before_a_change_is_read_again_after_it(settings):
    assert conf.POLL_INTERVAL == 1.0  # read, and remembered
    settings.JOBTASTIC_POLL_INTERVAL = 2.5
    assert conf.POLL_INTERVAL == 2.5
    with override_settings(JOBTASTIC_POLL_INTERVAL=4):
        assert conf.POLL_INTERVAL == 4.0
    assert conf.POLL_INTERVAL == 2.5


def test_a_rule_naming_another_setting_follows_its_change(settings):
    """JOBTASTIC_LOST_AFTER must exceed JOBTASTIC_HEARTBEAT_INTERVAL: a remembered valid
    value is checked again once the other one changes."""
    settings.JOBTASTIC_LOST_AFTER = 30
    assert conf.LOST_AFTER == 30.0
    settings.JOBTASTIC_HEARTBEAT_INTERVAL = 40
    with pytest.raises(ImproperlyConfigured, match=r"^JOBTASTIC_LOST_AFTER must be "):
        conf.LOST_AFTER  # noqa: B018
