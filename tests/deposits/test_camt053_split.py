"""camt.053 parser split along its rules (header, balances, entries, amounts, booking, reference, parties):
a differential test against the parser as it was before the split (kept below verbatim, the oracle) on
generated statements and on generated damage to them. Both answer the same statement, or refuse with the
same message and line."""
from __future__ import annotations

import re
from datetime import date

from hypothesis import given, settings, strategies as st

from deposits import statements as S
from tests.deposits.test_statements import CAMT, line_st


# The parser before the split (complexity 22), frozen as the oracle; only names qualified with ``S.``, and its
# refusals in the coded form (issue 13: a code and the values as data, amounts in the one money format).
def old_parse_camt053(data: bytes, *, max_bytes: int = S.MAX_BYTES, max_lines: int = S.MAX_LINES) -> S.Statement:
    root = S.safe_xml(data, max_bytes=max_bytes)
    if root.tag != "Document":
        raise S.StatementError("not an ISO 20022 document (root element %(tag)s)", code="camt_root", tag=root.tag)
    body = root.find("BkToCstmrStmt")
    if body is None:
        raise S.StatementError("not a camt.053 statement: BkToCstmrStmt is missing", code="camt_body")
    stmts = body.findall("Stmt")
    if len(stmts) != 1:
        raise S.StatementError("expected exactly one Stmt, found %(count)s", code="camt_stmts", count=len(stmts))
    stmt = stmts[0]
    account = stmt.text_at("Acct/Id/IBAN") or stmt.text_at("Acct/Id/Othr/Id")
    currency = S.normalise_currency(stmt.text_at("Acct/Ccy")) if stmt.text_at("Acct/Ccy") else S.CURRENCY
    opening = closing = None
    for bal in stmt.findall("Bal"):
        code = bal.text_at("Tp/CdOrPrtry/Cd")
        amount, _ = S._camt_amount(bal.find("Amt"), bal.line)
        if bal.text_at("CdtDbtInd") == "DBIT":
            amount = -amount
        if code in ("OPBD", "PRCD"):
            opening = amount
        elif code in ("CLBD",):
            closing = amount
    lines: list[S.StatementLine] = []
    seen: set[str] = set()
    for ntry in stmt.findall("Ntry"):
        status = ntry.text_at("Sts/Cd") or ntry.text_at("Sts")
        if status and status not in ("BOOK",):
            continue  # pending / information entries are not booked money
        if len(lines) >= max_lines:
            raise S.StatementError("statement has more than %(max_lines)s entries", code="too_many_entries",
                                   max_lines=max_lines)
        where = ntry.line
        amount, ccy = S._camt_amount(ntry.find("Amt"), where)
        if amount == 0:
            raise S.StatementError("the amount is zero", code="zero", line=where)
        ind = ntry.text_at("CdtDbtInd")
        if ind not in ("CRDT", "DBIT"):
            raise S.StatementError("CdtDbtInd must be CRDT or DBIT, not %(flag)r", code="camt_flag", line=where, flag=ind)
        if ntry.text_at("RvslInd").lower() == "true":
            raise S.StatementError("reversal entries (RvslInd) are not accepted; the bank must book a new entry",
                                   code="camt_reversal", line=where)
        direction = S.CREDIT if ind == "CRDT" else S.DEBIT
        booked = ntry.text_at("BookgDt/DtTm") or ntry.text_at("BookgDt/Dt") or ntry.text_at("ValDt/Dt")
        if not booked:
            raise S.StatementError("booking date (BookgDt) is missing", code="camt_date", line=where)
        booked_at = S.parse_datetime(booked, line=where, required=False) if "T" in booked else None
        if booked_at is not None and booked_at.tzinfo is not None:
            from datetime import timedelta, timezone
            booked_at = booked_at.astimezone(timezone(timedelta(hours=8))).replace(tzinfo=None)
        booked_on = booked_at.date() if booked_at else S.parse_date(booked, line=where)
        tx = ntry.find("NtryDtls/TxDtls")
        txn = ntry.text_at("AcctSvcrRef") or (tx.text_at("Refs/AcctSvcrRef") if tx else "") or (
            tx.text_at("Refs/TxId") if tx else "") or (tx.text_at("Refs/EndToEndId") if tx else "")
        if not txn or txn == "NOTPROVIDED":
            raise S.StatementError("the bank's transaction reference (AcctSvcrRef) is missing", code="camt_txn_missing",
                                   line=where)
        if len(txn) > 64:
            raise S.StatementError("the transaction reference is longer than 64 characters", code="camt_txn_long",
                                   line=where)
        if txn in seen:
            raise S.StatementError("transaction reference %(txn)s appears twice", code="camt_txn_twice", line=where,
                                   txn=txn)
        seen.add(txn)
        parties = tx.find("RltdPties") if tx else None
        if direction == S.CREDIT:
            cp_name = S._party_name(parties.find("Dbtr") if parties else None)
            cp_acct = S._party_account(parties.find("DbtrAcct") if parties else None)
            sub = S._party_account(parties.find("CdtrAcct") if parties else None)
        else:
            cp_name = S._party_name(parties.find("Cdtr") if parties else None)
            cp_acct = S._party_account(parties.find("CdtrAcct") if parties else None)
            sub = S._party_account(parties.find("DbtrAcct") if parties else None)
        remark = " ".join(n.text.strip() for n in (tx.find("RmtInf").findall("Ustrd") if tx and tx.find("RmtInf") else []))  # type: ignore[union-attr]
        remark = remark or ntry.text_at("AddtlNtryInf")
        bank_name = ""
        if tx and tx.find("RltdAgts"):
            agent = "DbtrAgt" if direction == S.CREDIT else "CdtrAgt"
            bank_name = tx.text_at(f"RltdAgts/{agent}/FinInstnId/Nm")
        lines.append(S.StatementLine(
            line_no=where, bank_txn_id=txn, direction=direction, amount_fen=amount, booked_on=booked_on,
            booked_at=booked_at, currency=ccy, counterparty_account=cp_acct, counterparty_name=cp_name,
            counterparty_bank=bank_name, sub_account=sub, remark=remark,
        ))
    if opening is not None and closing is not None and opening + sum(ln.signed_fen for ln in lines) != closing:
        raise S.StatementError("the statement does not add up: opening %(opening)s + entries != closing %(closing)s",
                               code="camt_sum", opening_fen=opening, closing_fen=closing)
    return S.Statement(format="camt053", account=account, currency=currency, statement_id=stmt.text_at("Id"),
                     opening_balance_fen=opening, closing_balance_fen=closing, lines=tuple(lines))


