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
