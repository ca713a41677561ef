"""JSON that arrives from outside, decoded without letting its nesting reach the recursion limit.

One rule for the hub's API request bodies and for every webhook body a plugin parses: a value
nested more than ``MAX_DEPTH`` levels deep is refused (400 ``invalid_json``) before anything walks
it recursively. The decoder's own recursion limit, far past ``MAX_DEPTH``, is refused the same way.
"""

from __future__ import annotations

from typing import Any

import msgspec

from providers.base.errors import NestedTooDeep

#: Deeper than any API request needs (metadata is flat) and than any event Stripe documents
#: (``data.object.lines.data.0.parent...`` stays near a dozen levels).
MAX_DEPTH = 16
TOO_DEEP = f"The request body is nested more than {MAX_DEPTH} levels deep"


class NotJson(ValueError):
    """The bytes do not decode as JSON (or as UTF-8). The caller says what that means for it."""


def loads(body: bytes | str) -> Any:
    """The decoded value. Raises ``NestedTooDeep`` past ``MAX_DEPTH`` levels, ``NotJson`` when undecodable."""
    try:
        value = msgspec.json.decode(body)
    except RecursionError:
        raise NestedTooDeep(TOO_DEEP) from None
    except msgspec.DecodeError:
        raise NotJson("The body is not valid JSON") from None
    _check_depth(value)
    return value


def _check_depth(root: Any) -> None:
    """A loop, not recursion: the input decides the depth. Any value below ``MAX_DEPTH`` levels is refused."""
    if not isinstance(root, (dict, list)):
        return
    stack: list[tuple[dict[str, Any] | list[Any], int]] = [(root, 0)]
    while stack:
        value, depth = stack.pop()
        children = value.values() if isinstance(value, dict) else value
        if children and depth >= MAX_DEPTH:
            raise NestedTooDeep(TOO_DEEP)
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
