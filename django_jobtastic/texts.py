"""User-facing texts, translated by Django where Django settings are configured.

Django's ``gettext`` reads ``USE_I18N`` and raises where settings are not configured (a
Flask site): there, the texts are answered in English, as written.
"""

from __future__ import annotations

from django_jobtastic.conf import django_configured


def gettext(message: str) -> str:
    """``message`` in the active language under Django; as written elsewhere."""
    if django_configured():
        from django.utils.translation import gettext as translate

        return translate(message)
    return message


def gettext_noop(message: str) -> str:
    """Marks ``message`` for translation (``makemessages`` finds it); Django's own goes
    through its settings."""
    return message
