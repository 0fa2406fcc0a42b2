"""A software security key for the service tests: what a browser and a FIDO2 authenticator send back to
navigator.credentials.create() / .get() — a real P-256 key pair, real CBOR attestation ("none" format) and real
ECDSA signatures over authenticatorData ‖ SHA-256(clientDataJSON) (WebAuthn Level 3 §6.1, §6.5, §7).

Nothing of the server is imitated: the platform verifies these answers with py_webauthn exactly as it verifies
Chromium's (tests/browser/test_security_keys.py drives the browser's own virtual authenticator).
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import struct

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

FLAG_UP, FLAG_UV, FLAG_AT = 0x01, 0x04, 0x40


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SoftKey:
    """One credential of an authenticator that keeps a signature counter (step `counter_step`, 0: none)."""

    def __init__(self, *, origin: str, counter_step: int = 1):
        self.origin = origin
        self.private = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = os.urandom(32)
        self.sign_count = 0
        self.counter_step = counter_step

    @property
    def id(self) -> str:
        return b64url(self.credential_id)

    def _cose_public_key(self) -> bytes:
        numbers = self.private.public_key().public_numbers()
        return cbor2.dumps({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")})

    def _client_data(self, kind: str, challenge: str, origin: str | None) -> bytes:
        return json.dumps({"type": kind, "challenge": challenge, "origin": origin or self.origin,
                           "crossOrigin": False}).encode()

    def create(self, options: dict, *, origin: str | None = None) -> dict:
        """The answer to navigator.credentials.create({publicKey: options}) (options as the server sent them)."""
        rp_id = options["rp"]["id"]
        auth_data = (hashlib.sha256(rp_id.encode()).digest() + bytes([FLAG_UP | FLAG_UV | FLAG_AT])
                     + struct.pack(">I", self.sign_count) + bytes(16)
                     + struct.pack(">H", len(self.credential_id)) + self.credential_id + self._cose_public_key())
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        return {"id": self.id, "rawId": self.id, "type": "public-key", "clientExtensionResults": {},
                "authenticatorAttachment": "cross-platform",
                "response": {"clientDataJSON": b64url(self._client_data("webauthn.create", options["challenge"], origin)),
                             "attestationObject": b64url(attestation), "transports": ["usb", "nfc"]}}

    def get(self, options: dict, *, origin: str | None = None, rp_id: str | None = None,
            sign_count: int | None = None) -> dict:
        """The answer to navigator.credentials.get({publicKey: options}); the counter moves by `counter_step`
        unless `sign_count` says what this answer claims."""
        if sign_count is None:
            self.sign_count += self.counter_step
            sign_count = self.sign_count
        auth_data = (hashlib.sha256((rp_id or options["rpId"]).encode()).digest() + bytes([FLAG_UP | FLAG_UV])
                     + struct.pack(">I", sign_count))
        client_data = self._client_data("webauthn.get", options["challenge"], origin)
        signature = self.private.sign(auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))
        return {"id": self.id, "rawId": self.id, "type": "public-key", "clientExtensionResults": {},
                "authenticatorAttachment": "cross-platform",
                "response": {"clientDataJSON": b64url(client_data), "authenticatorData": b64url(auth_data),
                             "signature": b64url(signature)}}
