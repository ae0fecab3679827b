"""The German catalogue: complete, compiled, and used by the widget and the status JSON."""

from __future__ import annotations

import ast
import html
import json
import re
from pathlib import Path

import pytest
from celery import states
from django.template import Context, Template
from django.utils import translation

from django_jobtastic import grant
from django_jobtastic.web.payloads import GENERIC_FAILURE
from tests.statuses import failed, new_id, read, status_url_for, store
from tests.test_templatetags import anonymous_request

pytestmark = pytest.mark.django_db(transaction=True)

CATALOGUE = Path(__file__).resolve().parent.parent / "django_jobtastic" / "locale" / "de"
ENTRY = re.compile(r'^msgid (".*")\nmsgstr (".*")$', re.MULTILINE)
GERMAN_FAILURE = "Bei der Ausführung dieses Auftrags ist ein Fehler aufgetreten."


def catalogue_entries() -> dict[str, str]:
    text = (CATALOGUE / "LC_MESSAGES" / "django.po").read_text()
    entries = {
        ast.literal_eval(source): ast.literal_eval(german) for source, german in ENTRY.findall(text)
    }
    entries.pop("")  # the header
    return entries


def test_every_text_is_translated_and_the_compiled_catalogue_is_current():
    entries = catalogue_entries()
    assert len(entries) == 45
    with translation.override("de"):
        for source, german in entries.items():
            assert german, f"not translated: {source!r}"
            # gettext reads the .mo: a .po edited without compilemessages fails here.
            assert translation.gettext(source) == german


def test_the_widget_speaks_german():
    request, task_id = anonymous_request(), new_id()
    grant(request, task_id)
    with translation.override("de"):
        markup = Template("{% load jobtastic %}{% jobtastic_progress t %}").render(
            Context({"request": request, "t": task_id})
        )
    messages = json.loads(html.unescape(re.search(r'data-jobtastic-messages="([^"]*)"', markup)[1]))
    assert messages["failure"] == GERMAN_FAILURE
    assert messages["progress"] == "{percent} % erledigt, noch etwa {remaining}"
    assert messages["about"] == "Noch etwa {remaining}"
    assert messages["startsIn"] == "Beginnt in etwa {remaining}"
    assert 'aria-label="Fortschritt des Auftrags"' in markup
    assert "Warten, bis Ihr Auftrag beginnt …</p>" in markup


def test_status_texts_follow_the_request_language(client, settings):
    """Hidden failures and errors read in the request's language; re-use keeps them apart."""
    settings.JOBTASTIC_STATUS_REUSE_SECONDS = 60  # the German answer is held throughout
    task_id = new_id()
    store(task_id, KeyError("internal"), states.FAILURE)
    url = status_url_for(client, task_id)
    with translation.override("de"):
        assert read(client, url)[1]["task"] == failed(task_id, "KeyError", GERMAN_FAILURE)
        assert read(client, url[:-1] + "x/")[1]["error"].startswith("Diesen Auftrag gibt es nicht")
    assert read(client, url)[1]["task"] == failed(task_id, "KeyError", GENERIC_FAILURE)


def test_a_job_that_could_not_be_queued_is_told_in_the_readers_language(client):
    from kombu.exceptions import OperationalError

    from django_jobtastic.queueing_errors import not_queued

    task_id = new_id()
    store(task_id, not_queued(OperationalError("Connection refused")), states.FAILURE)
    url = status_url_for(client, task_id)
    german = (
        "Der Auftrag konnte nicht in die Warteschlange gestellt werden. "
        "Bitte versuchen Sie es erneut."
    )
    with translation.override("de"):
        assert read(client, url)[1]["task"] == failed(task_id, "OperationalError", german)
