"""The provider plugin contract: an abstract Provider, neutral types, typed errors, a registry."""

from providers.base.capabilities import Capabilities, CredentialField, CredentialRole, CredentialsSpec
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
from providers.base.provider import Institution, Provider, TenantContext, Terms
from providers.base.registry import ProviderNotFound, ProviderRegistry
from providers.base.types import CredentialCheck, CredentialsInput, ProviderCredentials

__all__ = [
    "Capabilities",
    "CardDeclined",
    "CredentialCheck",
    "CredentialField",
    "CredentialRole",
    "CredentialsFormatError",
    "CredentialsInput",
    "CredentialsSpec",
    "EventNotUnderstood",
    "Institution",
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
    "Terms",
]
