"""A CSRF check for the cancel route: Flask has none of its own.

The widget sends the token it was rendered with in an ``X-CSRFToken`` header; the token is
a random value kept in the visitor's (signed) Flask session. Another site can neither read
it nor set that header on a cross-site request.
"""

from __future__ import annotations

import secrets

from django.utils.crypto import constant_time_compare
from flask import request, session

SESSION_KEY = "_jobtastic_csrf"
HEADER = "X-CSRFToken"


def csrf_token() -> str:
    """The session's token, made (setting the session cookie) when there is none."""
    token = session.get(SESSION_KEY)
    if not isinstance(token, str) or not token:
        token = session[SESSION_KEY] = secrets.token_urlsafe(32)
    return token


def csrf_verified() -> bool:
    """Whether the request carries the session's token in its header."""
    expected = session.get(SESSION_KEY)
    sent = request.headers.get(HEADER, "")
    return isinstance(expected, str) and bool(expected) and constant_time_compare(sent, expected)
