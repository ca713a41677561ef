"""Wompi's wire shapes (API v1) as the plugin reads and writes them: typed msgspec structs.

Sources (docs.wompi.co, Colombia): "Tokens de aceptación" (``GET /merchants/{public_key}``:
``presigned_acceptance`` and ``presigned_personal_data_auth``), "Métodos de pago" (the
``payment_method`` of each type, ``payment_method.extra.async_payment_url`` for PSE and the
Bancolombia transfer), "Datos de prueba en Sandbox", "Eventos" (the event envelope and its
``signature``), "Errores del API" (``INPUT_VALIDATION_ERROR`` with ``messages``,
``NOT_FOUND_ERROR`` and ``INVALID_ACCESS_TOKEN`` with ``reason``) and the API reference
(transactions, ``/pse/financial_institutions``, voids).

Each struct names only the fields the plugin uses, with Wompi's names and JSON types; every other
field is ignored. A field Wompi may leave out or send as null is optional. No value is coerced.
``decode`` is the one entry for an answer: bytes or a decoded JSON value in, a struct out, or
``FieldError`` naming the field (never its value). Statuses stay strings here; the transformers
map them exhaustively.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

import msgspec

from providers.base.errors import UnexpectedAnswer

Id = Annotated[str, msgspec.Meta(min_length=1)]
Cents = Annotated[int, msgspec.Meta(ge=0)]


class FieldError(UnexpectedAnswer, ValueError):
    """An answer whose shape is not the one Wompi documents; names the field, never its value."""


class Wire(msgspec.Struct, frozen=True):
    """Base of every shape Wompi answers with: unknown fields are ignored."""


# -- merchants and acceptance tokens ---------------------------------------------------------


class PresignedAcceptance(Wire, frozen=True):
    """A contract the buyer must be shown (``permalink``) and accept; its token goes into the transaction."""

    acceptance_token: Id
    permalink: str
    type: str | None = None


class Merchant(Wire, frozen=True):
    id: int
    presigned_acceptance: PresignedAcceptance
    name: str | None = None
    public_key: str | None = None
    presigned_personal_data_auth: PresignedAcceptance | None = None


class MerchantAnswer(Wire, frozen=True):
    data: Merchant


# -- card tokens (the widget's or Wompi JS's job in a real storefront) ------------------------


class CardToken(Wire, frozen=True):
    id: Id
    brand: str | None = None
    last_four: str | None = None


class CardTokenAnswer(Wire, frozen=True):
    data: CardToken
    status: str | None = None


class CardTokenCreate(msgspec.Struct, frozen=True):
    number: str
    cvc: str
    exp_month: str
    exp_year: str
    card_holder: str

    def __repr__(self) -> str:
        return "CardTokenCreate(***)"


# -- payment methods, as sent (tagged by ``type``) ---------------------------------------------


class CardMethod(msgspec.Struct, frozen=True, tag="CARD", tag_field="type"):
    token: str
    installments: int = 1


class NequiMethod(msgspec.Struct, frozen=True, tag="NEQUI", tag_field="type"):
    phone_number: str

    def __repr__(self) -> str:
        return "NequiMethod(***)"


class PseMethod(msgspec.Struct, frozen=True, tag="PSE", tag_field="type"):
    #: 0: a person, 1: a company.
    user_type: int
    user_legal_id_type: str
    user_legal_id: str
    financial_institution_code: str
    payment_description: str

    def __repr__(self) -> str:
        return f"PseMethod(financial_institution_code={self.financial_institution_code!r}, ***)"


class BancolombiaTransferMethod(msgspec.Struct, frozen=True, tag="BANCOLOMBIA_TRANSFER", tag_field="type"):
    payment_description: str
    user_type: str = "PERSON"


PaymentMethodCreate = CardMethod | NequiMethod | PseMethod | BancolombiaTransferMethod


class TransactionCreate(msgspec.Struct, frozen=True, omit_defaults=True):
    """The body of ``POST /transactions``. ``signature`` is the integrity signature (signing.py)."""

    acceptance_token: str
    amount_in_cents: int
    currency: str
    customer_email: str
    reference: str
    signature: str
    payment_method: PaymentMethodCreate
    redirect_url: str | None = None
    #: The personal-data authorization token (``presigned_personal_data_auth``), when the buyer accepted it.
    accept_personal_auth: str | None = None
    expiration_time: str | None = None

    def __repr__(self) -> str:
        return f"TransactionCreate(reference={self.reference!r}, amount_in_cents={self.amount_in_cents}, ***)"


class VoidCreate(msgspec.Struct, frozen=True, omit_defaults=True):
    amount_in_cents: int | None = None


# -- transactions, as read ---------------------------------------------------------------------


class PaymentMethodExtra(Wire, frozen=True):
    #: PSE and Bancolombia transfer: the bank's page the buyer must go to; appears after creation.
    async_payment_url: str | None = None
    brand: str | None = None
    last_four: str | None = None


class PaymentMethod(Wire, frozen=True):
    type: str
    extra: PaymentMethodExtra | None = None
    installments: int | None = None
    financial_institution_code: str | None = None


class Transaction(Wire, frozen=True):
    id: Id
    amount_in_cents: Cents
    reference: str
    currency: str
    status: Id
    payment_method_type: str | None = None
    payment_method: PaymentMethod | None = None
    status_message: str | None = None
    created_at: str | None = None
    finalized_at: str | None = None
    customer_email: str | None = None
    redirect_url: str | None = None

    @property
    def async_payment_url(self) -> str | None:
        method = self.payment_method
        return method.extra.async_payment_url if method is not None and method.extra is not None else None


class TransactionAnswer(Wire, frozen=True):
    data: Transaction


class TransactionList(Wire, frozen=True):
    data: list[Transaction]


# -- PSE banks ---------------------------------------------------------------------------------


class FinancialInstitution(Wire, frozen=True):
    financial_institution_code: str
    financial_institution_name: str


class FinancialInstitutions(Wire, frozen=True):
    data: list[FinancialInstitution]


# -- events ------------------------------------------------------------------------------------


class EventSignature(Wire, frozen=True):
    properties: Annotated[list[Annotated[str, msgspec.Meta(min_length=1)]], msgspec.Meta(min_length=1)]
    checksum: Annotated[str, msgspec.Meta(pattern="^[0-9A-Fa-f]{64}$")]


class Event(Wire, frozen=True):
    """The envelope of every event Wompi sends; ``data`` stays raw (its properties are signed by path)."""

    event: Id
    data: dict[str, Any]
    signature: EventSignature
    timestamp: Annotated[int, msgspec.Meta(ge=0)]
    environment: str | None = None
    sent_at: str | None = None


class TransactionEventData(Wire, frozen=True):
    """``data`` of a ``transaction.updated`` event."""

    transaction: Transaction


# -- errors ------------------------------------------------------------------------------------


class ErrorDetail(Wire, frozen=True):
    type: str
    reason: str | None = None
    #: ``INPUT_VALIDATION_ERROR``: field -> messages. Wompi sends lists; a single text is read too.
    messages: dict[str, list[str] | str] | None = None


class ErrorBody(Wire, frozen=True):
    error: ErrorDetail


T = TypeVar("T")


def decode(value: bytes | str | Any, into: type[T], what: str = "answer") -> T:
    """``value`` (JSON text, or an already decoded value) as ``into``; ``FieldError`` naming the field otherwise."""
    try:
        if isinstance(value, (bytes, str)):
            return msgspec.json.decode(value, type=into)
        return msgspec.convert(value, type=into)
    except msgspec.ValidationError as exc:
        # msgspec's message names the expected type and the path ("at `$.data.status`"), never the value.
        raise FieldError(f"Wompi's {what} does not have the documented shape: {exc}") from None
    except msgspec.DecodeError:
        raise FieldError(f"Wompi's {what} is not JSON") from None


def encode(value: Any) -> bytes:
    return msgspec.json.encode(value)
