"""``Jobtastic(app)``: the Flask extension (status routes, grants, the widget's Jinja global).

The request that submits a job may follow it: submissions made while a request is handled
are noted, and ``jobtastic_progress(task_id)`` grants such a job (as ``grant()`` would)
before it renders. So the original's Flask view, which submits and renders a template with
the task id, works as written. Any other job needs an explicit ``grant()`` where it is
submitted; a page rendering a widget for a task id taken from a URL shows a stranger nothing.
"""

from __future__ import annotations

import json
import logging
import secrets
from pathlib import Path
from typing import Any

from celery import Celery
from celery import _state as celery_state
from celery import current_app as current_celery_app
from flask import Flask, g, has_request_context, render_template, url_for
from markupsafe import Markup
from werkzeug.exceptions import Forbidden

from django_jobtastic import submissions
from django_jobtastic.conf import conf
from django_jobtastic.flask import grants
from django_jobtastic.flask.cancel import cancellable_task
from django_jobtastic.flask.csrf import csrf_token
from django_jobtastic.flask.routes import blueprint
from django_jobtastic.flask.tokens import current_owner, make_token
from django_jobtastic.texts import gettext
from django_jobtastic.web.task_refs import GrantedJob, TaskOrId, task_id_of
from django_jobtastic.widget_texts import widget_messages

logger = logging.getLogger(__name__)

STATIC_FOLDER = str(Path(__file__).resolve().parent.parent / "static" / "django_jobtastic")
#: ``flask.g`` attributes: jobs submitted in this request, and widgets rendered for it.
_SUBMITTED = "_jobtastic_submitted"
_RENDERED = "_jobtastic_widgets_rendered"


class Jobtastic:
    """The Flask extension: ``Jobtastic(app)``, or ``Jobtastic()`` then ``init_app(app)``.

    ``celery``: the Celery app the site submits to and reads results from (default: the
    current one when ``init_app`` runs). It is made current in every request, so
    ``JobtasticTask`` calls in views and the status routes use its configuration, and
    Celery's default app (what other threads see) when none was set.
    """

    def __init__(
        self,
        app: Flask | None = None,
        *,
        celery: Celery | None = None,
        url_prefix: str = "/jobtastic",
    ) -> None:
        self.celery = celery
        self.url_prefix = url_prefix
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask, *, celery: Celery | None = None) -> None:
        celery_app: Celery = (
            celery or self.celery or current_celery_app._get_current_object()  # type: ignore[attr-defined]
        )
        app.extensions["jobtastic"] = self
        app.register_blueprint(blueprint(STATIC_FOLDER), url_prefix=self.url_prefix)
        app.before_request(celery_app.set_current)  # request threads see the site's app
        if getattr(celery_state, "default_app", None) is None:  # threads of the site's own
            celery_app.set_default()
        app.jinja_env.globals.update(
            jobtastic_progress=self.progress, jobtastic_status_url=self.status_url_or_nothing
        )
        submissions.listen(_note_submission)

    # -- the public API, for the current request -------------------------------------------

    def grant(self, task_or_id: TaskOrId) -> str:
        """Record the requester (its session) as an owner of the job; its status URL."""
        task_id = task_id_of(task_or_id)
        owner = current_owner(create=True)
        assert owner is not None
        grants.record(owner, task_id, getattr(task_or_id, "task_name", None))
        return status_url_of(task_id, owner)

    def has_grant(self, task_or_id: TaskOrId) -> bool:
        """Whether the requester holds a fresh grant for the job (one cache read)."""
        task_id = task_id_of(task_or_id)
        owner = current_owner(create=False)
        return owner is not None and any(job.task_id == task_id for job in grants.granted(owner))

    def status_url(self, task_or_id: TaskOrId) -> str:
        """The job's status URL; ``Forbidden`` (a 403) for a job the requester may not follow."""
        task_id = task_id_of(task_or_id)
        if not self._may_follow(task_id):
            raise Forbidden("This request holds no grant for the job: call grant() first.")
        return status_url_of(task_id)

    def status_url_or_nothing(self, task_or_id: TaskOrId) -> str:
        """The Jinja global ``jobtastic_status_url``: the URL, or "" (with a WARNING) for a
        job the requester may not follow, as the Django tag renders nothing."""
        try:
            return self.status_url(task_or_id)
        except Forbidden:
            logger.warning(
                "Jobtastic: jobtastic_status_url() for job %r, which this request holds no "
                "grant for: call jobtastic.grant(result) in the view that submits the job.",
                task_id_of(task_or_id)[:80],
            )
            return ""

    def jobs(self) -> list[GrantedJob]:
        """The requester's granted jobs, most recent first, each with its status URL."""
        owner = current_owner(create=False)
        if owner is None:
            return []
        return [
            GrantedJob(
                job.task_id, job.task_name, job.granted_at_datetime, status_url_of(job.task_id)
            )
            for job in grants.granted(owner)
        ]

    def progress(self, task_or_id: TaskOrId, label: str | None = None) -> Markup:
        """The progress widget of the job (the Jinja global ``jobtastic_progress``)."""
        task_id = task_id_of(task_or_id)
        try:
            allowed = self._may_follow(task_id)
            name = self._granted_name(task_id) if allowed else None
        except Exception as error:  # the grants' cache is down: the page still renders
            logger.warning("Jobtastic: grants of job %r cannot be read: %s", task_id[:80], error)
            allowed, name = False, None
        token, cancellable = None, False
        if allowed:
            token = make_token(task_id, _owner_or_new())
            cancellable = cancellable_task(name) is not None
        elif not _granted_here(task_id):
            logger.warning(
                "Jobtastic: jobtastic_progress() for job %r, which this request holds no "
                "grant for: call jobtastic.grant(result) in the view that submits the job.",
                task_id[:80],
            )
        context = _context(token, label, cancellable)
        return Markup(render_template("jobtastic/progress.html", **context))

    def _granted_name(self, task_id: str) -> str | None:
        """The task name the requester's grant of ``task_id`` records, if any."""
        submitted: dict[str, str] = g.get(_SUBMITTED, {})
        if task_id in submitted:
            return submitted[task_id]
        owner = current_owner(create=False)
        found = [job for job in grants.granted(owner) if job.task_id == task_id] if owner else []
        return found[0].task_name if found else None

    def _may_follow(self, task_id: str) -> bool:
        """A grant, or a submission of this very request (granted now)."""
        if _granted_here(task_id):
            submitted: dict[str, str] = getattr(g, _SUBMITTED, {})
            grants.record(_owner_or_new(), task_id, submitted.get(task_id))
            return True
        return self.has_grant(task_id)


