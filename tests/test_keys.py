from __future__ import annotations

import inspect
import os
import subprocess
import sys
import uuid
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from enum import IntEnum
from typing import Any

import pytest
from hypothesis import assume, event, given, settings
from hypothesis import strategies as st

from django_jobtastic.task import keys

SPEC = keys.normalize_significant_kwargs(["a", ("b", str)])


def digest(values: list[tuple[str, object]], prefix: str = "p", spec=SPEC) -> str:
    return keys.job_digest(prefix, spec, values, "json")


def test_normalize_accepts_names_and_pairs():
    assert (("a", None), ("b", str)) == SPEC


@pytest.mark.parametrize("bad", [3, ("a",), ("a", "not callable"), (1, str), None])
def test_normalize_rejects_malformed_items(bad):
    with pytest.raises(TypeError, match="name or \\(name, to_str\\)"):
        keys.normalize_significant_kwargs([bad])


def test_digest_unambiguous_between_value_boundaries():
    assert digest([("a", "ab"), ("b", "c")]) != digest([("a", "a"), ("b", "bc")])


def test_digest_names_are_part_of_the_key():
    swapped = keys.normalize_significant_kwargs(["b", ("a", str)])
    assert digest([("a", 1), ("b", 2)]) != digest([("b", 1), ("a", 2)], spec=swapped)


def test_digest_prefix_is_part_of_the_key():
    assert digest([("a", 1), ("b", 2)], prefix="x") != digest([("a", 1), ("b", 2)], prefix="y")


def test_digest_tuple_and_list_identical_after_round_trip():
    assert digest([("a", (1, 2)), ("b", (3,))]) == digest([("a", [1, 2]), ("b", [3])])


def test_digest_dict_order_does_not_matter():
    assert digest([("a", {"x": 1, "y": 2}), ("b", 0)]) == digest(
        [("a", {"y": 2, "x": 1}), ("b", 0)]
    )


def test_digest_to_str_is_applied():
    spec = keys.normalize_significant_kwargs([("a", lambda value: "same")])
    assert digest([("a", 1)], spec=spec) == digest([("a", 2)], spec=spec)


def test_keys_fit_memcached_limit():
    long_digest = digest([("a", "x" * 100_000), ("b", "y")], prefix="p" * 10_000)
    for key in (
        keys.herd_key(long_digest),
        keys.result_key(long_digest),
        keys.takeover_key(long_digest, "z" * 500),
    ):
        assert len(key) <= 250
        assert " " not in key


def test_bind_arguments_maps_positional_to_names_with_defaults():
    def calculate(numerators, denominators, scale=1, **extra):
        return None

    named = keys.bind_arguments(inspect.signature(calculate), [1, 2], {"flag": True})
    assert named == {"numerators": 1, "denominators": 2, "scale": 1, "flag": True}


def test_bind_arguments_mismatch_keeps_keywords():
    def calculate(a):
        return None

    assert keys.bind_arguments(inspect.signature(calculate), [1, 2], {"a": 3}) == {"a": 3}


def test_significant_values_missing_argument_names_it():
    with pytest.raises(TypeError, match="my.Task: missing significant argument\\(s\\) 'b'"):
        keys.significant_values(SPEC, {"a": 1}, "my.Task")


def test_bind_arguments_without_a_signature_keeps_keywords():
    assert keys.bind_arguments(None, [1, 2], {"a": 3}) == {"a": 3}


def test_digest_of_a_dict_with_mixed_key_types_is_stable():
    spec = keys.normalize_significant_kwargs(["a"])
    value = {1: "x", "b": "y"}
    assert keys.job_digest("p", spec, [("a", value)], "pickle") == keys.job_digest(
        "p", spec, [("a", dict(value))], "pickle"
    )


def test_digest_of_a_dict_with_mixed_key_types_ignores_their_order():
    spec = keys.normalize_significant_kwargs(["a"])
    assert keys.job_digest("p", spec, [("a", {1: "x", "b": "y"})], "pickle") == keys.job_digest(
        "p", spec, [("a", {"b": "y", 1: "x"})], "pickle"
    )


