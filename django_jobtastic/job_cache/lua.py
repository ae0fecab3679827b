"""The compare-and-delete and compare-and-swap scripts, run by Redis as one operation."""

from __future__ import annotations

DELETE_IF_EQUAL = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""
#: ARGV: expected, new, milliseconds (0: no expiry).
REPLACE_IF_EQUAL = """
if redis.call('get', KEYS[1]) ~= ARGV[1] then return 0 end
if tonumber(ARGV[3]) > 0 then
    redis.call('set', KEYS[1], ARGV[2], 'PX', ARGV[3])
else
    redis.call('set', KEYS[1], ARGV[2])
end
return 1
"""


def milliseconds(timeout: float | None) -> int:
    """A timeout in the scripts' terms: whole milliseconds, 0 for no expiry."""
    return int(timeout * 1000) if timeout else 0
