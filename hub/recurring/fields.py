"""Body field types of the recurring routes: no control characters anywhere (PostgreSQL refuses a
NUL in text, and none belongs in a name or an id), line breaks allowed only in descriptions."""

from __future__ import annotations

from typing import Annotated

import msgspec

from hub.text import CONTROL, LINES, PLAIN

#: A hub id named in a body (a customer, a price, a product).
Ref = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=PLAIN)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=250, pattern=PLAIN)]
Email = Annotated[str, msgspec.Meta(min_length=3, max_length=320, pattern=rf"^[^@\s{CONTROL}]+@[^@\s{CONTROL}]+$")]
Description = Annotated[str, msgspec.Meta(max_length=1000, pattern=LINES)]
