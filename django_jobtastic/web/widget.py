"""What the progress widget's markup carries: its URL, timing and translated strings.

The JavaScript reads everything from ``data-`` attributes, so the page needs no inline script
(strict Content-Security-Policy friendly) and every string goes through Django's translation
machinery. Times are put into words in the browser with ``Intl`` in the page's language.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from django.http import HttpRequest
from django.templatetags.static import static
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from django_jobtastic.conf import conf
from django_jobtastic.web.status_urls import TaskOrId, status_url, task_id_of

SCRIPT_PATH = "django_jobtastic/jobtastic.js"
STYLESHEET_PATH = "django_jobtastic/jobtastic.css"
#: Request attribute counting the widgets rendered for it: assets go with the first only.
_RENDERED = "_jobtastic_widgets_rendered"


def widget_messages() -> dict[str, str]:
    """The texts the widget shows, in the active language; ``{...}`` are filled in by JS."""
    return {
        "pending": _("Waiting for your task to begin…"),
        "starting": _("Your job is getting started."),
        "estimating": _("Working on an estimate…"),
        "almostDone": _("Almost finished."),
        "progress": _("%(percent)s%% complete, about %(remaining)s left")
        % {"percent": "{percent}", "remaining": "{remaining}"},
        "success": _("Done."),
        "resultLink": _("Open the result"),
        "failure": _("Something went wrong while running this job."),
        "cancelled": _("The job was cancelled."),
        "reconnecting": _("Lost contact with the server. Reconnecting…"),
        "unavailable": _("The progress of this job cannot be shown."),
    }


def widget_context(request: HttpRequest, task_or_id: TaskOrId, label: str | None) -> dict[str, Any]:
    """The template context of one widget for ``request``."""
    task_id = task_id_of(task_or_id)
    rendered = getattr(request, _RENDERED, 0) + 1
    setattr(request, _RENDERED, rendered)
    messages = widget_messages()
    return {
        # Random: htmx fragments rendered by separate requests land on one page.
        "element_id": f"jobtastic-{secrets.token_hex(6)}",
        "status_url": status_url(request, task_id),
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
