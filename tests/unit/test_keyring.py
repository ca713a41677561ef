"""The key ring: AES-256-GCM envelope encryption, associated data binding, master keys in rotation."""

from __future__ import annotations

import pickle

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from hub.settings import MasterKey
from hub.vault.keyring import Secret, Vault, VaultError

K1 = MasterKey(key_id="k1", key=bytes(range(32)))
K1_WRONG = MasterKey(key_id="k1", key=bytes(range(1, 33)))  # same id, other bytes
K2 = MasterKey(key_id="k2", key=bytes(range(32, 64)))
T1, T2 = "ten_one", "ten_two"
CANARY = "sk_test_keyringCanary0123456789"


def test_field_roundtrip_gives_the_plaintext_back_inside_a_masked_secret():
    vault = Vault((K1,))
    _, _, dk = vault.new_data_key(T1)
    blob = Vault.encrypt(dk, T1, "stripe", "secret_key", CANARY)
    secret = Vault.decrypt(dk, T1, "stripe", "secret_key", blob)
    assert secret.reveal() == CANARY
    assert CANARY not in repr(secret) and CANARY not in str(secret) and CANARY not in f"{secret}"


def test_ciphertext_is_aes_256_gcm_with_a_version_byte_and_a_96_bit_nonce():
    # Decrypting with the library directly pins the format: 0x01 | 12-byte nonce | ciphertext+tag,
    # authenticated over the (tenant, provider, field) associated data.
    dk = AESGCM.generate_key(bit_length=256)
    blob = Vault.encrypt(dk, T1, "stripe", "secret_key", CANARY)
    assert blob[:1] == b"\x01" and len(blob) == 1 + 12 + len(CANARY) + 16
    aad = b'hub:v1:field:["' + T1.encode() + b'","stripe","secret_key"]'
    plain = AESGCM(dk).decrypt(blob[1:13], blob[13:], aad)
    assert plain == CANARY.encode()
    assert CANARY.encode() not in blob


def test_data_keys_are_256_bit_and_wrapped_under_the_active_master_key():
    vault = Vault((K2, K1))
    key_id, wrapped, dk = vault.new_data_key(T1)
    assert key_id == "k2" and len(dk) == 32 and dk not in wrapped
    assert vault.unwrap(T1, "k2", wrapped) == dk
    aad = b'hub:v1:datakey:["' + T1.encode() + b'","k2"]'
    assert AESGCM(K2.key).decrypt(wrapped[1:13], wrapped[13:], aad) == dk


def test_every_encryption_uses_a_fresh_nonce():
    dk = AESGCM.generate_key(bit_length=256)
    blobs = {Vault.encrypt(dk, T1, "stripe", "secret_key", CANARY) for _ in range(50)}
    assert len(blobs) == 50 and len({b[1:13] for b in blobs}) == 50


@pytest.mark.parametrize(
    ("tenant", "provider", "field"),
    [
        (T2, "stripe", "secret_key"),  # copied to another tenant
        (T1, "stripe", "webhook_secret"),  # copied to another field
        (T1, "stripe", "previous_webhook_secret"),
        (T1, "wompi", "secret_key"),  # copied to another provider
    ],
)
def test_a_ciphertext_moved_to_another_tenant_provider_or_field_does_not_decrypt(tenant, provider, field):
    dk = AESGCM.generate_key(bit_length=256)
    blob = Vault.encrypt(dk, T1, "stripe", "secret_key", CANARY)
    with pytest.raises(VaultError) as exc:
        Vault.decrypt(dk, tenant, provider, field, blob)
    assert CANARY not in str(exc.value)


def test_associated_data_parts_cannot_be_shifted_across_a_separator():
    # (tenant "a|b", provider "c") and (tenant "a", provider "b|c") must not authenticate the same ciphertext.
    dk = AESGCM.generate_key(bit_length=256)
    blob = Vault.encrypt(dk, "a|b", "c", "secret_key", CANARY)
    with pytest.raises(VaultError):
        Vault.decrypt(dk, "a", "b|c", "secret_key", blob)
    _, wrapped, _ = Vault((MasterKey(key_id="k", key=K1.key),)).new_data_key("a|k")
    with pytest.raises(VaultError):
        Vault((MasterKey(key_id="k|k", key=K1.key),)).unwrap("a", "k|k", wrapped)


def test_a_data_key_wrapped_for_one_tenant_does_not_unwrap_for_another():
    vault = Vault((K1,))
    _, wrapped, _ = vault.new_data_key(T1)
    with pytest.raises(VaultError):
        vault.unwrap(T2, "k1", wrapped)


def test_a_wrapped_data_key_relabelled_with_another_master_key_id_does_not_unwrap():
    same_bytes_other_id = MasterKey(key_id="k9", key=K1.key)
    vault = Vault((K1, same_bytes_other_id))
    _, wrapped, _ = vault.new_data_key(T1)
    with pytest.raises(VaultError):
        vault.unwrap(T1, "k9", wrapped)


def test_a_wrong_master_key_with_the_same_id_fails_cleanly_without_key_material():
    _, wrapped, _ = Vault((K1,)).new_data_key(T1)
    with pytest.raises(VaultError) as exc:
        Vault((K1_WRONG,)).unwrap(T1, "k1", wrapped)
    assert K1_WRONG.key.hex() not in str(exc.value) and repr(K1_WRONG.key) not in str(exc.value)


def test_an_unknown_master_key_id_names_the_id_only():
    _, wrapped, _ = Vault((K1,)).new_data_key(T1)
    with pytest.raises(VaultError, match="'k1'") as exc:
        Vault((K2,)).unwrap(T1, "k1", wrapped)
    assert repr(K2.key) not in str(exc.value)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda b: b[:-1] + bytes([b[-1] ^ 1]),  # tag flipped
        lambda b: b[:20] + bytes([b[20] ^ 1]) + b[21:],  # body flipped
        lambda b: b"\x02" + b[1:],  # unknown format version
        lambda b: b[:10],  # truncated
        lambda b: b"",  # empty
    ],
)
def test_tampered_or_truncated_ciphertexts_raise_vault_error(mangle):
    dk = AESGCM.generate_key(bit_length=256)
    blob = Vault.encrypt(dk, T1, "stripe", "secret_key", CANARY)
    with pytest.raises(VaultError):
        Vault.decrypt(dk, T1, "stripe", "secret_key", mangle(blob))


def test_rotation_ring_unwraps_old_keys_and_wraps_only_under_the_active_one():
    _, old_wrapped, dk = Vault((K1,)).new_data_key(T1)
    ring = Vault((K2, K1))
    assert ring.active_key_id == "k2" and ring.knows("k1") and not ring.knows("k3")
    assert ring.unwrap(T1, "k1", old_wrapped) == dk
    rewrapped = ring.wrap(T1, dk)
    assert Vault((K2,)).unwrap(T1, "k2", rewrapped) == dk, "after re-wrapping only the new key is needed"
    with pytest.raises(VaultError):
        Vault((K1,)).unwrap(T1, "k1", rewrapped)


def test_vault_needs_a_key_and_its_repr_shows_ids_only():
    with pytest.raises(ValueError):
        Vault(())
    text = repr(Vault((K1, K2)))
    assert "k1" in text and "k2" in text and repr(K1.key) not in text and K1.key.hex() not in text


def test_secret_refuses_to_be_pickled():
    with pytest.raises(TypeError):
        pickle.dumps(Secret(CANARY))