# Damage done to a generated statement: (pattern, replacement), applied to the first match or to every one.
DAMAGE = [
    (rb"<CdtDbtInd>CRDT</CdtDbtInd>", b"<CdtDbtInd>CRDX</CdtDbtInd>"),
    (rb"<CdtDbtInd>DBIT</CdtDbtInd>", b"<CdtDbtInd></CdtDbtInd>"),
    (rb"<CdtDbtInd>CRDT</CdtDbtInd><Sts>", b"<CdtDbtInd>CRDT</CdtDbtInd><RvslInd>TRUE</RvslInd><Sts>"),
    (rb"<Sts><Cd>BOOK</Cd></Sts>", b"<Sts><Cd>PDNG</Cd></Sts>"),
    (rb"<Sts><Cd>BOOK</Cd></Sts>", b"<Sts>INFO</Sts>"),
    (rb"<Sts><Cd>BOOK</Cd></Sts>", b"<Sts>BOOK</Sts>"),
    (rb"<Sts><Cd>BOOK</Cd></Sts>", b""),
    (rb"<AcctSvcrRef>[^<]*</AcctSvcrRef>", b"<AcctSvcrRef>NOTPROVIDED</AcctSvcrRef>"),
    (rb"<AcctSvcrRef>[^<]*</AcctSvcrRef>", b"<AcctSvcrRef>DUP</AcctSvcrRef>"),
    (rb"<AcctSvcrRef>[^<]*</AcctSvcrRef>", b""),
    (rb"<AcctSvcrRef>", b"<AcctSvcrRef>" + b"R" * 60),
    (rb"<NtryDtls><TxDtls>", b"<NtryDtls><TxDtls><Refs><AcctSvcrRef>TXREF</AcctSvcrRef></Refs>"),
    (rb"<NtryDtls><TxDtls>", b"<NtryDtls><TxDtls><Refs><TxId>T1</TxId></Refs>"),
    (rb"<NtryDtls><TxDtls>", b"<NtryDtls><TxDtls><Refs><EndToEndId>E2E</EndToEndId></Refs>"),
    (rb"<NtryDtls>.*?</NtryDtls>", b""),
    (rb"<RltdPties>.*?</RltdPties>", b""),
    (rb"<RmtInf>.*?</RmtInf>", b""),
    (rb"<RmtInf><Ustrd>", b"<RmtInf><Ustrd>a</Ustrd><Ustrd> b "),
    (rb"</TxDtls>", b"<RltdAgts><DbtrAgt><FinInstnId><Nm>ICBC</Nm></FinInstnId></DbtrAgt>"
                    b"<CdtrAgt><FinInstnId><Nm>CCB</Nm></FinInstnId></CdtrAgt></RltdAgts></TxDtls>"),
    (rb"<Dbtr><Nm>[^<]*</Nm></Dbtr>", b"<Dbtr><Pty><Nm>P</Nm></Pty></Dbtr>"),
    (rb"<Cdtr><Nm>[^<]*</Nm></Cdtr>", b"<Cdtr><Pty><Nm>Q</Nm></Pty></Cdtr>"),
    (rb"<Othr><Id>[^<]*</Id></Othr>", b"<IBAN>CN12 3456</IBAN>"),
    (rb"</NtryDtls>", b"</NtryDtls><AddtlNtryInf>extra</AddtlNtryInf>"),
    (rb"<BookgDt>.*?</BookgDt>", b"<BookgDt><DtTm>2026-11-02T23:30:00Z</DtTm></BookgDt>"),
    (rb"<BookgDt>.*?</BookgDt>", b"<BookgDt><DtTm>2026-11-02T10:30:00</DtTm></BookgDt>"),
    (rb"<BookgDt>.*?</BookgDt>", b"<BookgDt><DtTm>not a time</DtTm></BookgDt>"),
    (rb"<BookgDt>.*?</BookgDt>", b"<BookgDt><Dt>2026-02-30</Dt></BookgDt>"),
    (rb"<BookgDt>.*?</BookgDt>", b"<ValDt><Dt>2026-01-01</Dt></ValDt>"),
    (rb"<BookgDt>.*?</BookgDt>", b""),
    (rb'<Amt Ccy="CNY">', b'<Amt Ccy="USD">'),
    (rb'<Amt Ccy="CNY">', b'<Amt Ccy="RMB">'),
    (rb'<Amt Ccy="CNY">', b"<Amt>"),
    (rb'<Amt Ccy="CNY">[^<]*</Amt>', b'<Amt Ccy="CNY">0.00</Amt>'),
    (rb'<Amt Ccy="CNY">[^<]*</Amt>', b'<Amt Ccy="CNY">1.5</Amt>'),
    (rb"<Amt[^>]*>[^<]*</Amt>", b""),
    (rb'(<Ntry><Amt Ccy="CNY">)', rb"\1-"),
    (rb"</Amt>", b"1</Amt>"),
    (rb"<Cd>OPBD</Cd>", b"<Cd>PRCD</Cd>"),
    (rb"<Cd>CLBD</Cd>", b"<Cd>ITBD</Cd>"),
    (rb"<Bal>.*?</Bal>", b""),
    (rb"<CdtDbtInd>CRDT</CdtDbtInd><Dt>", b"<CdtDbtInd>DBIT</CdtDbtInd><Dt>"),
    (rb"<Ccy>CNY</Ccy></Acct>", b"<Ccy>XYZ</Ccy></Acct>"),
    (rb"<Ccy>CNY</Ccy></Acct>", b"</Acct>"),
    (rb"<Stmt>", b"<Stmt><Id>S2</Id></Stmt><Stmt>"),
    (rb"<Document (.*)</Document>", rb"<Doc \1</Doc>"),
    (rb"<BkToCstmrStmt>(.*)</BkToCstmrStmt>", rb"<Other>\1</Other>"),
    (rb"</Ntry>", b"</Ntry><Ntry><Amt>1.00</Amt></Ntry>"),
    (rb"</Stmt>", b""),
]