# -- typed values: a value never shares a key with a string, or with another type ----------

ONE = keys.normalize_significant_kwargs(["a"])


class Colour(IntEnum):
    RED = 1


AN_ID = uuid.UUID("12345678-1234-5678-1234-567812345678")


def one(value: object, serializer: str = "json") -> str:
    return keys.job_digest("p", ONE, [("a", value)], serializer)


@pytest.mark.parametrize("serializer", ["json", "pickle"])
@pytest.mark.parametrize(
    ("typed", "spelled"),
    [
        (date(2024, 1, 1), "datetime.date(2024, 1, 1)"),
        (date(2024, 1, 1), "2024-01-01"),
        (datetime(2024, 1, 1, 12, 30), "datetime.datetime(2024, 1, 1, 12, 30)"),
        (time(12, 30), "datetime.time(12, 30)"),
        (Decimal("1.0"), "Decimal('1.0')"),
        (Decimal("1.0"), "1.0"),
        (AN_ID, repr(AN_ID)),
        (AN_ID, str(AN_ID)),
        (b"ab", "b'ab'"),
        (b"ab", "ab"),
        ([date(2024, 1, 1)], ["datetime.date(2024, 1, 1)"]),
        ({"when": Decimal("1.0")}, {"when": "Decimal('1.0')"}),
    ],
)
def test_a_typed_value_and_a_string_spelling_it_are_different_jobs(typed, spelled, serializer):
    assert one(typed, serializer) != one(spelled, serializer)


@pytest.mark.parametrize(
    ("left", "right"),
    [
        (True, 1),
        (False, 0),
        (1, 1.0),
        (0.0, -0.0),
        (1, Decimal("1")),
        (Decimal("1.0"), Decimal("1.00")),
        (None, "None"),
        (None, "null"),
        ([], {}),
        ([1], "[1]"),
        ({"a": 1}, '{"a":1}'),
        (datetime(2024, 1, 1), datetime(2024, 1, 1, tzinfo=timezone.utc)),
        (date(2024, 1, 1), datetime(2024, 1, 1)),
    ],
)
def test_values_of_different_types_or_spellings_are_different_jobs(left, right):
    assert one(left) != one(right)
    assert one(left, "pickle") != one(right, "pickle")


def test_sets_and_custom_types_are_tagged_with_their_type():
    assert one({"x", "y"}, "pickle") == one({"y", "x"}, "pickle")
    assert one({"x"}, "pickle") != one(frozenset({"x"}), "pickle")
    assert one({"x"}, "pickle") != one(["x"], "pickle")
    assert one({"x"}, "pickle") != one("{'x'}", "pickle")
    assert one(timedelta(days=1), "pickle") != one("datetime.timedelta(days=1)", "pickle")
    assert one(Colour.RED, "pickle") != one(1, "pickle")
    assert one(Colour.RED, "json") == one(1, "json")  # the worker receives a plain 1


