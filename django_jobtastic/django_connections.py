"""Closing the database connections a helper thread opened, where Django is in use.

The task side's helper threads (the progress flush timer, a bounded publish) may open a
connection of their own (django-db results, a database cache); it is closed when they are
done. Without Django settings there is no database to close, and asking would raise.
"""

from __future__ import annotations

from django_jobtastic.conf import django_configured


def close_thread_connections() -> None:
    """Close this thread's Django database connections, if Django is configured."""
    if django_configured():
        from django.db import connections

        connections.close_all()