def outcome(parse, data: bytes, max_lines: int) -> object:
    try:
        return parse(data, max_lines=max_lines)
    except S.StatementError as exc:
        return ("refused", exc.code, exc.message, exc.line)


def _stmt(lines, opening):
    return S.Statement(format="x", account="3301", statement_id="S1", opening_balance_fen=opening,
                       closing_balance_fen=None if opening is None else opening + sum(ln.signed_fen for ln in lines),
                       lines=tuple(lines))


@settings(max_examples=300, deadline=None)
@given(st.lists(line_st, max_size=6, unique_by=lambda ln: ln.bank_txn_id),
       st.one_of(st.none(), st.integers(min_value=-10**12, max_value=10**12)),
       st.lists(st.tuples(st.sampled_from(range(len(DAMAGE))), st.booleans()), max_size=4),
       st.sampled_from([10_000, 3, 1, 0]))
def test_split_parser_answers_like_the_old_one(lines, opening, damage, max_lines):
    data = S.write_camt053(_stmt(lines, opening))
    for index, everywhere in damage:
        pattern, replacement = DAMAGE[index]
        data = re.sub(pattern, replacement, data, count=0 if everywhere else 1, flags=re.S)
    assert outcome(S.parse_camt053, data, max_lines) == outcome(old_parse_camt053, data, max_lines)


def test_the_sample_statement_alike():
    assert S.parse_camt053(CAMT) == old_parse_camt053(CAMT)
    assert S.parse_camt053(CAMT).lines[0].booked_on == date(2026, 11, 2)
