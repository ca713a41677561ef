"""JSON that arrives from outside, decoded without letting its nesting reach the recursion limit.

One rule for the hub's API request bodies and for every webhook body a plugin parses: a value
nested more than its limit (``MAX_DEPTH`` for API bodies, ``EVENT_MAX_DEPTH`` for a provider's
events) is refused (400 ``invalid_json``) before anything walks it recursively. The decoder's own
recursion limit, far past both, is refused the same way.
"""

from __future__ import annotations

from typing import Any

import msgspec

from providers.base.errors import NestedTooDeep

#: Deeper than any API request needs (metadata is flat).
MAX_DEPTH = 16
#: A provider's signed event: its shape is the provider's, not the hub's (Stripe's documented
#: events stay near a dozen levels, ``data.object.lines.data.0.parent...``), so the margin is wide;
#: a genuine event refused here would be retried by the provider for days. It still stops a body
#: nested thousands deep long before anything recursive walks it.
EVENT_MAX_DEPTH = 64


class NotJson(ValueError):
    """The bytes do not decode as JSON (or as UTF-8). The caller says what that means for it."""


def loads(body: bytes | str, max_depth: int = MAX_DEPTH) -> Any:
    """The decoded value. Raises ``NestedTooDeep`` past ``max_depth`` levels, ``NotJson`` when undecodable."""
    value = decode(body, max_depth)
    _check_depth(value, max_depth)
    return value


def decode(body: bytes | str, max_depth: int = MAX_DEPTH) -> Any:
    """The decoded value, its depth not yet checked: for a caller whose own walk over it applies
    ``max_depth`` (one walk, not two). Past the decoder's recursion limit it is ``too_deep``."""
    try:
        return msgspec.json.decode(body)
    except RecursionError:
        raise too_deep(max_depth) from None
    except msgspec.DecodeError:
        raise NotJson("The body is not valid JSON") from None


def too_deep(max_depth: int) -> NestedTooDeep:
    """The error for a value nested past ``max_depth`` levels."""
    return NestedTooDeep(f"The body is nested more than {max_depth} levels deep")


def _check_depth(root: Any, max_depth: int) -> None:
    """A loop, not recursion: the input decides the depth. Any value below ``max_depth`` levels is refused."""
    if not isinstance(root, (dict, list)):
        return
    stack: list[tuple[dict[str, Any] | list[Any], int]] = [(root, 0)]
    while stack:
        value, depth = stack.pop()
        children = value.values() if isinstance(value, dict) else value
        if children and depth >= max_depth:
            raise too_deep(max_depth)
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
