"""Every JOBTASTIC_* setting, read lazily so ``override_settings`` takes effect at once."""

from __future__ import annotations

from django.conf import settings


class JobtasticSettings:
    """Typed access to the project's settings, with the documented defaults."""

    @property
    def CACHE(self) -> str:
        """Alias of the Django cache holding herd entries and cached result ids."""
        return str(getattr(settings, "JOBTASTIC_CACHE", "default"))

    @property
    def PROGRESS_INTERVAL(self) -> float:
        """Minimum seconds between two progress writes of one run."""
        return float(getattr(settings, "JOBTASTIC_PROGRESS_INTERVAL", 0.5))

    @property
    def POLL_INTERVAL(self) -> float:
        """Seconds between two polls of the progress widget."""
        return float(getattr(settings, "JOBTASTIC_POLL_INTERVAL", 1.0))

    @property
    def STATUS_REUSE_SECONDS(self) -> float:
        """Seconds one process answers further polls of a task with the status it just read."""
        return float(getattr(settings, "JOBTASTIC_STATUS_REUSE_SECONDS", 0.2))

    @property
    def PUBLISH_TIMEOUT(self) -> float:
        """Seconds after which the *_or_eager / *_or_fail helpers give up on the broker."""
        return float(getattr(settings, "JOBTASTIC_PUBLISH_TIMEOUT", 2.0))

    @property
    def TOKEN_MAX_AGE(self) -> int:
        """Seconds a signed status token stays valid."""
        return int(getattr(settings, "JOBTASTIC_TOKEN_MAX_AGE", 86400))

    @property
    def STATUS_ALLOW_RAW_IDS(self) -> bool:
        """Serve the django-celery style ``<task_id>/status/`` route (anyone with an id reads)."""
        return bool(getattr(settings, "JOBTASTIC_STATUS_ALLOW_RAW_IDS", False))


conf = JobtasticSettings()
