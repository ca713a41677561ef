"""Typed errors every provider raises; the hub maps them to HTTP in one place.

Messages must never contain a secret key or webhook secret.
"""

from __future__ import annotations


class ProviderError(Exception):
    """A provider refused or failed a request. ``code`` is the machine code the hub reports."""

    code = "provider_error"

    def __init__(self, message: str, *, param: str | None = None, provider_code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.provider_code = provider_code
        #: The hub payment the failed call was about, set by the hub when it is known (never by a plugin).
        self.payment_id: str | None = None


class CredentialsFormatError(ProviderError):
    """A credential field is not of the provider's format; ``param`` names the field."""

    code = "validation_error"


class ModeMismatch(ProviderError):
    """Credentials mix test and live modes."""

    code = "mode_mismatch"


class InvalidCredentials(ProviderError):
    """The provider rejected the credentials (unknown, revoked or insufficient key)."""

    code = "invalid_credentials"


class InvalidRequest(ProviderError):
    """The provider rejected the parameters of a request (its 4xx that is not one of the others)."""

    code = "provider_error"


class InvalidState(ProviderError):
    """The object is not in a state that allows the operation (e.g. capture of a non-capturable payment)."""

    code = "invalid_state"


class CardDeclined(ProviderError):
    """The card was declined; ``decline_code`` is the provider's reason when it gives one."""

    code = "card_declined"

    def __init__(
        self,
        message: str,
        *,
        decline_code: str | None = None,
        provider_object_id: str | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message, param=param, provider_code="card_declined")
        self.decline_code = decline_code
        self.provider_object_id = provider_object_id


class NotSupported(ProviderError):
    """The provider cannot do this (the hub answers 422 ``not_supported``, with ``param`` when a field asks it)."""

    code = "not_supported"


class InvalidParameter(ProviderError):
    """A request field the plugin checks before any call (``Provider.validate_payment``) is missing or
    malformed: 422 with ``param``. ``code`` is ``validation_error`` unless a more precise one is given
    (``amount_too_small``)."""

    code = "validation_error"

    def __init__(self, message: str, *, param: str, code: str | None = None) -> None:
        super().__init__(message, param=param)
        if code is not None:
            self.code = code


class RateLimited(ProviderError):
    """The provider is rate-limiting this account."""

    code = "rate_limited"


class ProviderUnavailable(ProviderError):
    """The provider could not be reached, timed out, or answered 5xx after bounded retries."""

    code = "provider_unavailable"


class SignatureInvalid(ProviderError):
    """A webhook's signature is missing, wrong or expired, or the body is not an event."""

    code = "signature_invalid"


class NestedTooDeep(ProviderError):
    """A JSON body (an API request or a signed webhook) nested past ``jsonbody.MAX_DEPTH`` levels: 400, nothing kept."""

    code = "invalid_json"


class EventNotUnderstood(ProviderError):
    """A verified webhook event whose content cannot be turned into a neutral event.

    Raised by ``interpret_webhook``: the delivery was genuine, so the hub keeps it (as failed,
    with this message as the reason) and acknowledges it rather than having the gateway retry
    an event that will never read differently. The message names the field, never its value.
    """

    code = "event_not_understood"


class UnexpectedAnswer(ProviderUnavailable):
    """The provider answered with something its plugin cannot read: a status it never documented,
    a field of the wrong type.

    The request may well have taken effect, so the outcome is unknown (as for an answer that never
    came): the hub keeps what it had and a sync repairs it; it answers 502. In a webhook event it
    makes the event ``failed`` with this message as its reason. The message names the field,
    never a value that could be anything.
    """
