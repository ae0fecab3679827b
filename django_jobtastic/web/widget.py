"""What the progress widget's markup carries: its URL, timing and translated strings.

The JavaScript reads everything from ``data-`` attributes, so the page needs no inline script
(strict Content-Security-Policy friendly) and every string goes through Django's translation
machinery. Times are put into words in the browser with ``Intl`` in the page's language.
"""

from __future__ import annotations

import json
import logging
import secrets
from dataclasses import dataclass
from typing import Any

from django.db import DatabaseError
from django.http import HttpRequest
from django.middleware.csrf import get_token
from django.templatetags.static import static
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from django_jobtastic.conf import conf
from django_jobtastic.web.grants import names_granted
from django_jobtastic.web.job_classes import cancellable_task
from django_jobtastic.web.task_refs import TaskOrId, task_id_of
from django_jobtastic.web.tokens import token_for
from django_jobtastic.widget_texts import widget_messages

logger = logging.getLogger(__name__)

SCRIPT_PATH = "django_jobtastic/jobtastic.js"
STYLESHEET_PATH = "django_jobtastic/jobtastic.css"
#: Request attribute counting the widgets rendered for it: assets go with the first only.
_RENDERED = "_jobtastic_widgets_rendered"


@dataclass(frozen=True)
class FollowedJob:
    """What a page needs to follow a job the requester holds a grant for."""

    status_url: str
    token: str
    #: Set when the job's class is cancellable: where the widget's Cancel button posts.
    cancel_url: str | None


def followed_job(
    request: HttpRequest, task_or_id: TaskOrId, tag: str, granted_name: str | None = None
) -> FollowedJob | None:
    """The job's URLs, or None (with a WARNING) when the requester may not follow it.

    A page must still render: a job the requester holds no grant for, or grants that cannot
    be read right now (database down), give the widget's "cannot be shown" state.
    ``granted_name``: the task name of a grant the caller already read (``jobs_of``); else
    the requester's grants are read here (one query).
    """
    task_id = task_id_of(task_or_id)
    if granted_name is not None:
        names = [granted_name]
    else:
        try:
            names = names_granted(request, task_id)
        except DatabaseError as error:
            logger.warning("Jobtastic: grants of job %r cannot be read: %s", task_id[:80], error)
            return None
        if not names:
            logger.warning(
                "Jobtastic: {%% %s %%} for job %r, which this request holds no grant for: "
                "call django_jobtastic.grant(request, result) in the view that submits the job.",
                tag,
                task_id[:80],
            )
            return None
    token = token_for(request, task_id)
    cancellable = cancellable_task(names) is not None
    return FollowedJob(
        status_url=reverse("jobtastic:status", kwargs={"token": token}),
        token=token,
        cancel_url=reverse("jobtastic:cancel", kwargs={"token": token}) if cancellable else None,
    )


def widget_context(
    request: HttpRequest,
    task_or_id: TaskOrId,
    label: str | None,
    granted_name: str | None = None,
) -> dict[str, Any]:
    """The template context of one widget for ``request``.

    ``granted_name``: the task name of the requester's grant when the caller already read it
    (``jobs_of``: "" for a grant without a name); without it, the grant is checked here.
    """
    rendered = getattr(request, _RENDERED, 0) + 1
    setattr(request, _RENDERED, rendered)
    messages = widget_messages()
    job = followed_job(request, task_or_id, "jobtastic_progress", granted_name)
    return {
        # Random: htmx fragments rendered by separate requests land on one page.
        "element_id": f"jobtastic-{secrets.token_hex(6)}",
        "status_url": job.status_url if job else None,
        "token": job.token if job else None,
        "batch_url": reverse("jobtastic:statuses") if job else None,
        # Only an ASGI server can hold streams open: under WSGI the widget polls.
        "events_url": reverse("jobtastic:events") if job and _serves_streams(request) else None,
        "cancel_url": job.cancel_url if job else None,
        # The Cancel button's POST carries it: the cookie may be HttpOnly.
        "csrf_token": get_token(request) if job and job.cancel_url else None,
        # str(), not the float: templates would localize it ("1,0") and break parsing.
        "poll_interval": str(conf.POLL_INTERVAL),
        "language": get_language() or "en",
        "messages": messages,
        "messages_json": json.dumps(messages, ensure_ascii=False),
        "label": label if label is not None else _("Job progress"),
        "include_assets": rendered == 1,
        "script_url": static(SCRIPT_PATH),
        "stylesheet_url": static(STYLESHEET_PATH),
    }


def _serves_streams(request: HttpRequest) -> bool:
    """Whether the request came through Django's ASGI handler (a server that streams)."""
    from django.core.handlers.asgi import ASGIRequest

    return isinstance(request, ASGIRequest)
