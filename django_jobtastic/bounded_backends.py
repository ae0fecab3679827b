"""Result backends whose every socket operation gives up in time, for both halves.

Celery's Redis result backend waits ``redis_socket_timeout`` (120 s by default) on a server
that accepts connections and never answers. A status poll must not hang on it (it answers
503 instead), nor may a submission (the queue time is written just before the message is
published, and the broker has ``JOBTASTIC_PUBLISH_TIMEOUT``). Both go through a twin of the
backend whose client's sockets time out after the seconds given. The twin shares everything
but the client, so the backend's own operations elsewhere keep the project's timeouts; other
backends are bounded by their own clients (the database's for django-db). No thread per call.
"""

from __future__ import annotations

import weakref
from typing import Any

try:
    from celery.backends.redis import RedisBackend

    _REDIS_BACKENDS: tuple[type[Any], ...] = (RedisBackend,)  # Sentinel's is one too
except ImportError:  # pragma: no cover - redis is optional
    _REDIS_BACKENDS = ()

_BOUNDED = ("socket_timeout", "socket_connect_timeout")
#: Per backend instance (Celery keeps one per thread), its twins by their bound in seconds.
_twins: weakref.WeakKeyDictionary[Any, dict[float, Any]] = weakref.WeakKeyDictionary()


def bounded(backend: Any, seconds: float) -> Any:
    """``backend``, or for Redis its twin whose every socket operation waits at most
    ``seconds`` (a shorter timeout of the project's own is kept)."""
    if not isinstance(backend, _REDIS_BACKENDS):
        return backend
    twins = _twins.setdefault(backend, {})
    twin = twins.get(seconds)
    if twin is None:
        twin = object.__new__(type(backend))
        twin.__dict__.update(backend.__dict__)
        twin.__dict__.pop("client", None)  # a cached_property: built again, bounded
        params = dict(backend.connparams)
        for name in _BOUNDED:
            configured = params.get(name)
            if not (isinstance(configured, (int, float)) and 0 < configured < seconds):
                params[name] = seconds
        if "path" in params:  # a Unix socket: redis-py has no connect timeout for those
            params.pop("socket_connect_timeout", None)
        twin.connparams = params
        twins[seconds] = twin
    return twin
