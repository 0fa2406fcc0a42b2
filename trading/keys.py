"""Keys and signatures as text: lowercase hexadecimal of the raw bytes, of exactly the expected length.

The one encoding everywhere (API, websockets, pages, JS, the command-line tools; docs/api-formats.md): RFC 8032
(Ed25519) and RFC 9180 (HPKE/X25519) write their vectors in lowercase hex, as the platform writes every digest.
Ed25519 and X25519 public keys are 32 bytes (64 characters), Ed25519 signatures 64 bytes (128 characters).
Anything else is refused with a message naming the expected form -- the old base64 form by name. Pure.
"""
from __future__ import annotations

import base64
import binascii
import re

from trading.errors import Invalid
from django.utils.translation import gettext_lazy as _

PUBLIC_KEY_BYTES = 32
PRIVATE_KEY_BYTES = 32
SIGNATURE_BYTES = 64


def encode(raw: bytes) -> str:
    return bytes(raw).hex()


def expected(size: int) -> str:
    return f"{size * 2} lowercase hexadecimal characters ({size} bytes)"


def decode(text: object, *, field: str, size: int) -> bytes:
    """``size`` raw bytes from their lowercase hex; Invalid (400) naming the expected form otherwise."""
    if isinstance(text, str) and re.fullmatch(f"[0-9a-f]{{{size * 2}}}", text):
        return bytes.fromhex(text)
    if isinstance(text, str) and _is_base64_of(text, size):
        raise Invalid(_("%(field_name)s: base64 is not accepted; expected %(chars)s lowercase hexadecimal characters "
                        "(%(size)s bytes)"), field_name=field, chars=size * 2, size=size, field=field)
    if isinstance(text, str) and re.fullmatch(f"[0-9A-Fa-f]{{{size * 2}}}", text):
        raise Invalid(_("%(field_name)s: expected %(chars)s lowercase hexadecimal characters (%(size)s bytes), not "
                        "upper case"), field_name=field, chars=size * 2, size=size, field=field)
    raise Invalid(_("%(field_name)s: expected %(chars)s lowercase hexadecimal characters (%(size)s bytes)"),
                  field_name=field, chars=size * 2, size=size, field=field)


def _is_base64_of(text: str, size: int) -> bool:
    try:
        return len(base64.b64decode(text.replace("-", "+").replace("_", "/") + "=" * (-len(text) % 4),
                                    validate=True)) == size
    except (binascii.Error, ValueError):
        return False


def legacy(text: str, *, size: int) -> bytes:
    """Bytes kept in the old base64 form before the hex rule (rows written earlier, key files made by an earlier
    version of the tools): read, never accepted from a request. Hex is read as hex."""
    if re.fullmatch(f"[0-9a-f]{{{size * 2}}}", text):
        return bytes.fromhex(text)
    raw = base64.b64decode(text, validate=True)
    if len(raw) != size:
        raise ValueError(f"expected {size} bytes")
    return raw
