"""Signed, owner-bound status tokens: only who started a job can read its status.

A token holds the task id and its owner, signed with the project's SECRET_KEY and a salt of
our own. The owner is a keyed hash of the user's pk, or of an anonymous visitor's session key:
signing does not encrypt, and a status URL in a page, a log or a screenshot must not hand
out the session cookie. A bad, expired or foreign token reads as None: callers answer all
three the same way, so a token leaks nothing.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, NamedTuple

from django.conf import settings
from django.core import signing
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest
from django.urls import reverse
from django.utils.crypto import constant_time_compare, salted_hmac

from django_jobtastic.web.result_reading import BACKEND_DOWN

SALT = "django_jobtastic.status-token"
#: Genuine tokens a process remembers (about 650 bytes each, the token included), so a
#: job's every poll checks its token's signature once; emptied when full.
MAX_VERIFIED = 1024
#: Owner hashes a process remembers (one per session or user it serves).
MAX_OWNERS = 4096


def owner_of(request: HttpRequest) -> str:
    """Who the request acts for: its user, or its session (created if missing).

    Raises ImproperlyConfigured for an anonymous request without ``request.session``: without
    a session, an anonymous visitor could never read the status back.
    """
    signed_in = _signed_in_owner(request)
    if signed_in is not None:
        return signed_in
    session = getattr(request, "session", None)
    if session is None:
        raise ImproperlyConfigured(
            "django_jobtastic needs django.contrib.sessions.middleware.SessionMiddleware in "
            "MIDDLEWARE to bind an anonymous visitor's job to their session."
        )
    session.keys()  # loads it: a cookie naming an expired session resets the key to None
    if session.session_key is None:
        session.save()
        session.modified = True  # so SessionMiddleware sets the cookie on this response
    return session_owner(session.session_key)


def session_owner(session_key: str) -> str:
    """The owner of jobs started by the session with this key."""
    return _owner("session", session_key)


def user_owner(pk: object) -> str:
    """The owner of jobs started by the user with this primary key."""
    return _owner("user", pk)


def _owner(kind: str, identity: object, secret: str | None = None) -> str:
    """``<kind>:<keyed hash of the identity>``: comparable, but reveals nothing."""
    return hashed_owner(
        kind, f"{kind}:{identity}", settings.SECRET_KEY if secret is None else secret
    )


@lru_cache(maxsize=MAX_OWNERS)
def hashed_owner(kind: str, value: str, secret: str) -> str:
    # Remembered by the key it is hashed with: a polling session's every poll hashes once.
    digest = salted_hmac(SALT, value, secret=secret, algorithm="sha256")
    return f"{kind}:{digest.hexdigest()[:32]}"


def _is_owner_under_any_key(kind: str, identity: object, owner: str) -> bool:
    """Whether ``owner`` is the hash of ``identity`` under SECRET_KEY or a fallback key, so
    rotating the key with SECRET_KEY_FALLBACKS keeps open status URLs working."""
    if constant_time_compare(_owner(kind, identity), owner):
        return True
    fallbacks = getattr(settings, "SECRET_KEY_FALLBACKS", ())
    return any(constant_time_compare(_owner(kind, identity, key), owner) for key in fallbacks)


def _signed_in_owner(request: HttpRequest) -> str | None:
    user = getattr(request, "user", None)
    return user_owner(user.pk) if user is not None and user.is_authenticated else None


def make_token(task_id: str, owner: str) -> str:
    return signing.dumps({"task": task_id, "owner": owner}, salt=SALT)


def token_for(request: HttpRequest, task_id: str) -> str:
    """The status token of ``task_id``, bound to the requester.

    It checks no grant: callers do (``status_url``) or just made one (``grant``). For an
    anonymous visitor without a session, a session is created (its cookie set on this
    response by ``SessionMiddleware``), so the visitor can read the status back.
    """
    return make_token(task_id, owner_of(request))


def token_url(request: HttpRequest, task_id: str) -> str:
    """The ``jobtastic:status`` URL for ``task_id``, bound to the requester (see ``token_for``)."""
    return reverse("jobtastic:status", kwargs={"token": token_for(request, task_id)})


class SignedStatus(NamedTuple):
    """What a genuine, fresh token holds."""

    task_id: str
    owner: str


#: Genuine tokens by (token, SECRET_KEY, SECRET_KEY_FALLBACKS): what each holds and when it
#: was signed (epoch seconds). A key dropped from the fallbacks no longer finds its tokens.
_verified: dict[tuple[Any, ...], tuple[SignedStatus, int]] = {}


def read_token(token: str, max_age: int) -> SignedStatus | None:
    """The task id and owner in ``token`` if it is genuine and fresh; else None.

    A token's signature is checked once per process and signing keys (a poll would
    otherwise pay two key derivations and a base64 and JSON decoding each time); its age
    is checked on every call, as ``signing.loads(..., max_age=...)`` checks it.
    """
    keys = (token, settings.SECRET_KEY, tuple(settings.SECRET_KEY_FALLBACKS))
    found = _verified.get(keys)
    if found is None:
        found = _verify(token)
        if found is None:
            return None
        if len(_verified) >= MAX_VERIFIED:
            _verified.clear()
        _verified[keys] = found
    signed, signed_at = found
    # Django's signatures' own clock (tests move it), and its comparison.
    if signing.time.time() - signed_at > max_age:  # type: ignore[attr-defined]
        return None
    return signed


def _verify(token: str) -> tuple[SignedStatus, int] | None:
    """What a genuine token holds and when it was signed, at any age; else None."""
    try:
        data: Any = signing.TimestampSigner(salt=SALT).unsign_object(token)
        signed_at = signing.b62_decode(token.rsplit(":", 2)[1])  # value:timestamp:signature
    except (signing.BadSignature, ValueError, TypeError):
        return None
    status = signed_status(data)
    return None if status is None else (status, signed_at)


def signed_status(data: Any) -> SignedStatus | None:
    """The task id and owner a token's signed value holds, if it has their shape."""
    if not isinstance(data, dict):
        return None
    task_id, owner = data.get("task"), data.get("owner")
    if not isinstance(task_id, str) or not isinstance(owner, str):
        return None
    return SignedStatus(task_id, owner)


