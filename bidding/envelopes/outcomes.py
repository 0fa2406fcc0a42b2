"""Art. 31 (电子招标投标办法 第三十一条) outcomes for envelopes that cannot be opened. Pure.

"因投标人原因造成投标文件未解密的，视为撤销其投标文件；因投标人之外的原因造成投标文件未解密的，
视为撤回其投标文件" — and the opening goes on for the others.

The platform verified the bidder's signature over the envelope digest when it accepted it,
so what the bidder signed is exactly what was stored.  At the opening:
- the stored bytes no longer match the accepted digest, or the accepted signature no longer
  verifies: the platform's storage is at fault → withdrawn (撤回, security refunded);
- the (intact, signed) envelope does not decrypt with the lot's key and binding, or its
  content is malformed or names another lot/bidder: the bidder sealed it wrongly → revoked (撤销).
"""
from __future__ import annotations

VALID, REVOKED, WITHDRAWN = "valid", "revoked", "withdrawn"

BIDDER_FAULT = {
    "decryption_failed": "the envelope does not decrypt with the lot's opening key (sealed to a wrong key or binding)",
    "malformed_content": "the sealed content is not a well-formed Sunlight bid",
    "binding_mismatch": "the sealed content names another project, lot or bidder",
    "malformed_envelope": "the envelope is not a well-formed Sunlight envelope",
}
PLATFORM_FAULT = {
    "stored_digest_mismatch": "the stored envelope no longer matches the digest accepted on submission",
    "bad_signature": "the signature accepted on submission no longer verifies (stored record altered)",
    "envelope_too_large": "the stored envelope exceeds the limit",
}


def outcome_for(code: str) -> str:
    if code in BIDDER_FAULT:
        return REVOKED
    if code in PLATFORM_FAULT:
        return WITHDRAWN
    return WITHDRAWN  # unknown cause: not attributable to the bidder


def explain(code: str, detail: str = "") -> str:
    base = BIDDER_FAULT.get(code) or PLATFORM_FAULT.get(code) or "the envelope could not be opened"
    law = "视为撤销 (art. 31: bidder at fault)" if outcome_for(code) == REVOKED else "视为撤回 (art. 31: not the bidder's fault)"
    return f"{base}; {law}" + (f" — {detail}" if detail and detail not in base else "")
