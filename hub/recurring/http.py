"""How a route answers a request that may be the replay of an earlier one with the same Idempotency-Key."""

from __future__ import annotations

from typing import TypeVar

from litestar import Response

T = TypeVar("T")

REPLAYED = "Idempotent-Replayed"


def answer(body: T, *, replayed: bool, status: int = 201) -> Response[T]:
    """The first answer's status, with ``Idempotent-Replayed: true`` when this request only repeated it."""
    return Response(body, status_code=status, headers={REPLAYED: "true"} if replayed else None)
