"""What the sealed-envelope crypto, the custody keys and the key splitting say to people, translatable.

The pure modules (bidding/envelopes/envelope.py, shamir.py) refuse with a stable code (the envelope's ``key``)
and the values as data, in English for logs and the command-line tools (``sunlight-bid``, English by design);
the services answer with these messages (``trading.errors.translated``), in the request's language. Never a
secret in them: no key, share, passphrase or sealed content.
"""
from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

# EnvelopeError.key → message (envelope.py)
ENVELOPE: dict[str, Any] = {
    "base64_text": _("%(what)s must be base64 text"),
    "base64": _("%(what)s is not valid base64"),
    "reference": _("%(what)s reference must be 1-64 characters of A-Z a-z 0-9 . _ / -"),
    "x25519_size": _("an X25519 public key is 32 bytes"),
    "ed25519_size": _("an Ed25519 public key is 32 bytes"),
    "terms_object": _("terms must be an object of text values"),
    "terms_text": _("terms must map short text names to text values"),
    "document_name": _("document names must be plain file names (1-200 characters)"),
    "document_type": _("document types must be short media types"),
    "price_fen": _("price_fen must be a positive integer number of fen"),
    "too_many_documents": _("at most %(max_documents)s documents in one bid"),
    "content_magic": _("sealed content is not a Sunlight bid (bad magic)"),
    "header_truncated": _("sealed content header is truncated"),
    "header_json": _("sealed content header is not JSON"),
    "header_version": _("sealed content header has an unknown version"),
    "header_lacks": _("sealed content header lacks %(name)s"),
    "documents_list": _("documents must be a list of at most %(max_documents)s"),
    "document_entry": _("bad document entry"),
    "document_truncated": _("document %(name)r is truncated"),
    "document_digest": _("document %(name)r does not match its digest"),
    "trailing_bytes": _("trailing bytes after the documents"),
    "envelope_bytes": _("envelope must be bytes"),
    "too_large_bytes": _("envelope is %(size)s bytes, the limit is %(max_bytes)s"),
    "envelope_magic": _("not a Sunlight envelope (bad magic or too short)"),
    "signature_verify": _("the envelope signature does not verify with the bidder's registered key"),
    "decrypt": _("the envelope does not decrypt with this lot's opening key and binding"),
    "binding": _("the sealed bid names a different project, lot or bidder"),
    "opener_closed": _("this opener was closed: its key is forgotten"),
    "stored_digest": _("the stored envelope no longer matches its accepted digest"),
    "content_key_size": _("a content key is 44 bytes"),
    "content_key": _("the content key does not open this envelope"),
    "transport_object": _("expected a JSON object"),
    "transport_format": _("unknown envelope format %(format)r"),
    "transport_envelope": _("envelope (base64) is required"),
    "too_large": _("envelope is larger than the limit of %(max_bytes)s bytes"),
    "transport_digest": _("the stated digest does not match the envelope"),
    "price_text": _("price must look like 1234.56 (yuan, at most two decimals)"),
}

# CustodyError.code → message (envelope.py: custody keys wrapped by a passphrase, shares sealed to them)
CUSTODY: dict[str, Any] = {
    "custody_passphrase_short": _("the custody passphrase must have at least 8 characters"),
    "custody_key_malformed": _("stored custody key is malformed"),
    "custody_wrong_passphrase": _("wrong custody passphrase"),
    "custody_share_decrypt": _("this custody share does not decrypt with the custodian's key"),
}

# ShamirError.code → message (shamir.py: the opening key split k-of-n among the custodians)
SHAMIR: dict[str, Any] = {
    "k_n_integers": _("k and n must be integers"),
    "k_n_range": _("need 1 <= k <= n, got k=%(k)s, n=%(n)s"),
    "n_field": _("n must be smaller than the field size"),
    "secret_range": _("secret out of field range"),
    "duplicate_x": _("duplicate share x-coordinates"),
    "zero_x": _("share x-coordinate must be non-zero"),
    "no_shares": _("no shares given"),
    "k_disagree": _("shares disagree on k"),
    "contexts_differ": _("shares belong to different contexts"),
    "duplicate_share": _("duplicate share"),
    "too_few": _("%(given)s share(s) given, %(k)s needed"),
    "secret_size": _("secret must be %(size)s bytes"),
    "no_key": _("shares do not rebuild a valid key"),
    "context_chars": _("share context must be 1-64 characters of A-Z a-z 0-9 . _ -"),
    "share_text": _("share must be text"),
    "share_prefix": _("not a Sunlight custody share (expected sunlight-share:v1:...)"),
    "share_numbers": _("malformed custody share numbers"),
    "share_range": _("custody share values out of range"),
}


# Why an envelope could not be opened (outcomes.BIDDER_FAULT / PLATFORM_FAULT, the opened bid's failure_code),
# and what art. 31 makes of it: the opening record's text on the pages, in the page's language.
OPENING_FAILURE: dict[str, Any] = {
    "decryption_failed": _("the envelope does not decrypt with the lot's opening key (sealed to a wrong key or binding)"),
    "malformed_content": _("the sealed content is not a well-formed Sunlight bid"),
    "binding_mismatch": _("the sealed content names another project, lot or bidder"),
    "malformed_envelope": _("the envelope is not a well-formed Sunlight envelope"),
    "stored_digest_mismatch": _("the stored envelope no longer matches the digest accepted on submission"),
    "bad_signature": _("the signature accepted on submission no longer verifies (stored record altered)"),
    "envelope_too_large": _("the stored envelope exceeds the limit"),
}
OPENING_LAW = {
    "revoked": _("treated as revoked (art. 31: the bidder is at fault)"),
    "withdrawn": _("treated as withdrawn (art. 31: not the bidder's fault)"),
}


def opening_failure(code: str) -> str:
    """The opening record's reason for an envelope that could not be opened, in the active language."""
    from bidding.envelopes import outcomes

    base = OPENING_FAILURE.get(code, _("the envelope could not be opened"))
    return f"{base}; {OPENING_LAW[outcomes.outcome_for(code)]}"