def status_url_of(task_id: str, owner: str | None = None) -> str:
    """The ``status/<token>/`` URL of ``task_id`` for the requester (no grant checked)."""
    token = make_token(task_id, owner or _owner_or_new())
    return url_for("jobtastic.status", token=token)


def _owner_or_new() -> str:
    owner = current_owner(create=True)
    assert owner is not None
    return owner


def _note_submission(task_id: str, task_name: str) -> None:
    """A submission in a request: the requester asked for that job (§8: granted there)."""
    if has_request_context():
        submitted: dict[str, str] = g.setdefault(_SUBMITTED, {})
        submitted[task_id] = task_name


def _granted_here(task_id: str) -> bool:
    return has_request_context() and task_id in g.get(_SUBMITTED, {})


def _context(token: str | None, label: str | None, cancellable: bool) -> dict[str, Any]:
    rendered = g.get(_RENDERED, 0) + 1
    setattr(g, _RENDERED, rendered)
    messages = widget_messages()
    return {
        "element_id": f"jobtastic-{secrets.token_hex(6)}",
        "status_url": url_for("jobtastic.status", token=token) if token else None,
        "token": token,
        "batch_url": url_for("jobtastic.statuses") if token else None,
        "cancel_url": url_for("jobtastic.cancel", token=token) if token and cancellable else None,
        "csrf_token": csrf_token() if token and cancellable else None,
        "poll_interval": str(conf.POLL_INTERVAL),
        "language": "en",
        "messages": messages,
        "messages_json": json.dumps(messages, ensure_ascii=False),
        "label": label if label is not None else gettext("Job progress"),
        "include_assets": rendered == 1,
        "script_url": url_for("jobtastic.static", filename="jobtastic.js"),
        "stylesheet_url": url_for("jobtastic.static", filename="jobtastic.css"),
    }
