"""The one nesting rule of API bodies and webhook bodies (providers.base.jsonbody)."""

from __future__ import annotations

import pytest

from providers.base.errors import NestedTooDeep
from providers.base.jsonbody import EVENT_MAX_DEPTH, MAX_DEPTH, NotJson, loads


def _nested(levels: int, leaf: bytes = b"1") -> bytes:
    return b'{"a":' * levels + leaf + b"}" * levels


@pytest.mark.parametrize(
    "body",
    [
        b"12",
        b"null",
        b'"x"',
        b"[]",
        b"{}",
        _nested(MAX_DEPTH),
        _nested(MAX_DEPTH, b"{}"),
        _nested(MAX_DEPTH - 1, b"[1]"),
    ],
)
def test_up_to_the_limit_is_decoded(body):
    assert loads(body) is not None or body == b"null"


@pytest.mark.parametrize(
    "body", [_nested(MAX_DEPTH + 1), _nested(MAX_DEPTH, b"[1]"), b"[" * 100 + b"]" * 100, b"[" * 5000 + b"]" * 5000]
)
def test_past_the_limit_is_refused_without_recursing(body):
    with pytest.raises(NestedTooDeep) as info:
        loads(body)
    assert info.value.code == "invalid_json" and str(MAX_DEPTH) in info.value.message


@pytest.mark.parametrize("body", [b"", b"{", b'{"a": "\xff"}', b"NaN"])
def test_what_is_not_json_is_told_apart(body):
    with pytest.raises(NotJson):
        loads(body)


def test_a_providers_event_has_its_own_wider_limit():
    # An event's shape is the provider's: deeper than any API body, still far from recursing.
    assert loads(_nested(EVENT_MAX_DEPTH), EVENT_MAX_DEPTH) is not None
    with pytest.raises(NestedTooDeep):
        loads(_nested(MAX_DEPTH + 1))
    with pytest.raises(NestedTooDeep) as info:
        loads(_nested(EVENT_MAX_DEPTH + 1), EVENT_MAX_DEPTH)
    assert str(EVENT_MAX_DEPTH) in info.value.message
