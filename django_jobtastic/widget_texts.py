"""The texts the progress widget shows, for every framework's rendering of it.

Translated through Django's machinery where Django settings are configured, in English as
written elsewhere (``django_jobtastic.texts``).
"""

from __future__ import annotations

from django_jobtastic.texts import gettext as _


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
        "about": _("About %(remaining)s left") % {"remaining": "{remaining}"},
        "startsIn": _("Starts in about %(remaining)s") % {"remaining": "{remaining}"},
        "success": _("Done."),
        "resultLink": _("Open the result"),
        "failure": _("Something went wrong while running this job."),
        "cancelled": _("The job was cancelled."),
        "cancel": _("Cancel"),
        "cancelFailed": _("The job could not be cancelled. Please try again."),
        "reconnecting": _("Lost contact with the server. Reconnecting…"),
        "unavailable": _("The progress of this job cannot be shown."),
    }
