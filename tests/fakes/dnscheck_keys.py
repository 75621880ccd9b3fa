"""DKIM keys for tests: generated once per session (RSA 1024/2048, Ed25519) and a 512-bit public key."""

from __future__ import annotations

import base64
from functools import cache

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa


@cache
def private_pem(kind: str) -> bytes:
    """kind: rsa1024, rsa2048, rsa2048b (a second, different key) or ed25519."""
    if kind == "ed25519":
        key = ed25519.Ed25519PrivateKey.generate()
        fmt = serialization.PrivateFormat.PKCS8
    else:
        key = rsa.generate_private_key(public_exponent=65537, key_size=int(kind[3:7]))
        fmt = serialization.PrivateFormat.TraditionalOpenSSL  # PKCS#1, as pmtakeytool writes
    return key.private_bytes(serialization.Encoding.PEM, fmt, serialization.NoEncryption())


def record_for(kind: str, extra: str = "", pkcs1: bool = False) -> str:
    """The DKIM TXT value publishing kind's public key."""
    key = serialization.load_pem_private_key(private_pem(kind), password=None).public_key()
    if kind == "ed25519":
        raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return f"v=DKIM1; k=ed25519;{extra} p={base64.b64encode(raw).decode()}"
    fmt = serialization.PublicFormat.PKCS1 if pkcs1 else serialization.PublicFormat.SubjectPublicKeyInfo
    der = key.public_bytes(serialization.Encoding.DER, fmt)
    return f"v=DKIM1; k=rsa;{extra} p={base64.b64encode(der).decode()}"


def small_rsa_record(bits: int = 512) -> str:
    """A record with an RSA public key of bits (no private key exists for it)."""
    modulus = (1 << (bits - 1)) | 0xC0FFEE1
    key = rsa.RSAPublicNumbers(65537, modulus).public_key()
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return f"v=DKIM1; k=rsa; p={base64.b64encode(der).decode()}"


def zone_txt(value: str) -> str:
    """Zone-file text of a TXT value split into 255-byte strings."""
    return " ".join(f'"{value[i:i + 255]}"' for i in range(0, len(value), 255))