class SessionStoreUnavailableError(ConnectionError):
    """The session store did not answer: whether the request is the owner's is unknown."""


def is_owner(request: HttpRequest, owner: str) -> bool:
    """Whether ``request`` acts for ``owner``.

    A session owner is checked against the session cookie alone (no I/O: status polls stay
    cheap); a user owner loads ``request.user``, so a password change still logs out.

    Raises ``SessionStoreUnavailableError`` (a ConnectionError) instead of answering False
    when the request's session could not be read because its store is down: Django's cache
    sessions read such a store as no session at all, which would make the owner a stranger.
    """
    if owns(request, owner):
        return True
    check_session_store(request)
    return False


def check_session_store(request: HttpRequest) -> None:
    """Raise if the store of the request's session cookie cannot be reached (one lookup).

    Only on the refusal path: an answer that is not the owner's costs one more lookup, the
    owner's answer none.
    """
    session = getattr(request, "session", None)
    key = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
    if session is None or not key:
        return  # no session to have lost: a stranger
    try:
        session.exists(key)  # raises when the store is down, where load() gave up silently
    except BACKEND_DOWN as error:
        # The session read as empty, so SessionMiddleware would delete the visitor's cookie
        # along with this answer; a store of the same key, not read, leaves it alone.
        request.session = type(session)(key)
        raise SessionStoreUnavailableError(f"{type(error).__name__}: {error}") from error


def owns(request: HttpRequest, owner: str) -> bool:
    """``is_owner`` without its lookup of the session store on refusal: for a caller that
    checks many owners and then the store once (``check_session_store``) if any refused."""
    kind = owner.partition(":")[0]
    if kind == "session":
        key = getattr(getattr(request, "session", None), "session_key", None)
        return isinstance(key, str) and _is_owner_under_any_key("session", key, owner)
    if kind == "user":
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return False
        return _is_owner_under_any_key("user", user.pk, owner)
    return False
