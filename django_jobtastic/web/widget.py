"""What the progress widget's markup carries: its URL, timing and translated strings.

The JavaScript reads everything from ``data-`` attributes, so the page needs no inline script
(strict Content-Security-Policy friendly) and every string goes through Django's translation
machinery. Times are put into words in the browser with ``Intl`` in the page's language.
"""

from __future__ import annotations

import json
import logging
import secrets
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import DatabaseError
from django.http import HttpRequest
from django.templatetags.static import static
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from django_jobtastic.conf import conf
from django_jobtastic.web.status_urls import status_url
from django_jobtastic.web.task_refs import TaskOrId, task_id_of

logger = logging.getLogger(__name__)

SCRIPT_PATH = "django_jobtastic/jobtastic.js"
STYLESHEET_PATH = "django_jobtastic/jobtastic.css"
#: Request attribute counting the widgets rendered for it: assets go with the first only.
_RENDERED = "_jobtastic_widgets_rendered"


def widget_messages() -> dict[str, str]:
    """The texts the widget shows, in the active language; ``{...}`` are filled in by JS."""
    return {
        "pending": _("Waiting for your task to begin…"),
        "waited": _("Waiting for your task to begin… (in the queue for %(waited)s)")
        % {"waited": "{waited}"},
        "starting": _("Your job is getting started."),
        "estimating": _("Working on an estimate…"),
        "almostDone": _("Almost finished."),
        "overdue": _("Taking longer than expected…"),
        "progress": _("%(percent)s%% complete, about %(remaining)s left")
        % {"percent": "{percent}", "remaining": "{remaining}"},
        "success": _("Done."),
        "resultLink": _("Open the result"),
        "failure": _("Something went wrong while running this job."),
        "cancelled": _("The job was cancelled."),
        "reconnecting": _("Lost contact with the server. Reconnecting…"),
        "unavailable": _("The progress of this job cannot be shown."),
    }


def followable_url(request: HttpRequest, task_or_id: TaskOrId, tag: str) -> str | None:
    """The job's status URL, or None (with a WARNING) when the requester may not follow it.

    A page must still render: a job the requester holds no grant for, or grants that cannot
    be read right now (database down), give the widget's "cannot be shown" state.
    """
    task_id = task_id_of(task_or_id)
    try:
        return status_url(request, task_id)
    except PermissionDenied:
        logger.warning(
            "Jobtastic: {%% %s %%} for job %r, which this request holds no grant for: call "
            "django_jobtastic.grant(request, result) in the view that submits the job.",
            tag,
            task_id[:80],
        )
    except DatabaseError as error:
        logger.warning("Jobtastic: grants of job %r cannot be read: %s", task_id[:80], error)
    return None


def widget_context(
    request: HttpRequest,
    task_or_id: TaskOrId,
    label: str | None,
    verified_url: str | None = None,
) -> dict[str, Any]:
    """The template context of one widget for ``request``.

    ``verified_url`` is a status URL the caller already checked (``jobs_of`` made it from
    the requester's grants); without it, the grant is checked here.
    """
    rendered = getattr(request, _RENDERED, 0) + 1
    setattr(request, _RENDERED, rendered)
    messages = widget_messages()
    return {
        # Random: htmx fragments rendered by separate requests land on one page.
        "element_id": f"jobtastic-{secrets.token_hex(6)}",
        "status_url": verified_url or followable_url(request, task_or_id, "jobtastic_progress"),
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
