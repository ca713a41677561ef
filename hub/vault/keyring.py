"""Envelope encryption with AES-256-GCM.

Each tenant has its own random data key, wrapped by the active master key (its id stored
beside it). Every ciphertext's associated data binds it to (tenant, provider, field), and
every wrapped data key's to (tenant, master key id): a ciphertext copied to another row or
tenant fails to decrypt instead of yielding someone else's secret.
"""

from __future__ import annotations

import json
import os
from typing import NoReturn

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from hub.settings import MasterKey

_VERSION = b"\x01"
_NONCE = 12


class VaultError(Exception):
    """A secret could not be decrypted: wrong or missing master key, or tampered/misplaced data."""


class Secret:
    """Plaintext held in memory only; ``repr``/``str`` are masked."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret(***)"

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:
        raise TypeError("Secret cannot be pickled")


def _seal(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    nonce = os.urandom(_NONCE)
    return _VERSION + nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def _open(key: bytes, blob: bytes, aad: bytes) -> bytes:
    if len(blob) < 1 + _NONCE + 16 or blob[:1] != _VERSION:
        raise VaultError("ciphertext is not in the vault's format")
    try:
        return AESGCM(key).decrypt(blob[1 : 1 + _NONCE], blob[1 + _NONCE :], aad)
    except InvalidTag:
        raise VaultError("ciphertext does not decrypt here (wrong key, or copied from elsewhere)") from None


def _aad(kind: str, *parts: str) -> bytes:
    # A JSON array, not a joined string: ("a|b", "c") and ("a", "b|c") must differ.
    return f"hub:v1:{kind}:".encode() + json.dumps(parts, separators=(",", ":")).encode()


def _field_aad(tenant_id: str, provider: str, field: str) -> bytes:
    return _aad("field", tenant_id, provider, field)


def _wrap_aad(tenant_id: str, key_id: str) -> bytes:
    return _aad("datakey", tenant_id, key_id)


class Vault:
    """The master key ring. The first key is active; the others only unwrap (during rotation)."""

    def __init__(self, keys: tuple[MasterKey, ...]) -> None:
        if not keys:
            raise ValueError("the vault needs at least one master key")
        self._keys = {k.key_id: k.key for k in keys}
        self._active = keys[0].key_id

    def __repr__(self) -> str:
        return f"Vault(active={self._active!r}, keys={sorted(self._keys)!r})"

    @property
    def active_key_id(self) -> str:
        return self._active

    def knows(self, key_id: str) -> bool:
        return key_id in self._keys

    # -- data keys ---------------------------------------------------------------------
    def new_data_key(self, tenant_id: str) -> tuple[str, bytes, bytes]:
        """Return (master key id, wrapped data key, data key)."""
        data_key = AESGCM.generate_key(bit_length=256)
        return self._active, self.wrap(tenant_id, data_key), data_key

    def wrap(self, tenant_id: str, data_key: bytes) -> bytes:
        return _seal(self._keys[self._active], data_key, _wrap_aad(tenant_id, self._active))

    def unwrap(self, tenant_id: str, key_id: str, wrapped: bytes) -> bytes:
        master = self._keys.get(key_id)
        if master is None:
            raise VaultError(f"master key {key_id!r} is not in HUB_VAULT_KEYS")
        return _open(master, wrapped, _wrap_aad(tenant_id, key_id))

    # -- fields ------------------------------------------------------------------------
    @staticmethod
    def encrypt(data_key: bytes, tenant_id: str, provider: str, field: str, plaintext: str) -> bytes:
        return _seal(data_key, plaintext.encode(), _field_aad(tenant_id, provider, field))

    @staticmethod
    def decrypt(data_key: bytes, tenant_id: str, provider: str, field: str, blob: bytes) -> Secret:
        return Secret(_open(data_key, blob, _field_aad(tenant_id, provider, field)).decode())
