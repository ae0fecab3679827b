"""django-jobtastic for Flask: ``Jobtastic(app)`` serves the status routes and the widget.

``pip install "django-jobtastic[flask]"``. Django is installed (the package reuses its
signing and JSON encoding) but never configured: the settings come from the Celery app's
configuration (``jobtastic_cache = "redis://…"`` and the other lower-case ``jobtastic_*``
keys).
"""

from __future__ import annotations

from django_jobtastic.flask.extension import Jobtastic
from django_jobtastic.web.task_refs import GrantedJob

__all__ = ["GrantedJob", "Jobtastic"]
