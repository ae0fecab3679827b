from __future__ import annotations

import inspect

import pytest

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
