"""What the customer, catalogue, subscription, invoice and payment-link routes share at the HTTP edge:
page parameters and the errors each route documents. (The Idempotency-Key header is read and
answered by ``hub.idempotency.route.once``, the same for every route.)
"""

from __future__ import annotations

from typing import Annotated

from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Parameter

from hub.errors import PROBLEM_JSON, Problem
from hub.text import PLAIN

#: Page size and cursor (an id) of every list.
#: No control characters in a query value (PostgreSQL refuses a NUL in text): 422 before the database.
Limit = Annotated[int, Parameter(ge=1, le=100)]
Cursor = Annotated[str | None, Parameter(max_length=64, pattern=PLAIN)]

_WHY = {
    400: "Malformed JSON (invalid_json), or the provider refused the request (provider_error, with provider_code)",
    401: "Missing, unknown or revoked API key (unauthorized)",
    402: "The card was declined (card_declined, authentication_required)",
    403: "The key's scope may not do this, or the tenant is suspended (forbidden, tenant_suspended)",
    404: "No such object for this tenant (not_found)",
    409: "idempotency_conflict, idempotency_in_progress, or invalid_state",
    422: "Invalid body, query or amount (validation_error, amount_too_small, amount_too_large, unsupported_currency),"
    " or the tenant's provider does not offer this (not_supported)",
    429: "Rate limited (rate_limited)",
    503: "The provider or the database cannot be reached (provider_unavailable, database_unavailable)",
}
_ALWAYS = (400, 401, 403, 422, 429, 503)


def errors(*statuses: int) -> dict[int, ResponseSpec]:
    """The problem+json answers a route may give, for the OpenAPI document."""
    return {
        s: ResponseSpec(data_container=Problem, description=_WHY[s], media_type=PROBLEM_JSON, generate_examples=False)
        for s in sorted({*_ALWAYS, *statuses})
    }


#: A read of one object; a list; a create, or an action on an object, that reaches the provider.
READ, LIST = errors(404), errors()
CREATE = ACTION = errors(402, 404, 409)