def test_a_set_gives_the_same_key_whatever_the_string_hash_seed():
    """The web process and the worker hash strings with different seeds: a set of strings
    iterates in a different order in each, and must still give one key."""
    script = (
        "from django_jobtastic.task import keys;"
        "spec = keys.normalize_significant_kwargs(['a']);"
        "print(keys.job_digest('p', spec, [('a', {str(n) for n in range(40)})], 'pickle'))"
    )
    digests = {
        subprocess.run(
            [sys.executable, "-c", script],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2", "3")
    }
    assert len(digests) == 1


# A strategy of values a caller may pass: every type the spec names, nested a little.
_offsets = st.builds(
    lambda minutes: timezone(timedelta(minutes=minutes)), st.integers(-23 * 60, 23 * 60)
)
_leaves = st.one_of(
    st.text(max_size=8),
    st.integers(),
    st.booleans(),
    st.floats(allow_nan=False),
    st.none(),
    st.decimals(allow_nan=False),
    st.dates(),
    st.datetimes(),
    st.datetimes(timezones=_offsets),
    st.uuids(),
    st.binary(max_size=8),
)
# Values chosen to collide: the same "number" in every type, strings spelling typed values.
_tricky = st.sampled_from(
    [
        True,
        1,
        1.0,
        Decimal("1"),
        Decimal("1.0"),
        "1",
        "True",
        "true",
        b"1",
        False,
        0,
        0.0,
        -0.0,
        None,
        "None",
        "null",
        date(2024, 1, 1),
        "datetime.date(2024, 1, 1)",
        "2024-01-01",
        datetime(2024, 1, 1),
        AN_ID,
        str(AN_ID),
        repr(AN_ID),
        "",
        b"",
    ]
)
_hashable = st.one_of(_tricky, _leaves)
_values = st.recursive(
    st.one_of(_tricky, _leaves),
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.lists(children, max_size=3).map(tuple),
        st.dictionaries(_hashable, children, max_size=3),
        st.dictionaries(st.text(max_size=3), children, max_size=3),
    ),
    max_leaves=6,
)


def _same(left: Any, right: Any) -> bool:
    """Equal, and of the same types all the way down (a tuple counts as a list)."""
    sequences = (list, tuple)
    if type(left) in sequences and type(right) in sequences:
        return len(left) == len(right) and all(map(_same, left, right))
    if type(left) is not type(right):
        return False
    if isinstance(left, dict):
        if left.keys() != right.keys():
            return False
        right_keys = {key: key for key in right}  # a key of left -> the equal key of right
        return all(
            _same(key, right_keys[key]) and _same(value, right[key]) for key, value in left.items()
        )
    # repr tells 0.0 from -0.0, Decimal("1.0") from Decimal("1.00"), and time zones apart
    return bool(left == right) and repr(left) == repr(right)


def _rearranged(value: Any) -> Any:
    """The same value as another caller may spell it: tuples for lists, dict order reversed."""
    if type(value) is list:
        return tuple(_rearranged(item) for item in value)
    if type(value) is tuple:
        return [_rearranged(item) for item in value]
    if type(value) is dict:
        return {key: _rearranged(value[key]) for key in reversed(list(value))}
    return value


def _round_trips(value: Any, serializer: str) -> Any:
    try:
        return keys.round_trip(value, serializer)
    except Exception:  # the serializer refuses it: Celery would refuse the call as well
        assume(False)


@settings(max_examples=400, deadline=None)
@given(
    pair=st.one_of(
        st.tuples(_values, _values),
        _values.map(lambda value: (value, _rearranged(value))),
    ),
    serializer=st.sampled_from(["json", "pickle"]),
)
def test_same_key_only_for_the_same_value_after_the_round_trip(pair, serializer):
    left, right = pair
    same_value = _same(_round_trips(left, serializer), _round_trips(right, serializer))
    event(f"{serializer}: {'same value' if same_value else 'different values'}")
    assert (one(left, serializer) == one(right, serializer)) == same_value


def test_huge_ints_have_keys_of_their_own():
    huge = 10**5000  # too long for Python to write in decimal
    assert one(huge, "pickle") != one(huge + 1, "pickle")
    assert one(huge, "pickle") != one(hex(huge), "pickle")
    assert one(huge, "pickle") == one(10**5000, "pickle")


def test_keys_of_strings_numbers_and_lists_did_not_change():
    """Only dicts and typed values were re-encoded: these keys are the ones stored before."""
    assert one(["x", 1, 2.5, True, None, ("t",)]) == (
        "e94dbdcc55b550b68defb38c4ea5c645a28ee344de7f7d0b697b79e02cec0489"
    )
    assert one("caf\u00e9") == "334ad113785199286e4c87bc1d403c40c1969eec00ef3c3b71c9408724dde983"
