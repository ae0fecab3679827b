from __future__ import annotations

import pytest
from celery import Celery
from django.core.checks import registry
from django.core.management import call_command
from django.test import override_settings

from django_jobtastic.checks import (
    check_cache,
    check_result_backend,
    check_settings,
    database_cache_adds_atomically,
)
from tests.celery_app import app

LOCMEM = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}


def ids(messages) -> list[str]:
    return [message.id for message in messages]


def test_checks_pass_on_the_test_settings():
    assert check_cache() + check_result_backend() + check_settings() == []


def test_checks_run_through_manage_py_check():
    call_command("check", "--fail-level", "WARNING")


@override_settings(JOBTASTIC_CACHE="nope")
def test_unknown_cache_alias_is_e001():
    assert ids(check_cache()) == ["django_jobtastic.E001"]


def test_process_local_cache_with_herd_avoidance_is_w001(settings):
    settings.CACHES = {**settings.CACHES, "default": LOCMEM}
    [message] = check_cache()
    assert message.id == "django_jobtastic.W001"
    assert "tests.jobs.CountingJob" in message.msg
    assert "tests.jobs.decorated_job" in message.msg
    assert "LocMemCache" in message.msg


def test_process_local_cache_unused_by_any_task_is_fine(settings):
    settings.CACHES = {**settings.CACHES, "unused": LOCMEM}
    assert check_cache() == []


@pytest.fixture
def celery_conf():
    """A fresh current Celery app (a JSON-only Redis set-up) whose conf a test changes."""
    checked = Celery("checked", set_as_current=True)
    checked.conf.update(result_backend="redis://127.0.0.1:6379/11")
    yield checked.conf
    app.set_current()


def test_checks_pass_on_a_json_redis_app(celery_conf):
    assert check_result_backend() == []


@pytest.mark.parametrize("backend", ["", "disabled://"])
def test_missing_result_backend_is_e002(celery_conf, backend):
    celery_conf.result_backend = backend
    assert ids(check_result_backend()) == ["django_jobtastic.E002"]


def test_pickle_result_serializer_is_w002(celery_conf):
    celery_conf.result_serializer = "pickle"
    assert ids(check_result_backend()) == ["django_jobtastic.W002"]


def test_pickle_in_accept_content_is_w002(celery_conf):
    celery_conf.result_accept_content = None
    celery_conf.accept_content = ["json", "application/x-python-serialize"]
    assert ids(check_result_backend()) == ["django_jobtastic.W002"]


def test_file_based_cache_with_herd_avoidance_is_w003(settings, tmp_path):
    settings.CACHES = {
        **settings.CACHES,
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(tmp_path),
        },
    }
    [message] = check_cache()
    assert message.id == "django_jobtastic.W003"
    assert "add() as a read then a write" in message.msg


def test_task_cache_alias_missing_is_e001(settings):
    settings.CACHES = {k: v for k, v in settings.CACHES.items() if k != "unreachable"}
    [message] = check_cache()
    assert message.id == "django_jobtastic.E001"
    assert message.msg == (
        "tests.jobs.UnreachableCacheJob use the cache alias 'unreachable', which is not in CACHES."
    )


@pytest.mark.parametrize("backend", ["rpc://", "rpc"])
def test_caller_only_result_backend_is_e003(celery_conf, backend):
    celery_conf.result_backend = backend
    assert ids(check_result_backend()) == ["django_jobtastic.E003"]


@pytest.mark.parametrize(
    ("database", "atomic"),
    [
        ({"ENGINE": "django.db.backends.sqlite3", "OPTIONS": {"timeout": 20}}, False),
        ({"ENGINE": "django.db.backends.sqlite3"}, False),
        (
            {"ENGINE": "django.db.backends.sqlite3", "OPTIONS": {"transaction_mode": "IMMEDIATE"}},
            True,
        ),
        ({"ENGINE": "django.db.backends.postgresql"}, True),
    ],
)
def test_database_cache_add_atomic_only_with_immediate_sqlite(database, atomic):
    assert database_cache_adds_atomically(database) is atomic


def test_database_cache_as_herd_cache_is_checked(settings):
    settings.CACHES = {
        **settings.CACHES,
        "default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "t"},
    }
    atomic = database_cache_adds_atomically(settings.DATABASES["default"])
    assert ids(check_cache()) == ([] if atomic else ["django_jobtastic.W003"])


