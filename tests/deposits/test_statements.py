"""Pure tests of the statement parsers (CSV as Chinese banks export it, camt.053)."""
from __future__ import annotations

from datetime import date, datetime

import pytest
from hypothesis import given, settings, strategies as st

from deposits import statements as S

CSV_GBK = (
    "账号:,3301 0000 1234\r\n"
    "币种:,人民币\r\n"
    "交易日期,交易时间,交易流水号,子账号,对方账号,对方户名,对方开户行,借方发生额,贷方发生额,余额,币种,摘要\r\n"
    "20261102,09:15:00,B0001,88660000000000001,6222000011112222,甲建设有限公司,工商银行,,\"50,000.00\",50000.00,人民币,投标保证金\r\n"
    "20261102,10:00:00,B0002,,6222000033334444,乙公司,建设银行,,1200.50,51200.50,人民币,保证金 8866 0000 0000 0000 1\r\n"
    "20261103,11:00:00,B0003,,6222000033334444,乙公司,建设银行,1200.50,,50000.00,人民币,退回\r\n"
    "合计,,,,,,,1200.50,51200.50,,,\r\n"
).encode("gbk")


def test_csv_gbk():
    st_ = S.parse_csv(CSV_GBK)
    assert st_.account == "3301 0000 1234"
    assert [ln.bank_txn_id for ln in st_.lines] == ["B0001", "B0002", "B0003"]
    a, b, c = st_.lines
    assert a.amount_fen == 5_000_000 and a.direction == S.CREDIT and a.counterparty_name == "甲建设有限公司"
    assert a.booked_at == datetime(2026, 11, 2, 9, 15) and a.sub_account == "88660000000000001"
    assert b.amount_fen == 120050 and "8866" in b.remark
    assert c.direction == S.DEBIT and c.signed_fen == -120050
    assert st_.opening_balance_fen == 0 and st_.closing_balance_fen == 5_000_000


def test_csv_utf8_bom_amount_and_flag():
    data = ("\ufeff交易日期,交易流水号,对方账号,对方户名,金额,借贷标志,币种\n"
            "2026-11-02,X1,622,丙公司,100.00,贷,CNY\n"
            "2026/11/03,X2,622,丙公司,30.5,借,RMB\n").encode("utf-8")
    st_ = S.parse_statement(data, filename="a.csv")
    assert [(ln.direction, ln.amount_fen, ln.booked_on) for ln in st_.lines] == [
        (S.CREDIT, 10000, date(2026, 11, 2)), (S.DEBIT, 3050, date(2026, 11, 3))]
    assert st_.closing_balance_fen is None


@pytest.mark.parametrize("row,msg", [
    ("2026-11-02,X1,622,丙,100.001,贷,CNY", "fraction of a fen"),
    ("2026-11-02,X1,622,丙,-100.00,贷,CNY", "negative"),
    ("2026-11-02,X1,622,丙,100.00,贷,USD", "currency USD"),
    ("2026-11-02,X1,622,丙,abc,贷,CNY", "not an amount"),
    ("2026-11-02,X1,622,丙,1e5,贷,CNY", "not an amount"),
    ("2026-13-02,X1,622,丙,100.00,贷,CNY", "not a date"),
    ("2026-11-02,X1,622,丙,100.00,?,CNY", "flag"),
    ("2026-11-02,X1,622,丙,0.00,贷,CNY", "zero"),
    ("2026-11-02,,622,丙,100.00,贷,CNY", "交易流水号"),
])
def test_csv_bad_rows(row, msg):
    data = ("交易日期,交易流水号,对方账号,对方户名,金额,借贷标志,币种\n" + row + "\n").encode()
    with pytest.raises(S.StatementError) as e:
        S.parse_csv(data)
    assert msg in str(e.value) and "line 2" in str(e.value)


def test_csv_structure_errors():
    with pytest.raises(S.StatementError, match="header"):
        S.parse_csv(b"a,b,c\n1,2,3\n")
    with pytest.raises(S.StatementError, match="empty"):
        S.parse_csv(b"   ")
    with pytest.raises(S.StatementError, match="too large"):
        S.parse_csv(b"x" * 2000, max_bytes=1000)
    with pytest.raises(S.StatementError, match="neither UTF-8"):
        S.parse_csv(b"\x81\x30\xff\xff\xfe")
    two = "交易日期,交易流水号,对方账号,对方户名,金额\n2026-11-02,X1,6,a,1.00\n2026-11-02,X1,6,a,1.00\n"
    with pytest.raises(S.StatementError, match="twice"):
        S.parse_csv(two.encode())
    many = "交易日期,交易流水号,对方账号,对方户名,金额\n" + "".join(f"2026-11-02,X{i},6,a,1.00\n" for i in range(5))
    with pytest.raises(S.StatementError, match="more than 3"):
        S.parse_csv(many.encode(), max_lines=3)
    bad_total = "期初余额,0.00\n交易日期,交易流水号,对方账号,对方户名,金额\n2026-11-02,X1,6,a,1.00\n期末余额,2.00\n"
    with pytest.raises(S.StatementError, match="does not add up"):
        S.parse_csv(bad_total.encode())


def _stmt(lines, opening=0):
    return S.Statement(format="x", account="3301", statement_id="S1", opening_balance_fen=opening,
                       closing_balance_fen=opening + sum(ln.signed_fen for ln in lines), lines=tuple(lines))


