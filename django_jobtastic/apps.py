"""Django app config: registers the system checks and carries grants over at login."""

from __future__ import annotations

from django.apps import AppConfig
from django.core import checks


class JobtasticConfig(AppConfig):
    name = "django_jobtastic"
    verbose_name = "Jobtastic"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from django_jobtastic import checks as jobtastic_checks
        from django_jobtastic.web.grants import carry_over_at_login

        user_logged_in.connect(carry_over_at_login, dispatch_uid="django_jobtastic.grants")

        # Every check carries the tag "jobtastic": `manage.py check --tag jobtastic`.
        checks.register(jobtastic_checks.check_settings, "jobtastic")
        checks.register(jobtastic_checks.check_cache, "jobtastic", checks.Tags.caches)
        checks.register(jobtastic_checks.check_result_backend, "jobtastic")
