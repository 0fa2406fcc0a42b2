"""Sealed-bid envelope format, bidder signatures, receipts, custody-key wrapping.

Pure module (no Django).  The same format is produced by the command-line tool
(bidding/envelopes/cli.py) and by the browser (frontend/static/frontend/seal.js).

Envelope (binary):
    b"SLE1" || enc (32 bytes, HPKE encapsulated X25519 key) || HPKE ciphertext
HPKE = RFC 9180 base mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM,
single shot (sequence 0, empty aad), `info` = binding_info(project, lot, bidder).
This is exactly cryptography.hazmat.primitives.hpke.Suite(KEM.X25519, KDF.HKDF_SHA256,
AEAD.AES_256_GCM).encrypt(), whose output is enc || ct.

Plaintext inside (binary):
    b"SLP1" || u32be(len(header)) || header (canonical JSON, UTF-8) || documents...
header = {"v": 1, "project": str, "lot": str, "bidder": str, "price_fen": int,
          "terms": {str: str}, "documents": [{"name", "type", "size", "sha256"}]}
documents' bytes follow the header in the listed order.

Digest = SHA-256(envelope).  The bidder signs with Ed25519:
    b"sunlight/envelope-signature/v1\\x00" || info || b"\\x00" || digest

A hand-written RFC 9180 key schedule (`hpke_seal_base` / `hpke_open_base`) lives here
too: it is checked against the RFC 9180 appendix A.1 known answers and against the
library, and it lets tests seal deterministically (fixed ephemeral key) to compare the
browser's bytes with Python's.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import struct
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hpke, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from trading import keys
from trading.coded import CodedError
from trading.errors import Invalid
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from trading.money import format_fen, parse_money
from django.utils.translation import gettext_lazy as _

ENVELOPE_MAGIC = b"SLE1"
PLAINTEXT_MAGIC = b"SLP1"
ENC_LEN = 32
TAG_LEN = 16
FORMAT = "sunlight-envelope/v1"
DEFAULT_MAX_ENVELOPE_BYTES = 32 * 1024 * 1024
MAX_PRICE_FEN = 2**53 - 1  # safe integer in JavaScript

SUITE = hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)

KEM_ID_X25519 = 0x0020
KDF_ID_HKDF_SHA256 = 0x0001
AEAD_ID_AES_128_GCM = 0x0001
AEAD_ID_AES_256_GCM = 0x0002
_AEAD_NK = {AEAD_ID_AES_128_GCM: 16, AEAD_ID_AES_256_GCM: 32}

_REF_RE = re.compile(r"^[A-Za-z0-9._/-]{1,64}$")


# -- errors ---------------------------------------------------------------------------

class EnvelopeError(CodedError):
    """Base: the envelope cannot be accepted or opened. `code` is stable for records; `key` tells the sentence
    apart for its translation (bidding/envelopes/messages.py); `field` the transport field at fault."""
    code = "envelope_invalid"
    field = "envelope"


class MalformedEnvelope(EnvelopeError):
    code = "malformed_envelope"


class EnvelopeTooLarge(EnvelopeError):
    code = "envelope_too_large"


class DecryptionFailed(EnvelopeError):
    code = "decryption_failed"


class BadSignature(EnvelopeError):
    field = "signature"
    code = "bad_signature"


class BindingMismatch(EnvelopeError):
    code = "binding_mismatch"


class MalformedContent(EnvelopeError):
    code = "malformed_content"


class StoredDigestMismatch(EnvelopeError):
    code = "stored_digest_mismatch"


# -- small helpers ----------------------------------------------------------------------

def b64e(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def b64d(text: object, *, what: str = "value") -> bytes:
    if not isinstance(text, str):
        raise MalformedEnvelope("%(what)s must be base64 text", key="base64_text", what=what)
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError):
        raise MalformedEnvelope("%(what)s is not valid base64", key="base64", what=what) from None


def canonical_json(obj: object) -> bytes:
    """Sorted keys, no spaces, UTF-8 (matches seal.js's canonicalJSON for our data)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def check_ref(value: object, what: str) -> str:
    text = str(value)
    if not _REF_RE.match(text):
        raise MalformedEnvelope("%(what)s reference must be 1-64 characters of A-Z a-z 0-9 . _ / -", key="reference",
                                what=what)
    return text


def binding_info(project: object, lot: object, bidder: object) -> bytes:
    """HPKE `info`: binds the envelope to one project, lot and bidder (no replay elsewhere)."""
    p, l, b = check_ref(project, "project"), check_ref(lot, "lot"), check_ref(bidder, "bidder")
    return f"sunlight/envelope/v1\x00project={p}\x00lot={l}\x00bidder={b}".encode("ascii")


def envelope_digest(envelope: bytes) -> bytes:
    return sha256(envelope)


def signature_message(info: bytes, digest: bytes) -> bytes:
    return b"sunlight/envelope-signature/v1\x00" + info + b"\x00" + digest


# -- keys -------------------------------------------------------------------------------

def x25519_public_bytes(key: X25519PrivateKey | X25519PublicKey) -> bytes:
    pub = key.public_key() if isinstance(key, X25519PrivateKey) else key
    return pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def x25519_private_bytes(key: X25519PrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                             serialization.NoEncryption())


def ed25519_public_bytes(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    pub = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def ed25519_private_bytes(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                             serialization.NoEncryption())


def load_x25519_public(raw: bytes) -> X25519PublicKey:
    if len(raw) != 32:
        raise MalformedEnvelope("an X25519 public key is 32 bytes", key="x25519_size")
    return X25519PublicKey.from_public_bytes(raw)


def load_ed25519_public(raw: bytes) -> Ed25519PublicKey:
    if len(raw) != 32:
        raise BadSignature("an Ed25519 public key is 32 bytes", key="ed25519_size")
    return Ed25519PublicKey.from_public_bytes(raw)


def key_fingerprint(raw_public: bytes) -> str:
    return hashlib.sha256(raw_public).hexdigest()[:32]


# -- RFC 9180 reference key schedule (base mode, DHKEM X25519 / HKDF-SHA256) -------------

def _i2osp(value: int, length: int) -> bytes:
    return value.to_bytes(length, "big")


def _hkdf_extract(salt: bytes, ikm: bytes) -> bytes:
    return hmac.new(salt or b"\x00" * 32, ikm, hashlib.sha256).digest()


def _hkdf_expand(prk: bytes, info: bytes, length: int) -> bytes:
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        out += block
        counter += 1
    return out[:length]


def _labeled_extract(suite_id: bytes, salt: bytes, label: bytes, ikm: bytes) -> bytes:
    return _hkdf_extract(salt, b"HPKE-v1" + suite_id + label + ikm)


def _labeled_expand(suite_id: bytes, prk: bytes, label: bytes, info: bytes, length: int) -> bytes:
    return _hkdf_expand(prk, _i2osp(length, 2) + b"HPKE-v1" + suite_id + label + info, length)


_KEM_SUITE_ID = b"KEM" + _i2osp(KEM_ID_X25519, 2)


def _hpke_suite_id(aead_id: int) -> bytes:
    return b"HPKE" + _i2osp(KEM_ID_X25519, 2) + _i2osp(KDF_ID_HKDF_SHA256, 2) + _i2osp(aead_id, 2)


def derive_x25519_key_pair(ikm: bytes) -> X25519PrivateKey:
    """RFC 9180 DeriveKeyPair for DHKEM(X25519, HKDF-SHA256)."""
    dkp_prk = _labeled_extract(_KEM_SUITE_ID, b"", b"dkp_prk", ikm)
    sk = _labeled_expand(_KEM_SUITE_ID, dkp_prk, b"sk", b"", 32)
    return X25519PrivateKey.from_private_bytes(sk)


def _extract_and_expand(dh: bytes, kem_context: bytes) -> bytes:
    eae_prk = _labeled_extract(_KEM_SUITE_ID, b"", b"eae_prk", dh)
    return _labeled_expand(_KEM_SUITE_ID, eae_prk, b"shared_secret", kem_context, 32)


@dataclass
class KeySchedule:
    shared_secret: bytes
    key_schedule_context: bytes
    secret: bytes
    key: bytes
    base_nonce: bytes
    exporter_secret: bytes


def _key_schedule(shared_secret: bytes, info: bytes, aead_id: int) -> KeySchedule:
    suite_id = _hpke_suite_id(aead_id)
    psk_id_hash = _labeled_extract(suite_id, b"", b"psk_id_hash", b"")
    info_hash = _labeled_extract(suite_id, b"", b"info_hash", info)
    context = b"\x00" + psk_id_hash + info_hash
    secret = _labeled_extract(suite_id, shared_secret, b"secret", b"")
    return KeySchedule(
        shared_secret=shared_secret,
        key_schedule_context=context,
        secret=secret,
        key=_labeled_expand(suite_id, secret, b"key", context, _AEAD_NK[aead_id]),
        base_nonce=_labeled_expand(suite_id, secret, b"base_nonce", context, 12),
        exporter_secret=_labeled_expand(suite_id, secret, b"exp", context, 32),
    )


def hpke_setup_base_s(pk_r: bytes, info: bytes, sk_e: X25519PrivateKey,
                      aead_id: int = AEAD_ID_AES_256_GCM) -> tuple[bytes, KeySchedule]:
    enc = x25519_public_bytes(sk_e)
    dh = sk_e.exchange(load_x25519_public(pk_r))
    shared = _extract_and_expand(dh, enc + pk_r)
    return enc, _key_schedule(shared, info, aead_id)


def hpke_setup_base_r(enc: bytes, sk_r: X25519PrivateKey, info: bytes,
                      aead_id: int = AEAD_ID_AES_256_GCM) -> KeySchedule:
    pk_r = x25519_public_bytes(sk_r)
    dh = sk_r.exchange(load_x25519_public(enc))
    return _key_schedule(_extract_and_expand(dh, enc + pk_r), info, aead_id)


def hpke_seal_base(pk_r: bytes, info: bytes, plaintext: bytes, *, sk_e: X25519PrivateKey,
                   aad: bytes = b"", aead_id: int = AEAD_ID_AES_256_GCM) -> bytes:
    """Single-shot seal with a given ephemeral key; returns enc || ct (sequence 0)."""
    enc, ks = hpke_setup_base_s(pk_r, info, sk_e, aead_id)
    return enc + AESGCM(ks.key).encrypt(ks.base_nonce, plaintext, aad)


def hpke_open_base(sealed: bytes, sk_r: X25519PrivateKey, info: bytes, *, aad: bytes = b"",
                   aead_id: int = AEAD_ID_AES_256_GCM) -> bytes:
    enc, ct = sealed[:ENC_LEN], sealed[ENC_LEN:]
    ks = hpke_setup_base_r(enc, sk_r, info, aead_id)
    return AESGCM(ks.key).decrypt(ks.base_nonce, ct, aad)


# -- plaintext ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Document:
    name: str
    content: bytes | memoryview  # a view into the decrypted plaintext when opened without copying
    type: str = "application/octet-stream"
    sha256_hex: str = field(default="", compare=False)  # set when decoded (already verified)

    @property
    def sha256(self) -> str:
        return self.sha256_hex or hashlib.sha256(self.content).hexdigest()


@dataclass
class BidContent:
    project: str
    lot: str
    bidder: str
    price_fen: int
    terms: dict[str, str] = field(default_factory=dict)
    documents: list[Document] = field(default_factory=list)


def _check_terms(terms: object) -> dict[str, str]:
    if not isinstance(terms, dict):
        raise MalformedContent("terms must be an object of text values", key="terms_object")
    for key, value in terms.items():
        if not isinstance(key, str) or not isinstance(value, str) or not key or len(key) > 100 \
                or len(value) > 10000 or "\x00" in key or "\x00" in value:
            raise MalformedContent("terms must map short text names to text values", key="terms_text")
    return dict(terms)


MAX_DOCUMENTS = 1000
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


def _check_document_meta(name: object, type_: object) -> None:
    """What the opening stores and publishes about a document must fit its columns and be text."""
    if not isinstance(name, str) or not name or "/" in name or "\\" in name or len(name) > 200 \
            or _CONTROL_RE.search(name):
        raise MalformedContent("document names must be plain file names (1-200 characters)", key="document_name")
    if not isinstance(type_, str) or len(type_) > 100 or _CONTROL_RE.search(type_):
        raise MalformedContent("document types must be short media types", key="document_type")


def _check_price(price_fen: object) -> int:
    if isinstance(price_fen, bool) or not isinstance(price_fen, int) or not 0 < price_fen <= MAX_PRICE_FEN:
        raise MalformedContent("price_fen must be a positive integer number of fen", key="price_fen")
    return price_fen


def encode_plaintext(content: BidContent) -> bytes:
    _check_price(content.price_fen)
    terms = _check_terms(content.terms)
    docs = []
    if len(content.documents) > MAX_DOCUMENTS:
        raise MalformedContent("at most %(max_documents)s documents in one bid", key="too_many_documents",
                               max_documents=MAX_DOCUMENTS)
    for doc in content.documents:
        _check_document_meta(doc.name, doc.type or "application/octet-stream")
        docs.append({"name": doc.name, "type": doc.type or "application/octet-stream",
                     "size": len(doc.content), "sha256": hashlib.sha256(doc.content).hexdigest()})
    header = canonical_json({
        "v": 1, "project": check_ref(content.project, "project"), "lot": check_ref(content.lot, "lot"),
        "bidder": check_ref(content.bidder, "bidder"), "price_fen": content.price_fen,
        "terms": terms, "documents": docs,
    })
    return b"".join([PLAINTEXT_MAGIC, struct.pack(">I", len(header)), header,
                     *[d.content for d in content.documents]])


def decode_plaintext(data: bytes, *, copy_documents: bool = True) -> BidContent:
    """Parse and check a bid's plaintext.  copy_documents=False: the documents' `content` are
    memoryviews of `data` (the opening only hashes and measures them)."""
    if len(data) < 8 or data[:4] != PLAINTEXT_MAGIC:
        raise MalformedContent("sealed content is not a Sunlight bid (bad magic)", key="content_magic")
    (hlen,) = struct.unpack(">I", data[4:8])
    if 8 + hlen > len(data):
        raise MalformedContent("sealed content header is truncated", key="header_truncated")
    try:
        header = json.loads(data[8:8 + hlen].decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise MalformedContent("sealed content header is not JSON", key="header_json") from None
    if not isinstance(header, dict) or header.get("v") != 1:
        raise MalformedContent("sealed content header has an unknown version", key="header_version")
    for key in ("project", "lot", "bidder"):
        if not isinstance(header.get(key), str):
            raise MalformedContent("sealed content header lacks %(name)s", key="header_lacks", name=key)
    price = _check_price(header.get("price_fen"))
    terms = _check_terms(header.get("terms", {}))
    docs_meta = header.get("documents", [])
    if not isinstance(docs_meta, list) or len(docs_meta) > MAX_DOCUMENTS:
        raise MalformedContent("documents must be a list of at most %(max_documents)s", key="documents_list",
                               max_documents=MAX_DOCUMENTS)
    offset, documents, view = 8 + hlen, [], memoryview(data)
    for meta in docs_meta:
        if not isinstance(meta, dict) or not isinstance(meta.get("name"), str) \
                or not isinstance(meta.get("size"), int) or meta["size"] < 0 \
                or not isinstance(meta.get("sha256"), str):
            raise MalformedContent("bad document entry", key="document_entry")
        _check_document_meta(meta["name"], str(meta.get("type") or "application/octet-stream"))
        body = view[offset:offset + meta["size"]]
        if len(body) != meta["size"]:
            raise MalformedContent("document %(name)r is truncated", key="document_truncated", name=meta["name"])
        if hashlib.sha256(body).hexdigest() != meta["sha256"]:
            raise MalformedContent("document %(name)r does not match its digest", key="document_digest",
                                   name=meta["name"])
        documents.append(Document(name=meta["name"], content=bytes(body) if copy_documents else body,
                                  sha256_hex=meta["sha256"],
                                  type=str(meta.get("type") or "application/octet-stream")))
        offset += meta["size"]
    if offset != len(data):
        raise MalformedContent("trailing bytes after the documents", key="trailing_bytes")
    return BidContent(project=header["project"], lot=header["lot"], bidder=header["bidder"],
                      price_fen=price, terms=terms, documents=documents)


# -- sealing and opening ------------------------------------------------------------------

@dataclass(frozen=True)
class SealedEnvelope:
    envelope: bytes
    digest: bytes
    signature: bytes
    signer_public_key: bytes
    project: str
    lot: str
    bidder: str

    def to_json(self) -> dict[str, str]:
        """The transport form shared by the CLI, the browser and the API."""
        return {"format": FORMAT, "project": self.project, "lot": self.lot, "bidder": self.bidder,
                "envelope": b64e(self.envelope), "digest": self.digest.hex(),
                "signature": keys.encode(self.signature), "public_key": keys.encode(self.signer_public_key)}


def seal(*, lot_public_key: bytes, project: object, lot: object, bidder: object, price_fen: int,
         terms: dict[str, str] | None = None,
         documents: list[Document] | None = None, signing_key: Ed25519PrivateKey,
         ephemeral_key: X25519PrivateKey | None = None) -> SealedEnvelope:
    """Seal a bid on the bidder's machine. `ephemeral_key` only for deterministic tests."""
    info = binding_info(project, lot, bidder)
    plaintext = encode_plaintext(BidContent(project=str(project), lot=str(lot), bidder=str(bidder),
                                            price_fen=price_fen, terms=terms or {},
                                            documents=list(documents or [])))
    if ephemeral_key is None:
        sealed = SUITE.encrypt(plaintext, load_x25519_public(lot_public_key), info=info)
    else:
        sealed = hpke_seal_base(lot_public_key, info, plaintext, sk_e=ephemeral_key)
    envelope = ENVELOPE_MAGIC + sealed
    digest = envelope_digest(envelope)
    signature = signing_key.sign(signature_message(info, digest))
    return SealedEnvelope(envelope=envelope, digest=digest, signature=signature,
                          signer_public_key=ed25519_public_bytes(signing_key),
                          project=str(project), lot=str(lot), bidder=str(bidder))


def check_envelope(envelope: bytes, *, max_bytes: int = DEFAULT_MAX_ENVELOPE_BYTES) -> bytes:
    """Structural check the server can do without the key. Returns the digest."""
    if not isinstance(envelope, (bytes, bytearray, memoryview)):
        raise MalformedEnvelope("envelope must be bytes", key="envelope_bytes")
    if len(envelope) > max_bytes:
        raise EnvelopeTooLarge("envelope is %(size)s bytes, the limit is %(max_bytes)s", key="too_large_bytes",
                               size=len(envelope), max_bytes=max_bytes)
    if len(envelope) < len(ENVELOPE_MAGIC) + ENC_LEN + TAG_LEN + 8 or envelope[:4] != ENVELOPE_MAGIC:
        raise MalformedEnvelope("not a Sunlight envelope (bad magic or too short)", key="envelope_magic")
    return envelope_digest(envelope)


def verify_signature(*, public_key: bytes, info: bytes, digest: bytes, signature: bytes) -> None:
    try:
        load_ed25519_public(public_key).verify(signature, signature_message(info, digest))
    except (InvalidSignature, ValueError):
        raise BadSignature("the envelope signature does not verify with the bidder's registered key",
                           key="signature_verify") \
            from None


def open_envelope(*, envelope: bytes, private_key: X25519PrivateKey, project: object, lot: object, bidder: object,
                  signature: bytes | None = None, signer_public_key: bytes | None = None,
                  max_bytes: int = DEFAULT_MAX_ENVELOPE_BYTES) -> BidContent:
    """Verify (optionally) the signature, decrypt with the binding, parse and cross-check."""
    digest = check_envelope(envelope, max_bytes=max_bytes)
    info = binding_info(project, lot, bidder)
    if signature is not None:
        verify_signature(public_key=signer_public_key or b"", info=info, digest=digest,
                         signature=signature)
    try:
        plaintext = SUITE.decrypt(bytes(envelope[4:]), private_key, info=info)
    except (InvalidTag, ValueError) as exc:
        raise DecryptionFailed("the envelope does not decrypt with this lot's opening key and binding",
                               key="decrypt") from exc
    content = decode_plaintext(plaintext)
    if (content.project, content.lot, content.bidder) != (str(project), str(lot), str(bidder)):
        raise BindingMismatch("the sealed bid names a different project, lot or bidder", key="binding")
    return content


def open_envelope_keyed(*, envelope: bytes, private_key: X25519PrivateKey, project: object, lot: object,
                        bidder: object,
                        signature: bytes, signer_public_key: bytes, expected_digest: str | None = None,
                        max_bytes: int = DEFAULT_MAX_ENVELOPE_BYTES) -> tuple[BidContent, bytes]:
    """Like open_envelope, and also returns the envelope's own content key (AEAD key || base nonce).

    Used at the opening: the content key opens this one envelope only, so it may be kept after the
    opening (the lot's key is wiped) to read the bid documents later straight from the stored
    ciphertext, instead of storing them a second time in clear.  The key schedule is the RFC 9180
    one checked against the appendix A.1 known answers and against the library's Suite.
    """
    return EnvelopeOpener(private_key, max_bytes=max_bytes).open(
        envelope=envelope, project=project, lot=lot, bidder=bidder, signature=signature,
        signer_public_key=signer_public_key, expected_digest=expected_digest)


class EnvelopeOpener:
    """Opens the many envelopes sealed to one opening key (the ceremony's inner loop).

    The checks of `open_envelope` plus the stored digest, and the content key (`open_envelope_keyed`
    is this for one envelope); what does not depend on the envelope is derived once: the
    recipient's public key (a scalar multiplication), the suite constants and the empty-PSK
    hash; the per-bidder `info` hash is cached.  The RFC 9180 key schedule runs
    with one-shot HMACs (every output here fits in one HKDF-Expand block) and skips the exporter
    secret nobody uses.  Checked against the reference schedule (RFC 9180 A.1 known answers)
    and the library's Suite in the tests.
    """

    _SUITE_ID = _hpke_suite_id(AEAD_ID_AES_256_GCM)
    _LABEL = b"HPKE-v1"
    _ZERO = b"\x00" * 32

    def __init__(self, private_key: X25519PrivateKey, *, max_bytes: int | None = DEFAULT_MAX_ENVELOPE_BYTES):
        self._sk: X25519PrivateKey | None = private_key
        self._pk = x25519_public_bytes(private_key)
        self.max_bytes = max_bytes
        sid, lab = self._SUITE_ID, self._LABEL
        self._eae_prefix = lab + _KEM_SUITE_ID + b"eae_prk"
        self._shared_info = _i2osp(32, 2) + lab + _KEM_SUITE_ID + b"shared_secret"
        self._info_prefix = lab + sid + b"info_hash"
        self._secret_msg = lab + sid + b"secret"
        psk_id_hash = hmac.digest(self._ZERO, lab + sid + b"psk_id_hash", "sha256")
        self._context_prefix = b"\x00" + psk_id_hash
        self._key_label = _i2osp(32, 2) + lab + sid + b"key"
        self._nonce_label = _i2osp(12, 2) + lab + sid + b"base_nonce"
        self._contexts: dict[bytes, bytes] = {}

    def close(self) -> None:
        """Forget the key (the caller drops its own reference too)."""
        self._sk = None

    def content_key(self, enc: bytes, info: bytes) -> tuple[bytes, bytes]:
        """(AEAD key, base nonce) of the envelope whose encapsulated key is `enc`."""
        if self._sk is None:
            raise DecryptionFailed("this opener was closed: its key is forgotten", key="opener_closed")
        dh = self._sk.exchange(X25519PublicKey.from_public_bytes(enc))
        eae_prk = hmac.digest(self._ZERO, self._eae_prefix + dh, "sha256")
        shared = hmac.digest(eae_prk, self._shared_info + enc + self._pk + b"\x01", "sha256")
        context = self._contexts.get(info)
        if context is None:
            context = self._context_prefix + hmac.digest(self._ZERO, self._info_prefix + info, "sha256")
            self._contexts[info] = context
        secret = hmac.digest(shared, self._secret_msg, "sha256")
        key = hmac.digest(secret, self._key_label + context + b"\x01", "sha256")
        nonce = hmac.digest(secret, self._nonce_label + context + b"\x01", "sha256")[:12]
        return key, nonce

    def open(self, *, envelope: bytes, project: object, lot: object, bidder: object, signature: bytes,
             signer_public_key: bytes,
             expected_digest: str | None = None, copy_documents: bool = True) -> tuple[BidContent, bytes]:
        """Digest (against the accepted one), signature, decryption with the binding, content and
        its binding: returns (content, content key = AEAD key || base nonce)."""
        limit = len(envelope) if self.max_bytes is None else self.max_bytes  # None: checked on submission
        digest = check_envelope(envelope, max_bytes=limit)
        if expected_digest is not None and digest.hex() != expected_digest:
            raise StoredDigestMismatch("the stored envelope no longer matches its accepted digest", key="stored_digest")
        info = binding_info(project, lot, bidder)
        verify_signature(public_key=signer_public_key, info=info, digest=digest, signature=signature)
        body = memoryview(envelope)[4:]
        try:
            key, nonce = self.content_key(bytes(body[:ENC_LEN]), info)
            plaintext = AESGCM(key).decrypt(nonce, body[ENC_LEN:], b"")
        except (InvalidTag, ValueError) as exc:
            raise DecryptionFailed("the envelope does not decrypt with this lot's opening key and binding",
                                   key="decrypt") from exc
        content = decode_plaintext(plaintext, copy_documents=copy_documents)
        if (content.project, content.lot, content.bidder) != (str(project), str(lot), str(bidder)):
            raise BindingMismatch("the sealed bid names a different project, lot or bidder", key="binding")
        return content, key + nonce


def decrypt_with_content_key(envelope: bytes, content_key: bytes) -> BidContent:
    """Read an already opened envelope again with its content key (see open_envelope_keyed)."""
    if len(content_key) != 32 + 12:
        raise MalformedEnvelope("a content key is 44 bytes", key="content_key_size")
    body = memoryview(envelope)[4 + ENC_LEN:]
    try:
        return decode_plaintext(AESGCM(content_key[:32]).decrypt(content_key[32:], body, b""))
    except InvalidTag:
        raise DecryptionFailed("the content key does not open this envelope", key="content_key") from None


def parse_transport(data: object, *, max_bytes: int = DEFAULT_MAX_ENVELOPE_BYTES) -> tuple[bytes, bytes]:
    """Parse the JSON transport form; returns (envelope, signature)."""
    if not isinstance(data, dict):
        raise MalformedEnvelope("expected a JSON object", key="transport_object")
    if data.get("format") not in (None, FORMAT):
        raise MalformedEnvelope("unknown envelope format %(format)r", key="transport_format", format=data.get("format"))
    text = data.get("envelope")
    if not isinstance(text, str):
        raise MalformedEnvelope("envelope (base64) is required", key="transport_envelope")
    if len(text) > (max_bytes // 3 + 2) * 4:
        raise EnvelopeTooLarge("envelope is larger than the limit of %(max_bytes)s bytes", key="too_large",
                               max_bytes=max_bytes)
    envelope = b64d(text, what="envelope")
    try:
        signature = keys.decode(data.get("signature"), field="signature", size=keys.SIGNATURE_BYTES)
    except Invalid as exc:
        raise BadSignature(exc.untranslated, key="signature_format", cause=exc) from None
    check_envelope(envelope, max_bytes=max_bytes)
    if "digest" in data and data["digest"] != envelope_digest(envelope).hex():
        raise MalformedEnvelope("the stated digest does not match the envelope", key="transport_digest")
    return envelope, signature


# -- receipts (platform-signed) ---------------------------------------------------------

def receipt_message(receipt: dict[str, Any]) -> bytes:
    return b"sunlight/receipt/v1\x00" + canonical_json(receipt)


def sign_receipt(key: Ed25519PrivateKey, receipt: dict[str, Any]) -> bytes:
    return key.sign(receipt_message(receipt))


def verify_receipt(public_key: bytes, receipt: dict[str, Any], signature: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, receipt_message(receipt))
        return True
    except (InvalidSignature, ValueError):
        return False


# -- Merkle root over envelope digests (RFC 6962 hashing) -----------------------------------

def merkle_root(leaves: list[bytes]) -> bytes:
    """RFC 6962 Merkle Tree Hash of the given leaf data (here: envelope digests, sorted)."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    nodes = [hashlib.sha256(b"\x00" + leaf).digest() for leaf in leaves]

    def mth(items: list[bytes]) -> bytes:
        if len(items) == 1:
            return items[0]
        split = 1
        while split * 2 < len(items):
            split *= 2
        return hashlib.sha256(b"\x01" + mth(items[:split]) + mth(items[split:])).digest()

    return mth(nodes)


# -- custody keys: custodian X25519 key pairs wrapped by a passphrase, shares sealed to them --

CUSTODY_WRAP_MAGIC = b"SLK1"
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1


class CustodyError(CodedError):
    """A custody key or share refused (codes: bidding/envelopes/messages.py)."""

    code = "custody"


def _passphrase_key(passphrase: str, salt: bytes) -> bytes:
    if not isinstance(passphrase, str) or len(passphrase) < 8:
        raise CustodyError("the custody passphrase must have at least 8 characters", code="custody_passphrase_short",
                           field="passphrase")
    return Scrypt(salt=salt, length=32, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P).derive(passphrase.encode())


def wrap_private_key(private_key: X25519PrivateKey, passphrase: str, *, label: bytes = b"") -> bytes:
    salt, nonce = os.urandom(16), os.urandom(12)
    key = _passphrase_key(passphrase, salt)
    raw = x25519_private_bytes(private_key)
    return CUSTODY_WRAP_MAGIC + salt + nonce + AESGCM(key).encrypt(nonce, raw, b"sunlight/custody/" + label)


def unwrap_private_key(blob: bytes, passphrase: str, *, label: bytes = b"") -> X25519PrivateKey:
    if len(blob) != 4 + 16 + 12 + 32 + 16 or blob[:4] != CUSTODY_WRAP_MAGIC:
        raise CustodyError("stored custody key is malformed", code="custody_key_malformed")
    salt, nonce, ct = blob[4:20], blob[20:32], blob[32:]
    try:
        raw = AESGCM(_passphrase_key(passphrase, salt)).decrypt(nonce, ct, b"sunlight/custody/" + label)
    except InvalidTag:
        raise CustodyError("wrong custody passphrase", code="custody_wrong_passphrase", field="passphrase") from None
    return X25519PrivateKey.from_private_bytes(raw)


def share_info(context: str, custodian: object) -> bytes:
    return f"sunlight/custody-share/v1\x00{context}\x00custodian={custodian}".encode()


def seal_share(custodian_public_key: bytes, share_text: str, *, context: str, custodian: object) -> bytes:
    return SUITE.encrypt(share_text.encode("ascii"), load_x25519_public(custodian_public_key),
                         info=share_info(context, custodian))


def open_share(sealed: bytes, private_key: X25519PrivateKey, *, context: str, custodian: object) -> str:
    try:
        return SUITE.decrypt(sealed, private_key, info=share_info(context, custodian)).decode("ascii")
    except (InvalidTag, ValueError, UnicodeDecodeError):
        raise CustodyError("this custody share does not decrypt with the custodian's key", code="custody_share_decrypt") \
            from None


def parse_price(text: str) -> int:
    """"1234.56" -> 123456 fen by the platform's one money parser (trading.money: no sign, no exponent, at
    most two decimals), then the envelope's own bound (a positive price, a safe integer in JavaScript)."""
    try:
        if not isinstance(text, str):
            raise Invalid(_("not text"))
        fen = parse_money(text, field="price")
    except Invalid:
        raise MalformedContent("price must look like 1234.56 (yuan, at most two decimals)", key="price_text") from None
    return _check_price(fen)


format_price = format_fen
