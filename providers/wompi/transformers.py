"""Wompi's transactions read as the hub's neutral payment facts.

Sources (docs.wompi.co, Colombia, "Métodos de pago"): a new transaction is ``PENDING``; its final
status is ``APPROVED``, ``DECLINED``, ``VOIDED`` (cards only) or ``ERROR`` (an error outside Wompi
while authorizing), and a final status never changes back. PSE and the Bancolombia transfer put
the bank's page in ``payment_method.extra.async_payment_url`` a moment after creation.

Mapping: PENDING -> processing (or the buyer's redirect while the bank URL is there: the payment
then carries ``next_action``), APPROVED -> succeeded, DECLINED and ERROR -> failed, VOIDED ->
refunded (a void returns the whole amount). Any other status is refused (``UnexpectedAnswer``),
never stored under a guessed name. Wompi has no manual capture: every payment is ``automatic``.
"""

from __future__ import annotations

from providers.base.errors import CardDeclined, UnexpectedAnswer
from providers.base.payments import PaymentSnapshot
from providers.base.statuses import PaymentStatus
from providers.wompi.wire import Transaction

STATUSES: dict[str, PaymentStatus] = {
    "PENDING": PaymentStatus.PROCESSING,
    "APPROVED": PaymentStatus.SUCCEEDED,
    "DECLINED": PaymentStatus.FAILED,
    "ERROR": PaymentStatus.FAILED,
    "VOIDED": PaymentStatus.REFUNDED,
}
FINAL = frozenset({"APPROVED", "DECLINED", "VOIDED", "ERROR"})

#: Wompi's payment method types -> the hub's names for them (the ``type`` of ``payment_method``).
METHOD_TYPES: dict[str, str] = {
    "CARD": "card",
    "NEQUI": "nequi",
    "PSE": "pse",
    "BANCOLOMBIA_TRANSFER": "bancolombia_transfer",
}
#: The methods a transaction of which can be voided (the hub's refund of a Wompi payment).
VOIDABLE_METHOD_TYPES = ("card",)

#: ``last_error_code`` of a failed transaction, by status and method.
DECLINED_CARD = "card_declined"
DECLINED_OTHER = "payment_declined"
PROCESSING_ERROR = "processing_error"


def payment_status(status: str) -> PaymentStatus:
    """The neutral status of a Wompi transaction status; ``UnexpectedAnswer`` for one Wompi does not document."""
    try:
        return STATUSES[status]
    except KeyError:
        raise UnexpectedAnswer("Wompi answered with a transaction status it does not document") from None


def is_final(transaction: Transaction) -> bool:
    return transaction.status in FINAL


def method_type(transaction: Transaction) -> str | None:
    """The hub's name of the transaction's payment method type (``card``, ``nequi``...); ``None`` if unknown."""
    kind = transaction.payment_method_type or (transaction.payment_method.type if transaction.payment_method else None)
    return METHOD_TYPES.get(kind) if kind else None


def next_action_url(transaction: Transaction) -> str | None:
    """The bank page the buyer must go to, while the transaction waits for them; else ``None``."""
    if transaction.status != "PENDING":
        return None
    url = transaction.async_payment_url
    return url if url and url.startswith(("https://", "http://")) else None


def next_action(transaction: Transaction) -> dict[str, str] | None:
    """``{"type": "redirect_to_url", "url": ...}`` while the buyer must go to their bank; else ``None``."""
    url = next_action_url(transaction)
    return {"type": "redirect_to_url", "url": url} if url else None


def failure_code(transaction: Transaction) -> str | None:
    """``last_error_code`` of a failed transaction: ``card_declined`` (a card), ``payment_declined``
    (another method), ``processing_error`` (``ERROR``); ``None`` unless it failed."""
    if transaction.status == "DECLINED":
        return DECLINED_CARD if method_type(transaction) == "card" else DECLINED_OTHER
    if transaction.status == "ERROR":
        return PROCESSING_ERROR
    return None


def decline_error(transaction: Transaction) -> CardDeclined | None:
    """A ``CardDeclined`` for a failed transaction (for a caller that answers a decline as an error);
    ``None`` unless it failed. Wompi's ``status_message`` is free text: it is not passed on."""
    code = failure_code(transaction)
    if code is None:
        return None
    message = "Wompi declined the payment" if code != PROCESSING_ERROR else "Wompi could not process the payment"
    return CardDeclined(message, decline_code=code, provider_object_id=transaction.id)


def snapshot(transaction: Transaction, metadata: dict[str, str] | None = None) -> PaymentSnapshot:
    """The transaction as a ``PaymentSnapshot`` (its ``next_action`` and method type are read with
    ``next_action`` and ``method_type``). ``metadata`` is the hub's own (Wompi keeps none)."""
    status = payment_status(transaction.status)
    amount = transaction.amount_in_cents
    paid = transaction.status in ("APPROVED", "VOIDED")
    return PaymentSnapshot(
        provider_payment_id=transaction.id,
        status=status,
        amount=amount,
        currency=transaction.currency.lower(),
        capture_method="automatic",
        amount_received=amount if paid else 0,
        amount_refunded=amount if transaction.status == "VOIDED" else 0,
        metadata=dict(metadata or {}),
        last_error_code=failure_code(transaction),
        # Wompi gives no machine-readable reason for a decline (``status_message`` is free text).
        decline_code=None,
    )
