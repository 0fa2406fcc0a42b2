"""The command-line sealing tool, end to end on files (no server)."""
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from bidding.envelopes import cli, envelope as E


def test_keygen_seal_open(tmp_path, capsys):
    key_file = tmp_path / "k.json"
    assert cli.main(["keygen", "--out", str(key_file)]) == 0
    public = capsys.readouterr().out.strip()
    assert len(bytes.fromhex(public)) == 32 and public == public.lower()
    assert cli.main(["keygen", "--out", str(key_file)]) == 2  # never overwrites a key
    doc = tmp_path / "offer.pdf"
    doc.write_bytes(b"%PDF-1.4 our offer")
    lot = X25519PrivateKey.generate()
    out = tmp_path / "env.json"
    assert cli.main(["seal", "--lot-key", E.x25519_public_bytes(lot).hex(), "--project", "P-1",
                     "--lot", "L-2", "--bidder", "B-3", "--price", "98765.40", "--term", "工期=180天",
                     "--doc", str(doc), "--key", str(key_file), "--out", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["format"] == E.FORMAT and data["public_key"] == public
    env, sig = E.parse_transport(data)
    content = E.open_envelope(envelope=env, private_key=lot, project="P-1", lot="L-2", bidder="B-3",
                              signature=sig, signer_public_key=bytes.fromhex(public))
    assert content.price_fen == 9876540
    assert content.terms == {"工期": "180天"}
    assert content.documents[0].content == b"%PDF-1.4 our offer"
    assert content.documents[0].type == "application/pdf"


@pytest.mark.parametrize("price", ["1,000", "-5", "1.234", "1e5", "", "0"])
def test_seal_refuses_bad_price(tmp_path, price, capsys):
    key_file = tmp_path / "k.json"
    cli.write_key(key_file, Ed25519PrivateKey.generate())
    lot = E.x25519_public_bytes(X25519PrivateKey.generate()).hex()
    assert cli.main(["seal", "--lot-key", lot, "--project", "P", "--lot", "L", "--bidder", "B",
                     "--price", price, "--key", str(key_file)]) == 2
    assert "price" in capsys.readouterr().err


def test_verify_receipt(tmp_path):
    key = Ed25519PrivateKey.generate()
    receipt = {"lot": "L", "digest": "00" * 32}
    path = tmp_path / "r.json"
    path.write_text(json.dumps({"receipt": receipt, "signature": E.sign_receipt(key, receipt).hex()}))
    pub = E.ed25519_public_bytes(key).hex()
    assert cli.main(["verify-receipt", "--receipt", str(path), "--platform-key", pub]) == 0
    path.write_text(json.dumps({"receipt": {**receipt, "lot": "X"},
                                "signature": E.sign_receipt(key, receipt).hex()}))
    assert cli.main(["verify-receipt", "--receipt", str(path), "--platform-key", pub]) == 1


@pytest.mark.parametrize("text,fen", [("0.01", 1), ("1", 100), ("1234.5", 123450), ("1234.56", 123456)])
def test_parse_price(text, fen):
    assert E.parse_price(text) == fen
    assert E.parse_price(E.format_price(fen)) == fen


def test_old_base64_keys_are_refused_naming_hex(tmp_path, capsys):
    key_file = tmp_path / "k.json"
    cli.write_key(key_file, Ed25519PrivateKey.generate())
    lot = E.b64e(E.x25519_public_bytes(X25519PrivateKey.generate()))
    assert cli.main(["seal", "--lot-key", lot, "--project", "P", "--lot", "L", "--bidder", "B",
                     "--price", "1.00", "--key", str(key_file)]) == 2
    assert "--lot-key: base64 is not accepted; expected 64 lowercase hexadecimal characters (32 bytes)" in (
        capsys.readouterr().err)
    key = Ed25519PrivateKey.generate()
    receipt = {"lot": "L", "digest": "00" * 32}
    path = tmp_path / "r.json"
    path.write_text(json.dumps({"receipt": receipt, "signature": E.b64e(E.sign_receipt(key, receipt))}))
    pub = E.ed25519_public_bytes(key).hex()
    assert cli.main(["verify-receipt", "--receipt", str(path), "--platform-key", pub]) == 1
    assert "base64 is not accepted" in capsys.readouterr().out


def test_a_key_file_of_an_earlier_version_is_still_read(tmp_path, capsys):
    key = Ed25519PrivateKey.generate()
    key_file = tmp_path / "old.json"
    key_file.write_text(json.dumps({"kind": cli.KEY_KIND, "private": E.b64e(E.ed25519_private_bytes(key)),
                                    "public": E.b64e(E.ed25519_public_bytes(key))}))
    assert E.ed25519_public_bytes(cli.read_key(key_file)) == E.ed25519_public_bytes(key)
    cli.write_key(tmp_path / "new.json", key)
    written = json.loads((tmp_path / "new.json").read_text())
    assert written["public"] == E.ed25519_public_bytes(key).hex()
    assert written["private"] == E.ed25519_private_bytes(key).hex()
