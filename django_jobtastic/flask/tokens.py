"""Status tokens and owners in a Flask app: the Django integration's format, Flask's keys.

A token is the same signed value as under Django (``django.core.signing``, our salt), signed
with the Flask app's ``SECRET_KEY`` (and verified under ``SECRET_KEY_FALLBACKS`` too, so a
key rotation keeps open status URLs working). The owner is the visitor's Flask session: a
random mark kept in it at the first grant, stored in the token only as a keyed hash, so a
status URL never reveals the session.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.core import signing
from django.utils.crypto import constant_time_compare
from flask import current_app, session

from django_jobtastic.web.tokens import SALT, SignedStatus, hashed_owner, signed_status

#: Key of the visitor's mark in the Flask session.
SESSION_KEY = "_jobtastic_owner"


def _secret() -> str | bytes:
    key = current_app.secret_key
    if not key:
        raise RuntimeError(
            "django_jobtastic.flask needs the Flask app's SECRET_KEY: status tokens are "
            "signed with it and the owner is kept in the (signed) session."
        )
    return key


def _secrets() -> list[Any]:
    return [_secret(), *(current_app.config.get("SECRET_KEY_FALLBACKS") or ())]


def _as_text(key: str | bytes) -> str:
    return key.decode("latin-1") if isinstance(key, bytes) else key


def visitor_mark(create: bool) -> str | None:
    """The visitor's mark in the Flask session; made (setting the cookie) when ``create``."""
    mark = session.get(SESSION_KEY)
    if isinstance(mark, str) and mark:
        return mark
    if not create:
        return None
    mark = secrets.token_urlsafe(24)
    session[SESSION_KEY] = mark
    return mark


def owner_of_mark(mark: str, key: str | bytes | None = None) -> str:
    """The owner a token names for the visitor with ``mark`` (a keyed hash of it)."""
    secret = _as_text(_secret() if key is None else key)
    return hashed_owner("session", f"session:{mark}", secret)


def current_owner(create: bool) -> str | None:
    """The requester's owner; None without a mark (and not ``create``)."""
    mark = visitor_mark(create)
    return None if mark is None else owner_of_mark(mark)


def is_owner(owner: str) -> bool:
    """Whether the requester is ``owner``, under the current key or a fallback."""
    mark = visitor_mark(create=False)
    if mark is None:
        return False
    return any(constant_time_compare(owner_of_mark(mark, key), owner) for key in _secrets())


def make_token(task_id: str, owner: str) -> str:
    signer = signing.TimestampSigner(key=_secret(), salt=SALT, fallback_keys=[])
    return signer.sign_object({"task": task_id, "owner": owner})


def read_token(token: str, max_age: int) -> SignedStatus | None:
    """The task id and owner in ``token`` if it is genuine and fresh; else None."""
    keys = _secrets()
    signer = signing.TimestampSigner(key=keys[0], salt=SALT, fallback_keys=keys[1:])
    try:
        data: Any = signer.unsign_object(token, max_age=max_age)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    return signed_status(data)
