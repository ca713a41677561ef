"""The hub's ids: made here, and recognised here before any of them reaches a query.

``ten_01jq…``: a prefix naming the kind (2-8 lowercase letters), then 48-bit milliseconds and 80
random bits in 26 Crockford base32 characters. Sorting ids sorts by creation time, which is what
newest-first cursor pagination needs (hub/db/pages.py).
"""

from __future__ import annotations

import os
import re
import time

_B32 = "0123456789abcdefghjkmnpqrstvwxyz"
_ID = re.compile(r"([a-z]{2,8})_[0-9a-z]{26}")


def new_id(prefix: str) -> str:
    """A new time-ordered id of the kind ``prefix`` (``ten``, ``pay``...)."""
    value = (int(time.time() * 1000) << 80) | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(26):
        chars.append(_B32[value & 31])
        value >>= 5
    return f"{prefix}_{''.join(reversed(chars))}"


def well_formed_id(value: object, prefix: str | None = None) -> bool:
    """Whether ``value`` has the shape of an id the hub made (of the kind ``prefix``, when given).

    Anything else cannot exist, and some of it (a NUL byte) would make PostgreSQL refuse the
    query: callers answer "not found" before asking the database.
    """
    found = _ID.fullmatch(value) if isinstance(value, str) else None
    return found is not None and (prefix is None or found.group(1) == prefix)
