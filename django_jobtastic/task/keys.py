"""Cache keys that identify "the same job": pure functions, no I/O.

Two calls are identical when their significant values are equal *after* the task serializer
has round-tripped them, so the web process (which holds tuples, Decimals...) and the worker
(which holds what the message decoded to) compute the same key.
"""

from __future__ import annotations

import hashlib
import inspect
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from kombu.serialization import dumps, loads

#: A significant argument: its name, or its name and the function making it a string.
SignificantKwarg = str | tuple[str, Callable[[Any], str]]

KEY_NAMESPACE = "jobtastic"


def normalize_significant_kwargs(
    spec: Iterable[SignificantKwarg],
) -> tuple[tuple[str, Callable[[Any], str] | None], ...]:
    """``["a", ("b", str)]`` -> ``(("a", None), ("b", str))``; raises ``TypeError`` if malformed."""
    normalized: list[tuple[str, Callable[[Any], str] | None]] = []
    for item in spec:
        if isinstance(item, str):
            normalized.append((item, None))
        elif (
            isinstance(item, (tuple, list))
            and len(item) == 2
            and isinstance(item[0], str)
            and callable(item[1])
        ):
            normalized.append((item[0], item[1]))
        else:
            raise TypeError(f"a significant kwarg is a name or (name, to_str), not {item!r}")
    return tuple(normalized)


def bind_arguments(
    signature: inspect.Signature | None, args: Sequence[Any], kwargs: Mapping[str, Any]
) -> dict[str, Any]:
    """Map positional arguments to the calculation's parameter names, defaults included."""
    if signature is None:
        return dict(kwargs)
    try:
        bound = signature.bind_partial(*args, **kwargs)
    except TypeError:
        # Celery reports the mismatch when the task runs; keys only need the named values.
        return dict(kwargs)
    bound.apply_defaults()
    named = dict(bound.arguments)
    for parameter in signature.parameters.values():
        if parameter.kind is inspect.Parameter.VAR_KEYWORD and parameter.name in named:
            named.update(named.pop(parameter.name))
    return named


def significant_values(
    spec: Sequence[tuple[str, Callable[[Any], str] | None]],
    arguments: Mapping[str, Any],
    task_name: str,
) -> list[tuple[str, Any]]:
    """The ``(name, value)`` pairs the key is made of; ``TypeError`` names a missing one."""
    missing = [name for name, _ in spec if name not in arguments]
    if missing:
        raise TypeError(
            f"{task_name}: missing significant argument(s) {', '.join(map(repr, missing))}"
        )
    return [(name, arguments[name]) for name, _ in spec]


def round_trip(value: Any, serializer: str) -> Any:
    """``value`` as a worker sees it after the task serializer encoded and decoded it."""
    content_type, encoding, data = dumps(value, serializer=serializer)
    return loads(data, content_type, encoding, accept={content_type})


def _canonical(value: Any, to_str: Callable[[Any], str] | None) -> str:
    if to_str is not None:
        return str(to_str(value))
    try:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), default=repr)
    except TypeError:  # e.g. a dict with keys of mixed types cannot be sorted
        return repr(value)


def job_digest(
    prefix: str,
    spec: Sequence[tuple[str, Callable[[Any], str] | None]],
    values: Sequence[tuple[str, Any]],
    serializer: str,
) -> str:
    """A hex digest naming the job: prefix, names and values, encoded unambiguously."""
    to_strs = dict(spec)
    parts = [
        [name, _canonical(round_trip(value, serializer), to_strs[name])] for name, value in values
    ]
    encoded = json.dumps([prefix, parts], separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(encoded.encode("ascii")).hexdigest()


def herd_key(digest: str) -> str:
    """Cache key of the entry naming the queued or running task (fits memcached's 250 bytes)."""
    return f"{KEY_NAMESPACE}:herd:{digest}"


def takeover_key(digest: str, stale_task_id: str) -> str:
    """Cache key that lets exactly one caller replace a herd entry naming a dead task."""
    return f"{KEY_NAMESPACE}:takeover:{digest}:{stale_task_id[:64]}"


def result_key(digest: str) -> str:
    """Cache key of the entry naming the task whose successful result is re-used."""
    return f"{KEY_NAMESPACE}:result:{digest}"
