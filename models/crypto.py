"""Encryption at rest for ID-card numbers, with a keyed hash for exact lookup.

AES-GCM with a random nonce per value (nonce || ciphertext); the lookup hash is
HMAC-SHA256 under a separate key so equal numbers can be found without
decrypting and without a rainbow table over the small ID space.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from functools import lru_cache

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from models.config import get_settings

_NONCE = 12


@lru_cache(maxsize=1)
def _aead() -> AESGCM:
    return AESGCM(get_settings().personal_data_key)


def normalise_id_card(value: str) -> str:
    return value.strip().upper()


def encrypt_id_card(value: str) -> bytes:
    nonce = os.urandom(_NONCE)
    return nonce + _aead().encrypt(nonce, normalise_id_card(value).encode(), b"id_card")


def decrypt_id_card(blob: bytes) -> str:
    return _aead().decrypt(blob[:_NONCE], blob[_NONCE:], b"id_card").decode()


def id_card_lookup_hash(value: str) -> bytes:
    key = get_settings().lookup_hash_key
    return hmac.new(key, normalise_id_card(value).encode(), hashlib.sha256).digest()
