"""Django app config: registers the system checks."""

from __future__ import annotations

from django.apps import AppConfig
from django.core import checks


class JobtasticConfig(AppConfig):
    name = "django_jobtastic"
    verbose_name = "Jobtastic"

    def ready(self) -> None:
        from django_jobtastic import checks as jobtastic_checks

        # Every check carries the tag "jobtastic": `manage.py check --tag jobtastic`.
        checks.register(jobtastic_checks.check_settings, "jobtastic")
        checks.register(jobtastic_checks.check_cache, "jobtastic", checks.Tags.caches)
        checks.register(jobtastic_checks.check_result_backend, "jobtastic")