GOOD_VALUES = {
    "JOBTASTIC_CACHE": ["default", "other"],
    "JOBTASTIC_PROGRESS_INTERVAL": [0, 0.25, 3],
    "JOBTASTIC_POLL_INTERVAL": [0.5, 2],
    "JOBTASTIC_PUBLISH_TIMEOUT": [0.1, 5],
    "JOBTASTIC_TOKEN_MAX_AGE": [1, 3600],
    "JOBTASTIC_GRANTS_PER_OWNER": [1, 500],
    "JOBTASTIC_HEARTBEAT_INTERVAL": [0.25, 10, 30],
    "JOBTASTIC_LOST_AFTER": [11, 60.5],
    "JOBTASTIC_STATUS_ALLOW_RAW_IDS": [True, False],
    "JOBTASTIC_STATUS_REUSE_SECONDS": [0, 0.2, 5],
    "JOBTASTIC_ESTIMATE_FROM_HISTORY": [True, False],
}
BAD_VALUES = {
    "JOBTASTIC_CACHE": ["", None, 3],
    "JOBTASTIC_PROGRESS_INTERVAL": [-1, "0.5", float("nan"), True],
    "JOBTASTIC_POLL_INTERVAL": [0, -1, "1", float("inf"), None],
    "JOBTASTIC_PUBLISH_TIMEOUT": [0, "2", float("inf"), 10**400],
    "JOBTASTIC_TOKEN_MAX_AGE": [0, -5, 1.5, "86400", True],
    "JOBTASTIC_GRANTS_PER_OWNER": [0, -1, 2.5, "50", False],
    "JOBTASTIC_HEARTBEAT_INTERVAL": [0, -1, "10", None],
    "JOBTASTIC_LOST_AFTER": [10, 5, 0, "60", None],  # not above the heartbeat interval (10)
    "JOBTASTIC_STATUS_ALLOW_RAW_IDS": ["False", 1, None],
    "JOBTASTIC_STATUS_REUSE_SECONDS": [-1, float("inf"), float("nan"), "soon", None],
    "JOBTASTIC_ESTIMATE_FROM_HISTORY": ["yes", 0, None],
}


def test_every_setting_has_its_good_and_bad_values_here():
    from django_jobtastic.conf import PREFIX, SETTINGS

    assert set(GOOD_VALUES) == set(BAD_VALUES) == {PREFIX + name for name in SETTINGS}


@pytest.mark.parametrize(
    ("name", "value"), [(name, value) for name, values in GOOD_VALUES.items() for value in values]
)
def test_a_valid_setting_passes(settings, name, value):
    setattr(settings, name, value)
    raw_ids_on = (name, value) == ("JOBTASTIC_STATUS_ALLOW_RAW_IDS", True)
    assert ids(check_settings()) == (["django_jobtastic.W005"] if raw_ids_on else [])


@pytest.mark.parametrize(
    ("name", "value"), [(name, value) for name, values in BAD_VALUES.items() for value in values]
)
def test_a_setting_of_the_wrong_type_or_range_is_e004_naming_it(settings, name, value):
    setattr(settings, name, value)
    [message] = check_settings()
    assert message.id == "django_jobtastic.E004"
    assert message.msg.startswith(f"{name} must be ")
    assert message.msg.endswith(f"; it is {value!r}.")


def test_an_unknown_jobtastic_setting_is_w004_with_a_suggestion(settings):
    settings.JOBTASTIC_POLL_INTERVALL = 2
    [message] = check_settings()
    assert message.id == "django_jobtastic.W004"
    assert message.msg == (
        "JOBTASTIC_POLL_INTERVALL is not a django-jobtastic setting, so it has no effect."
    )
    assert message.hint == "Did you mean JOBTASTIC_POLL_INTERVAL?"


def test_a_bad_setting_fails_manage_py_check(settings):
    from django.core.management.base import SystemCheckError

    settings.JOBTASTIC_TOKEN_MAX_AGE = "a day"
    with pytest.raises(SystemCheckError, match="JOBTASTIC_TOKEN_MAX_AGE must be a whole number"):
        call_command("check")


def test_every_check_carries_the_jobtastic_tag(settings):
    from django.core.checks import registry

    settings.JOBTASTIC_CACHE = "nope"
    settings.JOBTASTIC_POLL_INTERVAL = 0
    found = registry.run_checks(tags=["jobtastic"])
    assert sorted({message.id for message in found}) == [
        "django_jobtastic.E001",
        "django_jobtastic.E004",
    ]
    ours = [
        check
        for check in registry.registry.get_checks()
        if check.__module__.startswith("django_jobtastic")
    ]
    assert len(ours) == 3
    assert all("jobtastic" in check.tags for check in ours)


def test_a_cache_setting_that_is_no_alias_is_only_e004(settings):
    settings.JOBTASTIC_CACHE = 5
    assert ids(check_settings() + check_cache()) == ["django_jobtastic.E004"]


def test_status_by_raw_task_id_is_w005(settings):
    settings.JOBTASTIC_STATUS_ALLOW_RAW_IDS = True
    [message] = check_settings()
    assert message.id == "django_jobtastic.W005"
    assert message.msg == (
        "JOBTASTIC_STATUS_ALLOW_RAW_IDS is on: anyone who knows (or guesses) a task id reads "
        "its job through jobtastic:task_status."
    )
    assert message.hint == (
        "Turn it off and follow jobs with status tokens: status_url() after grant()."
    )
    assert "django_jobtastic.W005" in ids(registry.run_checks(tags=["jobtastic"]))


def test_status_by_raw_task_id_off_is_no_warning(settings):
    settings.JOBTASTIC_STATUS_ALLOW_RAW_IDS = False
    assert check_settings() == []
    del settings.JOBTASTIC_STATUS_ALLOW_RAW_IDS  # the default is off too
    assert check_settings() == []
