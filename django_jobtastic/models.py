"""The one table of the app: which signed-in user may follow which job.

Grants of anonymous visitors live in their session (they end with it); a signed-in user's
live here, so they hold in every session of theirs and survive the end of any one of them.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Grant(models.Model):
    """``user`` may follow the job ``task_id``, since ``granted_at``."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="jobtastic_grants",
        verbose_name=_("user"),
    )
    task_id = models.CharField(_("task id"), max_length=255)
    task_name = models.CharField(_("task name"), max_length=255, blank=True, default="")
    granted_at = models.DateTimeField(_("granted at"))

    class Meta:
        verbose_name = _("job grant")
        verbose_name_plural = _("job grants")
        constraints = [
            models.UniqueConstraint(fields=["user", "task_id"], name="jobtastic_grant_unique"),
        ]
        indexes = [
            models.Index(fields=["user", "-granted_at"], name="jobtastic_grant_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} may follow {self.task_id}"
