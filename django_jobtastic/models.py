"""The one table of the app: who may follow which job.

A grant belongs to a signed-in user (``user``), or to an anonymous visitor (``visitor``: a
mark kept in their session), never to both. Rows, not session data: two tabs granting at
the same moment each add a row, where two writes of one session would keep only the last.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Grant(models.Model):
    """``user`` or ``visitor`` may follow the job ``task_id``, since ``granted_at``."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="jobtastic_grants",
        verbose_name=_("user"),
    )
    visitor = models.CharField(_("visitor"), max_length=64, blank=True, default="")
    task_id = models.CharField(_("task id"), max_length=255)
    task_name = models.CharField(_("task name"), max_length=255, blank=True, default="")
    granted_at = models.DateTimeField(_("granted at"), db_index=True)
    #: When this owner cancelled the job: it stops following it, and the job is cancelled
    #: once every fresh grant of it is.
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)

    class Meta:
        verbose_name = _("job grant")
        verbose_name_plural = _("job grants")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "task_id"],
                condition=Q(user__isnull=False),
                name="jobtastic_grant_user_unique",
            ),
            models.UniqueConstraint(
                fields=["visitor", "task_id"],
                condition=Q(user__isnull=True),
                name="jobtastic_grant_visitor_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["user", "-granted_at"], name="jobtastic_grant_user_recent"),
            models.Index(fields=["visitor", "-granted_at"], name="jobtastic_grant_visitor_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id or self.visitor} may follow {self.task_id}"


class KeptOutcome(models.Model):
    """The outcome of job ``task_id`` that its result backend could not store when it ended.

    ``delay_or_fail`` (or ``delay_or_eager``) with the broker and the result backend both
    down knows the outcome in the submitting process only; ``grant`` keeps it here, and the
    status view answers it for a job the backend knows nothing of, then stores it there.
    """

    task_id = models.CharField(_("task id"), max_length=255, unique=True)
    state = models.CharField(_("state"), max_length=16)
    #: JSON text (any database holds it; a JSONField would make ``manage.py check`` ask the
    #: database whether it can): SUCCESS, the value; FAILURE, the exception as the result
    #: backend stores one.
    result = models.TextField(_("result"))
    kept_at = models.DateTimeField(_("kept at"), db_index=True)

    class Meta:
        verbose_name = _("kept job outcome")
        verbose_name_plural = _("kept job outcomes")

    def __str__(self) -> str:
        return f"{self.task_id}: {self.state}"
