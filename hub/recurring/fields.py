"""Body field types of the recurring routes: no control characters anywhere (PostgreSQL refuses a
NUL in text, and none belongs in a name or an id), line breaks allowed only in descriptions."""

from __future__ import annotations

from typing import Annotated

import msgspec

_PLAIN = r"^[^\x00-\x1f\x7f]*$"
_LINES = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"

#: A hub id named in a body (a customer, a price, a product).
Ref = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=_PLAIN)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=250, pattern=_PLAIN)]
Email = Annotated[
    str, msgspec.Meta(min_length=3, max_length=320, pattern=r"^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+$")
]
Description = Annotated[str, msgspec.Meta(max_length=1000, pattern=_LINES)]
