"""The provider plugin contract: an abstract Provider, neutral types, typed errors, a registry."""

from providers.base.errors import (
    CardDeclined,
    CredentialsFormatError,
    EventNotUnderstood,
    InvalidCredentials,
    InvalidRequest,
    InvalidState,
    ModeMismatch,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
    SignatureInvalid,
)
from providers.base.provider import Provider, TenantContext
from providers.base.registry import ProviderNotFound, ProviderRegistry
from providers.base.types import CredentialCheck, CredentialsInput, ProviderCredentials

__all__ = [
    "CardDeclined",
    "CredentialCheck",
    "CredentialsFormatError",
    "CredentialsInput",
    "EventNotUnderstood",
    "InvalidCredentials",
    "InvalidRequest",
    "InvalidState",
    "ModeMismatch",
    "Provider",
    "ProviderCredentials",
    "ProviderError",
    "ProviderNotFound",
    "ProviderRegistry",
    "ProviderUnavailable",
    "RateLimited",
    "SignatureInvalid",
    "TenantContext",
]
