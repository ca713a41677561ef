"""Every provider-neutral status, interval and reason name: defined here once, imported everywhere.

The hub's API schemas, its status rules, its database CHECK constraints and each plugin's
mapping of its provider's names all use these. A plugin maps every status its provider
documents onto one of them and refuses one it does not know (``UnexpectedAnswer``), so an
unknown status is never stored under a guessed name.

The API schemas need ``Literal`` types (their OpenAPI document lists the values inline); each
``Literal`` here names the same values as its ``StrEnum`` (checked by the unit tests).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal, get_args


class PaymentStatus(StrEnum):
    """A payment's status. Stripe's PaymentIntent statuses, plus the hub's own ``failed`` (an
    attempt declined, which the customer may retry) and the refund part of a paid payment."""

    REQUIRES_PAYMENT_METHOD = "requires_payment_method"
    REQUIRES_CONFIRMATION = "requires_confirmation"
    REQUIRES_ACTION = "requires_action"
    PROCESSING = "processing"
    REQUIRES_CAPTURE = "requires_capture"
    SUCCEEDED = "succeeded"
    CANCELED = "canceled"
    FAILED = "failed"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"


PaymentStatusName = Literal[
    "requires_payment_method",
    "requires_confirmation",
    "requires_action",
    "processing",
    "requires_capture",
    "succeeded",
    "canceled",
    "failed",
    "partially_refunded",
    "refunded",
]


class RefundStatus(StrEnum):
    """A refund's status: the one refund state machine of the hub.

    A refund only moves forward, in Stripe's lifecycle order (``REFUND_ORDER``)::

        pending -> requires_action -> succeeded -> failed -> canceled

    - ``pending``: asked for, not yet settled;
    - ``requires_action``: the provider needs something before it can go on (Stripe: the
      customer's details for a refund to a method that cannot be refunded directly). Still
      "not yet": it holds money back from a second refund, and is not counted as returned;
    - ``succeeded``: money returned. It may still move to ``failed`` (a bank refusing it late);
    - ``failed`` / ``canceled``: nothing returned; ends.

    A plugin reports each of these as its provider says it; none is folded into another.
    """

    PENDING = "pending"
    REQUIRES_ACTION = "requires_action"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"


RefundStatusName = Literal["pending", "requires_action", "succeeded", "failed", "canceled"]

#: The order a refund's status may move in (``RefundStatus``): only to a higher rank.
REFUND_ORDER: dict[RefundStatus, int] = {status: rank for rank, status in enumerate(RefundStatus)}
#: Refund states that hold money back from being refunded again (and that may still change).
OPEN_REFUND = frozenset({RefundStatus.PENDING, RefundStatus.REQUIRES_ACTION, RefundStatus.SUCCEEDED})
#: Refund states counted as returned to the customer.
COUNTED_REFUND = frozenset({RefundStatus.SUCCEEDED})


class RefundReason(StrEnum):
    """Why a refund was made (Stripe's reasons). The provider itself makes the last one, when a
    held authorization expires; a refund may be asked for with the others (``RefundReasonName``)."""

    DUPLICATE = "duplicate"
    FRAUDULENT = "fraudulent"
    REQUESTED_BY_CUSTOMER = "requested_by_customer"
    EXPIRED_UNCAPTURED_CHARGE = "expired_uncaptured_charge"


#: The reasons a refund may be asked for; anything else is refused before the provider is called.
RefundReasonName = Literal["duplicate", "fraudulent", "requested_by_customer"]
REQUESTABLE_REFUND_REASONS: tuple[str, ...] = get_args(RefundReasonName)


class SubscriptionStatus(StrEnum):
    """A subscription's status (Stripe's names, which most gateways share)."""

    INCOMPLETE = "incomplete"
    INCOMPLETE_EXPIRED = "incomplete_expired"
    TRIALING = "trialing"
    ACTIVE = "active"
    PAST_DUE = "past_due"
    UNPAID = "unpaid"
    CANCELED = "canceled"
    PAUSED = "paused"


SubscriptionStatusName = Literal[
    "incomplete", "incomplete_expired", "trialing", "active", "past_due", "unpaid", "canceled", "paused"
]
#: A subscription that has ended never comes back (the provider cannot reactivate it).
SUBSCRIPTION_ENDED = frozenset({SubscriptionStatus.CANCELED, SubscriptionStatus.INCOMPLETE_EXPIRED})


class InvoiceStatus(StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    PAID = "paid"
    VOID = "void"
    UNCOLLECTIBLE = "uncollectible"


InvoiceStatusName = Literal["draft", "open", "paid", "void", "uncollectible"]


class SetupStatus(StrEnum):
    """A setup intent's status (saving a payment method for later use)."""

    REQUIRES_PAYMENT_METHOD = "requires_payment_method"
    REQUIRES_CONFIRMATION = "requires_confirmation"
    REQUIRES_ACTION = "requires_action"
    PROCESSING = "processing"
    SUCCEEDED = "succeeded"
    CANCELED = "canceled"


class DisputeStatus(StrEnum):
    """A payment's dispute, as far as the hub follows it."""

    NEEDS_RESPONSE = "needs_response"
    UNDER_REVIEW = "under_review"
    WON = "won"
    LOST = "lost"
    CLOSED = "closed"


class ConnectedAccountStatus(StrEnum):
    """A connected (marketplace seller) account: ``active`` when charges and payouts are enabled."""

    ONBOARDING = "onboarding"
    ACTIVE = "active"
    RESTRICTED = "restricted"
    REJECTED = "rejected"


ConnectedAccountStatusName = Literal["onboarding", "active", "restricted", "rejected"]


class Interval(StrEnum):
    """A recurring price's billing interval."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    YEAR = "year"


IntervalName = Literal["day", "week", "month", "year"]


def check_in(column: str, values: type[StrEnum]) -> str:
    """The SQL of a CHECK constraint that ``column`` holds one of ``values`` (NULL passes, as SQL's CHECK does)."""
    names = ", ".join(f"'{v.value}'" for v in values)
    return f"{column} IN ({names})"
