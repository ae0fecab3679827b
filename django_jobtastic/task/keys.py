"""Cache keys that identify "the same job": pure functions, no I/O.

Two calls are identical when their significant values are equal, and of the same types,
*after* the task serializer has round-tripped them, so the web process (which holds tuples,
Decimals...) and the worker (which holds what the message decoded to) compute the same key.
"""

from __future__ import annotations

import hashlib
import inspect
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from json.encoder import encode_basestring_ascii
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


#: Ints longer than this are written in hex: Python refuses to write huge ints in decimal.
_MAX_DECIMAL_INT_BITS = 2048


def _tagged(kind: type, payload: str) -> str:
    """``{"module.qualname": payload}``: the only JSON objects an encoding contains."""
    type_name = f"{kind.__module__}.{kind.__qualname__}"
    return f"{{{encode_basestring_ascii(type_name)}:{payload}}}"


def _encode(value: Any) -> str:
    """A canonical JSON text for ``value`` that no value of another type or spelling shares.

    ``str``, ``int``, ``float``, ``bool`` and ``None`` are JSON literals, and lists and tuples
    JSON arrays; every other value is an object whose one key names its type: a dict
    (``builtins.dict``) and a set or frozenset hold their encoded items sorted, so neither
    insertion order nor the string hash seed matters; anything else holds its ``repr``.
    Exact types are tested, so a ``bool``, an ``IntEnum`` or a named tuple is never taken
    for an ``int`` or a ``tuple``.
    """
    kind = type(value)
    if kind is str:
        return encode_basestring_ascii(value)
    if value is None or kind is bool or kind is float:
        return json.dumps(value)
    if kind is int:
        if value.bit_length() <= _MAX_DECIMAL_INT_BITS:
            return str(value)
        return _tagged(kind, encode_basestring_ascii(hex(value)))
    if kind is list or kind is tuple:
        return f"[{','.join(map(_encode, value))}]"
    if kind is dict:
        items = sorted(f"[{_encode(key)},{_encode(item)}]" for key, item in value.items())
        return _tagged(kind, f"[{','.join(items)}]")
    if kind is set or kind is frozenset:
        return _tagged(kind, f"[{','.join(sorted(map(_encode, value)))}]")
    return _tagged(kind, encode_basestring_ascii(repr(value)))


def _canonical(value: Any, to_str: Callable[[Any], str] | None) -> str:
    if to_str is not None:
        return str(to_str(value))
    return _encode(value)


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


def history_key(task_name: str) -> str:
    """Cache key of a job class's run history (hashed: a task name may be any length)."""
    digest = hashlib.sha256(task_name.encode("utf-8")).hexdigest()
    return f"{KEY_NAMESPACE}:history:{digest}"