line_st = st.builds(
    S.StatementLine, line_no=st.just(0), bank_txn_id=st.text("ABC0123456789", min_size=1, max_size=12),
    direction=st.sampled_from([S.CREDIT, S.DEBIT]), amount_fen=st.integers(min_value=1, max_value=10**12),
    booked_on=st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 1, 1)),
    counterparty_account=st.text("0123456789", max_size=19),
    counterparty_name=st.text("甲乙丙有限公司&<>\"' ", max_size=12).map(str.strip),
    sub_account=st.text("0123456789", max_size=17), remark=st.text("保证金退回 0123<&>", max_size=20).map(str.strip),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(line_st, max_size=15, unique_by=lambda ln: ln.bank_txn_id), st.sampled_from(["csv-gbk", "csv-utf8", "camt"]))
def test_roundtrip(lines, fmt):
    stmt = _stmt(lines, opening=10**10)
    if fmt == "camt":
        data = S.write_camt053(stmt)
    else:
        data = S.write_csv(stmt, encoding="gbk" if fmt == "csv-gbk" else "utf-8-sig")
    got = S.parse_statement(data)
    assert got.closing_balance_fen == stmt.closing_balance_fen
    assert got.opening_balance_fen == stmt.opening_balance_fen
    assert [(g.bank_txn_id, g.direction, g.amount_fen, g.booked_on, g.counterparty_name, g.counterparty_account,
             g.sub_account, g.remark) for g in got.lines] == [
        (x.bank_txn_id, x.direction, x.amount_fen, x.booked_on, x.counterparty_name, x.counterparty_account,
         x.sub_account, x.remark) for x in lines]


CAMT = """<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>
<GrpHdr><MsgId>M1</MsgId><CreDtTm>2026-11-03T18:00:00+08:00</CreDtTm></GrpHdr>
<Stmt><Id>STMT-1</Id><Acct><Id><Othr><Id>330100001234</Id></Othr></Id><Ccy>CNY</Ccy></Acct>
<Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="CNY">100.00</Amt><CdtDbtInd>CRDT</CdtDbtInd></Bal>
<Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="CNY">600.00</Amt><CdtDbtInd>CRDT</CdtDbtInd></Bal>
<Ntry><Amt Ccy="CNY">500.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>
<BookgDt><DtTm>2026-11-02T01:30:00Z</DtTm></BookgDt><AcctSvcrRef>C-1</AcctSvcrRef>
<NtryDtls><TxDtls><RltdPties><Dbtr><Nm>甲建设有限公司</Nm></Dbtr><DbtrAcct><Id><Othr><Id>6222 0000</Id></Othr></Id></DbtrAcct>
<CdtrAcct><Id><Othr><Id>88660000000000001</Id></Othr></Id></CdtrAcct></RltdPties>
<RmtInf><Ustrd>投标保证金</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>
<Ntry><Amt Ccy="CNY">9.99</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>PDNG</Cd></Sts><BookgDt><Dt>2026-11-03</Dt></BookgDt>
<AcctSvcrRef>C-2</AcctSvcrRef></Ntry>
</Stmt></BkToCstmrStmt></Document>""".encode()


def test_camt053():
    st_ = S.parse_statement(CAMT)
    assert st_.format == "camt053" and st_.account == "330100001234" and st_.statement_id == "STMT-1"
    assert st_.opening_balance_fen == 10000 and st_.closing_balance_fen == 60000
    (ln,) = st_.lines  # the pending entry is not booked money
    assert ln.bank_txn_id == "C-1" and ln.amount_fen == 50000 and ln.counterparty_name == "甲建设有限公司"
    assert ln.counterparty_account == "62220000" and ln.sub_account == "88660000000000001"
    assert ln.booked_at == datetime(2026, 11, 2, 9, 30)  # shown in Beijing time


@pytest.mark.parametrize("mutate,msg", [
    (lambda d: d.replace(b'<Amt Ccy="CNY">500.00', b'<Amt Ccy="USD">500.00'), "currency USD"),
    (lambda d: d.replace(b">500.00<", b">500.001<"), "fraction of a fen"),
    (lambda d: d.replace(b">500.00<", b">-500.00<"), "negative"),
    (lambda d: d.replace(b"<AcctSvcrRef>C-1</AcctSvcrRef>", b""), "AcctSvcrRef"),
    (lambda d: d.replace(b"</Stmt>", b""), "malformed XML"),
    (lambda d: d.replace(b">600.00<", b">601.00<"), "does not add up"),
    (lambda d: d.replace(b"BkToCstmrStmt", b"Other"), "BkToCstmrStmt"),
])
def test_camt_bad(mutate, msg):
    with pytest.raises(S.StatementError) as e:
        S.parse_camt053(mutate(CAMT))
    assert msg in str(e.value)


def test_xxe_and_billion_laughs_refused(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOPSECRET")
    xxe = (f'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file://{secret}">]>'
           '<Document><BkToCstmrStmt><Stmt><Id>&x;</Id></Stmt></BkToCstmrStmt></Document>').encode()
    with pytest.raises(S.StatementError, match="DOCTYPE"):
        S.parse_camt053(xxe)
    lol = ('<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">' +
           "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(8)) +
           ']><Document>&i;</Document>').encode()
    with pytest.raises(S.StatementError, match="DOCTYPE"):
        S.parse_camt053(lol)
    deep = b"<Document>" + b"<a>" * 100 + b"</a>" * 100 + b"</Document>"
    with pytest.raises(S.StatementError, match="deeply"):
        S.parse_camt053(deep)
    with pytest.raises(S.StatementError, match="too large"):
        S.parse_camt053(CAMT, max_bytes=100)


def test_find_sub_account_in_remark():
    from deposits import numbers
    n = numbers.make_number("8866", 7, b"k")
    text = f"投标保证金 {numbers.group(n)} 甲公司"
    assert S.find_sub_account(text, "8866", lambda c: numbers.parse_number(c, "8866") is not None) == n
    assert S.find_sub_account("保证金 12345", "8866", lambda c: True) is None
