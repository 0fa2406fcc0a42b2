"""Bank statement parsers (pure, no database): CSV as Chinese banks export it, and ISO 20022 camt.053.

Both return a :class:`Statement` of :class:`StatementLine` with amounts in integer fen.  Anything
malformed -- unknown encoding, missing columns, fractions of a fen, negative amounts, a currency
other than CNY, an oversized file, a DOCTYPE/entity declaration in XML -- raises
:class:`StatementError` with the line (or element) at fault; the caller then posts nothing.
"""
from __future__ import annotations

import csv
import io
import re
import xml.parsers.expat
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from trading.coded import CodedError, with_money
from trading.errors import Invalid
from trading.money import format_fen, parse_money

MAX_BYTES = 64 * 1024 * 1024
MAX_LINES = 500_000
MAX_XML_DEPTH = 64
CURRENCY = "CNY"

CREDIT = "credit"  # money into the unified account (贷方 / 来账 / CRDT)
DEBIT = "debit"  # money out of it (借方 / 往账 / DBIT)


class StatementError(CodedError):
    """A statement refused: a stable code, the values as data, the line (or element's line) at fault; ``message``
    is the English text for logs and the command line ("line 7: …"); the import service answers with the
    translated message of the code (deposits/messages.py)."""

    def __init__(self, template: str, *, code: str = "statement", line: int | None = None, **params: Any):
        super().__init__(template, code=code, **params)
        self.line = line
        english = template % with_money(params) if params else template
        self.message = f"line {line}: {english}" if line else english

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class StatementLine:
    line_no: int
    bank_txn_id: str
    direction: str  # CREDIT | DEBIT
    amount_fen: int  # > 0
    booked_on: date
    booked_at: datetime | None = None  # naive, bank's local time (Asia/Shanghai)
    currency: str = CURRENCY
    counterparty_account: str = ""
    counterparty_name: str = ""
    counterparty_bank: str = ""
    sub_account: str = ""  # the virtual sub-account the money was sent to (or from, for refunds)
    remark: str = ""
    balance_fen: int | None = None

    @property
    def signed_fen(self) -> int:
        return self.amount_fen if self.direction == CREDIT else -self.amount_fen


@dataclass(frozen=True)
class Statement:
    format: str  # "csv" | "camt053"
    account: str = ""
    currency: str = CURRENCY
    statement_id: str = ""
    opening_balance_fen: int | None = None
    closing_balance_fen: int | None = None
    lines: tuple[StatementLine, ...] = field(default_factory=tuple)

    @property
    def net_fen(self) -> int:
        return sum(line.signed_fen for line in self.lines)


# --- shared helpers -------------------------------------------------------------------------
_AMOUNT = re.compile(r"^([+-]?)(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?$")


def parse_amount(text: str, *, line: int | None = None, allow_negative: bool = False) -> int:
    """"1,234.56" -> 123456.  Refuses fractions of a fen, exponents, empty text and (unless
    allowed) negative amounts. The bank's notation (a sign, ¥, thousands separators, zeros past the fen)
    is read here; the yuan-to-fen conversion is the platform's one money parser (trading.money)."""
    raw = (text or "").strip().replace("\u00a5", "").replace("￥", "").replace(" ", "")
    m = _AMOUNT.match(raw)
    if not m:
        raise StatementError("%(text)r is not an amount", code="amount", line=line, text=text)
    sign, whole, frac = m.group(1), m.group(2).replace(",", ""), m.group(3) or ""
    if len(frac) > 2:
        if frac[2:].strip("0"):
            raise StatementError("amount %(text)r has a fraction of a fen", code="amount_fraction", line=line, text=text)
        frac = frac[:2]
    try:  # in the parser's notation: no leading zeros, the decimals only when there are any
        fen = parse_money(str(int(whole)) + (f".{frac}" if frac else ""))
    except Invalid:  # digits it refuses are only ever too many of them
        raise StatementError("amount %(text)r is too large", code="amount_large", line=line, text=text) from None
    if sign == "-":
        if not allow_negative:
            raise StatementError("amount %(text)r is negative: use the debit/credit column instead", code="amount_negative",
                                 line=line, text=text)
        fen = -fen
    return fen


_CURRENCY_ALIASES = {"CNY": "CNY", "RMB": "CNY", "人民币": "CNY", "156": "CNY", "CNH": "CNH"}


def normalise_currency(text: str, *, line: int | None = None) -> str:
    value = (text or "").strip().upper() or CURRENCY
    value = _CURRENCY_ALIASES.get(value, value)
    if value != CURRENCY:
        raise StatementError("currency %(currency)s is not accepted: the unified deposit account holds CNY only",
                             code="currency", line=line, currency=value)
    return value


_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y年%m月%d日", "%Y.%m.%d")
_DT_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S", "%Y%m%d %H:%M:%S", "%Y%m%d%H%M%S",
               "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M")


def parse_date(text: str, *, line: int | None = None) -> date:
    raw = (text or "").strip()
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(raw, fmt).date()
        except ValueError:
            continue
    dt = parse_datetime(raw, line=line, required=False)
    if dt is None:
        raise StatementError("%(text)r is not a date", code="date", line=line, text=text)
    return dt.date()


def parse_datetime(text: str, *, line: int | None = None, required: bool = True) -> datetime | None:
    raw = (text or "").strip()
    if not raw:
        return None
    for fmt in _DT_FORMATS:
        try:
            return datetime.strptime(raw, fmt)
        except ValueError:
            continue
    try:  # ISO 8601 with offset, as camt uses
        dt = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        return dt
    except ValueError:
        pass
    if required:
        raise StatementError("%(text)r is not a date and time", code="datetime", line=line, text=text)
    return None


def parse_time(text: str, *, line: int | None = None) -> time | None:
    raw = (text or "").strip()
    if not raw:
        return None
    for fmt in ("%H:%M:%S", "%H%M%S", "%H:%M"):
        try:
            return datetime.strptime(raw, fmt).time()
        except ValueError:
            continue
    dt = parse_datetime(raw, line=line, required=False)
    if dt is not None:
        return dt.time().replace(tzinfo=None)
    raise StatementError("%(text)r is not a time", code="time", line=line, text=text)


def _check_size(data: bytes, max_bytes: int) -> None:
    if not isinstance(data, (bytes, bytearray)):
        raise StatementError("a statement must be given as bytes (the file as the bank sent it)", code="bytes")
    if len(data) > max_bytes:
        raise StatementError("statement is too large (%(size)s bytes, at most %(max_bytes)s)", code="too_large",
                             size=len(data), max_bytes=max_bytes)
    if not data.strip():
        raise StatementError("statement is empty", code="empty")


def decode_text(data: bytes) -> str:
    """UTF-8 (with or without BOM), else GB18030 (a superset of GBK/GB2312, what Chinese banks use)."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        raise StatementError("statement is neither UTF-8 nor GBK/GB18030 text", code="encoding") from None


# --- CSV ------------------------------------------------------------------------------------
COLUMNS: dict[str, tuple[str, ...]] = {
    "date": ("交易日期", "记账日期", "入账日期", "日期", "date", "booking date"),
    "time": ("交易时间", "时间", "time"),
    "txn": ("交易流水号", "银行流水号", "流水号", "交易参考号", "交易序号", "reference", "txn id"),
    "cp_account": ("对方账号", "付款人账号", "对方账户", "counterparty account"),
    "cp_name": ("对方户名", "对方名称", "付款人名称", "对方账户名称", "counterparty name"),
    "cp_bank": ("对方开户行", "对方行名", "对方开户机构"),
    "sub_account": ("子账号", "虚拟子账号", "收款子账号", "本方子账号", "虚拟账号", "sub account"),
    "amount": ("金额", "交易金额", "发生额", "amount"),
    "direction": ("借贷标志", "借贷方向", "收支标志", "收支方向", "交易方向", "direction"),
    "debit": ("借方发生额", "借方金额", "支出金额", "支出", "debit"),
    "credit": ("贷方发生额", "贷方金额", "收入金额", "收入", "credit"),
    "balance": ("余额", "账户余额", "balance"),
    "currency": ("币种", "货币", "currency"),
    "remark": ("摘要", "附言", "用途", "备注", "remark"),
}
_DIRECTIONS = {
    "贷": CREDIT, "贷方": CREDIT, "收": CREDIT, "收入": CREDIT, "来账": CREDIT, "C": CREDIT, "CR": CREDIT,
    "CRDT": CREDIT, "CREDIT": CREDIT, "借": DEBIT, "借方": DEBIT, "支": DEBIT, "支出": DEBIT, "往账": DEBIT,
    "D": DEBIT, "DR": DEBIT, "DBIT": DEBIT, "DEBIT": DEBIT,
}
_META = {
    "account": ("账号", "账户", "本方账号", "account"),
    "currency": ("币种", "货币"),
    "opening": ("期初余额", "上日余额", "opening balance"),
    "closing": ("期末余额", "当前余额", "closing balance"),
    "statement_id": ("对账单编号", "对账单号", "statement id"),
}


def _norm_header(cell: str) -> str:
    return re.sub(r"[\s\(\)（）:：\ufeff]|\(元\)|（元）", "", cell or "").replace("(元)", "").lower()


def _match_header(row: list[str]) -> dict[str, int] | None:
    cells = [_norm_header(c) for c in row]
    cells = [c[:-1] if c.endswith("元") and len(c) > 2 else c for c in cells]
    found: dict[str, int] = {}
    for key, aliases in COLUMNS.items():
        for i, cell in enumerate(cells):
            if cell in {a.lower().replace(" ", "") for a in aliases} and i not in found.values():
                found[key] = i
                break
    if "txn" in found and "date" in found and ("amount" in found or "credit" in found or "debit" in found):
        return found
    return None


_SUMMARY_KEYS = {"合计", "总计", "小计", "总笔数", "交易明细", "账户明细", "查询日期", "起始日期", "终止日期", "户名",
                 "开户行", "打印日期", "账户名称", "期间"}


def _is_meta_key(cell: str) -> bool:
    key = _norm_header(re.split(r"[:：]", cell or "", maxsplit=1)[0])
    if not key:
        return False
    return key in _SUMMARY_KEYS or key.startswith("合计") or any(
        key in {_norm_header(a) for a in aliases} for name, aliases in _META.items() if name != "currency")


def _meta_from_row(row: list[str], meta: dict[str, str]) -> bool:
    """A preamble/trailer row like ["账号:", "1234"] or ["期末余额：1,234.00"]. True if recognised."""
    cells = [c.strip() for c in row if c and c.strip()]
    if not cells:
        return True
    first = cells[0]
    key_text, value = first, ""
    m = re.match(r"^([^:：]+)[:：]\s*(.*)$", first)
    if m:
        key_text, value = m.group(1), m.group(2)
    if not value and len(cells) > 1:
        value = cells[1]
    key_norm = _norm_header(key_text)
    for key, aliases in _META.items():
        if key_norm in {_norm_header(a) for a in aliases}:
            meta[key] = value.strip()
            return True
    return key_norm in _SUMMARY_KEYS or key_norm.startswith("合计")


def parse_csv(data: bytes, *, max_bytes: int = MAX_BYTES, max_lines: int = MAX_LINES) -> Statement:
    _check_size(data, max_bytes)
    text = decode_text(data)
    sample = text[:4096]
    delimiter = "\t" if sample.count("\t") > sample.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    meta: dict[str, str] = {}
    header: dict[str, int] | None = None
    lines: list[StatementLine] = []
    seen: set[str] = set()
    try:
        for row in reader:
            line_no = reader.line_num
            if header is None:
                header = _match_header(row)
                if header is None and not _meta_from_row(row, meta) and line_no > 50:
                    break
                continue
            if not any(c.strip() for c in row):
                continue
            txn_cell = row[header["txn"]].strip() if header["txn"] < len(row) else ""
            if _is_meta_key(row[0]) and _meta_from_row(row, meta):
                continue
            if not txn_cell:
                if _meta_from_row(row, meta):
                    continue
                raise StatementError("the transaction number (交易流水号) is missing", code="txn_missing", line=line_no)
            if len(lines) >= max_lines:
                raise StatementError("statement has more than %(max_lines)s lines", code="too_many_lines",
                                     max_lines=max_lines)
            line = _csv_line(row, header, line_no)
            if line.bank_txn_id in seen:
                raise StatementError("transaction number %(txn)s appears twice", code="txn_twice", line=line_no,
                                     txn=line.bank_txn_id)
            seen.add(line.bank_txn_id)
            lines.append(line)
    except csv.Error as exc:
        raise StatementError("malformed CSV (%(problem)s)", code="csv", line=reader.line_num, problem=exc) from None
    if header is None:
        raise StatementError(
            "no header row found: expected columns like 交易日期, 交易流水号, 对方账号, 对方户名, 金额/贷方发生额",
            code="no_header")
    currency = normalise_currency(meta.get("currency", ""))
    opening = parse_amount(meta["opening"], allow_negative=True) if meta.get("opening") else None
    closing = parse_amount(meta["closing"], allow_negative=True) if meta.get("closing") else None
    if closing is None and lines and lines[-1].balance_fen is not None:
        closing = lines[-1].balance_fen
    if opening is None and lines and lines[0].balance_fen is not None:
        opening = lines[0].balance_fen - lines[0].signed_fen
    if opening is not None and closing is not None and opening + sum(ln.signed_fen for ln in lines) != closing:
        raise StatementError("the statement does not add up: opening %(opening)s + lines != closing %(closing)s",
                             code="csv_sum", opening_fen=opening, closing_fen=closing)
    return Statement(format="csv", account=meta.get("account", ""), currency=currency,
                     statement_id=meta.get("statement_id", ""), opening_balance_fen=opening,
                     closing_balance_fen=closing, lines=tuple(lines))


def _csv_line(row: list[str], header: dict[str, int], line_no: int) -> StatementLine:
    def cell(key: str) -> str:
        i = header.get(key)
        if i is None or i >= len(row):
            return ""
        value = row[i].strip()
        if key in ("txn", "cp_account", "sub_account", "amount", "debit", "credit", "balance", "date", "time"):
            value = value.lstrip("'=\"").rstrip("\"")  # Excel guards like '6222... or ="6222..."
        return value.strip()

    currency = normalise_currency(cell("currency"), line=line_no)
    if cell("credit") or cell("debit"):
        credit = parse_amount(cell("credit"), line=line_no) if cell("credit") else 0
        debit = parse_amount(cell("debit"), line=line_no) if cell("debit") else 0
        if credit and debit:
            raise StatementError("both debit and credit amounts are filled", code="both_amounts", line=line_no)
        if not credit and not debit:
            raise StatementError("the amount is zero", code="zero", line=line_no)
        direction, amount = (CREDIT, credit) if credit else (DEBIT, debit)
    else:
        if not cell("amount"):
            raise StatementError("the amount is missing", code="amount_missing", line=line_no)
        amount = parse_amount(cell("amount"), line=line_no)
        flag = cell("direction").upper()
        if not flag:
            direction = CREDIT
            if "direction" in header:
                raise StatementError("the debit/credit flag (借贷标志) is missing", code="flag_missing", line=line_no)
        elif flag in _DIRECTIONS:
            direction = _DIRECTIONS[flag]
        else:
            raise StatementError("unknown debit/credit flag %(flag)r", code="flag", line=line_no, flag=flag)
        if amount == 0:
            raise StatementError("the amount is zero", code="zero", line=line_no)
    booked_on = parse_date(cell("date"), line=line_no)
    booked_at = None
    if cell("time"):
        t = parse_time(cell("time"), line=line_no)
        booked_at = datetime.combine(booked_on, t) if t else None
    balance = parse_amount(cell("balance"), line=line_no, allow_negative=True) if cell("balance") else None
    txn = cell("txn")
    if len(txn) > 64:
        raise StatementError("the transaction number is longer than 64 characters", code="txn_long", line=line_no)
    return StatementLine(
        line_no=line_no, bank_txn_id=txn, direction=direction, amount_fen=amount, booked_on=booked_on,
        booked_at=booked_at, currency=currency, counterparty_account=re.sub(r"\s", "", cell("cp_account")),
        counterparty_name=cell("cp_name"), counterparty_bank=cell("cp_bank"),
        sub_account=re.sub(r"[\s-]", "", cell("sub_account")), remark=cell("remark"), balance_fen=balance,
    )


# --- camt.053 (ISO 20022) -------------------------------------------------------------------
@dataclass
class _Node:
    tag: str
    attrs: dict[str, str]
    children: list[_Node] = field(default_factory=list)
    text: str = ""
    line: int = 0

    def find(self, path: str) -> _Node | None:
        node: _Node | None = self
        for part in path.split("/"):
            if node is None:
                return None
            node = next((c for c in node.children if c.tag == part), None)
        return node

    def findall(self, name: str) -> list[_Node]:
        return [c for c in self.children if c.tag == name]

    def text_at(self, path: str) -> str:
        node = self.find(path)
        return node.text.strip() if node is not None else ""


class _Refused(Exception):
    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.code = code


def safe_xml(data: bytes, *, max_bytes: int = MAX_BYTES, max_elements: int = 5_000_000) -> _Node:
    """Parse XML with expat, refusing DOCTYPE, entity declarations and external entities (XXE,
    billion laughs), oversized input and absurd nesting. Tags lose their namespace."""
    _check_size(data, max_bytes)
    parser = xml.parsers.expat.ParserCreate(namespace_separator="}")
    parser.SetParamEntityParsing(xml.parsers.expat.XML_PARAM_ENTITY_PARSING_NEVER)
    root_holder: list[_Node] = []
    stack: list[_Node] = []
    count = [0]

    def refuse(*_args):
        raise _Refused("DOCTYPE and entity declarations are not allowed in a statement", "xml_doctype")

    def start(name, attrs):
        count[0] += 1
        if count[0] > max_elements:
            raise _Refused("too many XML elements", "xml_elements")
        if len(stack) >= MAX_XML_DEPTH:
            raise _Refused("XML nested too deeply", "xml_depth")
        node = _Node(name.rsplit("}", 1)[-1], attrs, line=parser.CurrentLineNumber)
        if stack:
            stack[-1].children.append(node)
        else:
            root_holder.append(node)
        stack.append(node)

    def end(_name):
        stack.pop()

    def chars(text):
        if stack:
            stack[-1].text += text

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.UnparsedEntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    try:
        parser.Parse(bytes(data), True)
    except _Refused as exc:
        raise StatementError(exc.args[0], code=exc.code) from None
    except xml.parsers.expat.ExpatError as exc:
        raise StatementError("malformed XML (%(problem)s)", code="xml", line=exc.lineno,
                             problem=xml.parsers.expat.errors.messages.get(exc.code, exc)) from None
    if not root_holder:
        raise StatementError("empty XML document", code="xml_empty")
    return root_holder[0]


def _camt_amount(node: _Node | None, line: int | None) -> tuple[int, str]:
    if node is None:
        raise StatementError("amount (Amt) is missing", code="amt_missing", line=line)
    ccy = node.attrs.get("Ccy", "")
    currency = normalise_currency(ccy, line=node.line) if ccy else CURRENCY
    return parse_amount(node.text, line=node.line), currency


def _party_account(node: _Node | None) -> str:
    if node is None:
        return ""
    return (node.text_at("Id/IBAN") or node.text_at("Id/Othr/Id")).replace(" ", "")


def _party_name(node: _Node | None) -> str:
    if node is None:
        return ""
    return node.text_at("Nm") or node.text_at("Pty/Nm")


def parse_camt053(data: bytes, *, max_bytes: int = MAX_BYTES, max_lines: int = MAX_LINES) -> Statement:
    """A camt.053 statement: its one Stmt, the account, the balances, the booked entries; the entries must
    add up from the opening to the closing balance when both are given."""
    stmt = _camt_stmt(safe_xml(data, max_bytes=max_bytes))
    account = stmt.text_at("Acct/Id/IBAN") or stmt.text_at("Acct/Id/Othr/Id")
    currency = normalise_currency(stmt.text_at("Acct/Ccy")) if stmt.text_at("Acct/Ccy") else CURRENCY
    opening, closing = _camt_balances(stmt)
    lines = _camt_entries(stmt, max_lines)
    if opening is not None and closing is not None and opening + sum(ln.signed_fen for ln in lines) != closing:
        raise StatementError("the statement does not add up: opening %(opening)s + entries != closing %(closing)s",
                             code="camt_sum", opening_fen=opening, closing_fen=closing)
    return Statement(format="camt053", account=account, currency=currency, statement_id=stmt.text_at("Id"),
                     opening_balance_fen=opening, closing_balance_fen=closing, lines=tuple(lines))


def _camt_stmt(root: _Node) -> _Node:
    """The header: an ISO 20022 Document holding a bank-to-customer statement with exactly one Stmt."""
    if root.tag != "Document":
        raise StatementError("not an ISO 20022 document (root element %(tag)s)", code="camt_root", tag=root.tag)
    body = root.find("BkToCstmrStmt")
    if body is None:
        raise StatementError("not a camt.053 statement: BkToCstmrStmt is missing", code="camt_body")
    stmts = body.findall("Stmt")
    if len(stmts) != 1:
        raise StatementError("expected exactly one Stmt, found %(count)s", code="camt_stmts", count=len(stmts))
    return stmts[0]


def _camt_balances(stmt: _Node) -> tuple[int | None, int | None]:
    """The opening (OPBD, or PRCD: the previous closing) and closing (CLBD) balances, signed fen."""
    opening = closing = None
    for bal in stmt.findall("Bal"):
        code = bal.text_at("Tp/CdOrPrtry/Cd")
        amount, _ = _camt_amount(bal.find("Amt"), bal.line)
        if bal.text_at("CdtDbtInd") == "DBIT":
            amount = -amount
        if code in ("OPBD", "PRCD"):
            opening = amount
        elif code in ("CLBD",):
            closing = amount
    return opening, closing


def _camt_entries(stmt: _Node, max_lines: int) -> list[StatementLine]:
    """The booked entries (pending and information entries are not booked money), at most max_lines,
    each bank reference once."""
    lines: list[StatementLine] = []
    seen: set[str] = set()
    for ntry in stmt.findall("Ntry"):
        status = ntry.text_at("Sts/Cd") or ntry.text_at("Sts")
        if status and status not in ("BOOK",):
            continue
        if len(lines) >= max_lines:
            raise StatementError("statement has more than %(max_lines)s entries", code="too_many_entries",
                                 max_lines=max_lines)
        lines.append(_camt_entry(ntry, seen))
    return lines


def _camt_entry(ntry: _Node, seen: set[str]) -> StatementLine:
    where = ntry.line
    amount, ccy, direction = _camt_entry_amount(ntry)
    booked_at, booked_on = _camt_booking(ntry)
    tx = ntry.find("NtryDtls/TxDtls")
    txn = _camt_reference(ntry, tx, seen)
    cp_name, cp_acct, sub, bank_name = _camt_parties(tx, direction)
    rmt = tx.find("RmtInf") if tx else None
    remark = " ".join(n.text.strip() for n in (rmt.findall("Ustrd") if rmt else []))
    remark = remark or ntry.text_at("AddtlNtryInf")
    return StatementLine(
        line_no=where, bank_txn_id=txn, direction=direction, amount_fen=amount, booked_on=booked_on,
        booked_at=booked_at, currency=ccy, counterparty_account=cp_acct, counterparty_name=cp_name,
        counterparty_bank=bank_name, sub_account=sub, remark=remark,
    )


def _camt_entry_amount(ntry: _Node) -> tuple[int, str, str]:
    """The amount (not zero), its currency and its direction (CRDT/DBIT; reversals refused)."""
    where = ntry.line
    amount, ccy = _camt_amount(ntry.find("Amt"), where)
    if amount == 0:
        raise StatementError("the amount is zero", code="zero", line=where)
    ind = ntry.text_at("CdtDbtInd")
    if ind not in ("CRDT", "DBIT"):
        raise StatementError("CdtDbtInd must be CRDT or DBIT, not %(flag)r", code="camt_flag", line=where, flag=ind)
    if ntry.text_at("RvslInd").lower() == "true":
        raise StatementError("reversal entries (RvslInd) are not accepted; the bank must book a new entry",
                             code="camt_reversal", line=where)
    return amount, ccy, CREDIT if ind == "CRDT" else DEBIT


_BEIJING = timezone(timedelta(hours=8))  # a statement's times are Beijing time, naive


def _camt_booking(ntry: _Node) -> tuple[datetime | None, date]:
    """The booking time (Beijing time, naive) when given, and the booking day."""
    where = ntry.line
    booked = ntry.text_at("BookgDt/DtTm") or ntry.text_at("BookgDt/Dt") or ntry.text_at("ValDt/Dt")
    if not booked:
        raise StatementError("booking date (BookgDt) is missing", code="camt_date", line=where)
    booked_at = parse_datetime(booked, line=where, required=False) if "T" in booked else None
    if booked_at is not None and booked_at.tzinfo is not None:
        booked_at = booked_at.astimezone(_BEIJING).replace(tzinfo=None)
    return booked_at, booked_at.date() if booked_at else parse_date(booked, line=where)


def _camt_reference(ntry: _Node, tx: _Node | None, seen: set[str]) -> str:
    """The bank's transaction reference: present, at most 64 characters, once per statement."""
    where = ntry.line
    txn = ntry.text_at("AcctSvcrRef") or (tx.text_at("Refs/AcctSvcrRef") if tx else "") or (
        tx.text_at("Refs/TxId") if tx else "") or (tx.text_at("Refs/EndToEndId") if tx else "")
    if not txn or txn == "NOTPROVIDED":
        raise StatementError("the bank's transaction reference (AcctSvcrRef) is missing", code="camt_txn_missing",
                             line=where)
    if len(txn) > 64:
        raise StatementError("the transaction reference is longer than 64 characters", code="camt_txn_long",
                             line=where)
    if txn in seen:
        raise StatementError("transaction reference %(txn)s appears twice", code="camt_txn_twice", line=where, txn=txn)
    seen.add(txn)
    return txn


def _camt_parties(tx: _Node | None, direction: str) -> tuple[str, str, str, str]:
    """The counterparty's name, account and bank and our sub-account: for a credit the debtor pays the
    sub-account (the creditor's account); for a debit the other way round."""
    parties = tx.find("RltdPties") if tx else None
    them, their_acct, ours, agent = (("Dbtr", "DbtrAcct", "CdtrAcct", "DbtrAgt") if direction == CREDIT
                                     else ("Cdtr", "CdtrAcct", "DbtrAcct", "CdtrAgt"))
    cp_name = _party_name(parties.find(them) if parties else None)
    cp_acct = _party_account(parties.find(their_acct) if parties else None)
    sub = _party_account(parties.find(ours) if parties else None)
    bank_name = tx.text_at(f"RltdAgts/{agent}/FinInstnId/Nm") if tx and tx.find("RltdAgts") else ""
    return cp_name, cp_acct, sub, bank_name


def parse_statement(data: bytes, *, filename: str = "", max_bytes: int = MAX_BYTES,
                    max_lines: int = MAX_LINES) -> Statement:
    """Pick the parser by content (XML starts with '<'), falling back to the file name."""
    _check_size(data, max_bytes)
    head = data[:64].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<") or filename.lower().endswith(".xml"):
        return parse_camt053(data, max_bytes=max_bytes, max_lines=max_lines)
    return parse_csv(data, max_bytes=max_bytes, max_lines=max_lines)


# --- writers (used by the simulated bank and the tests) --------------------------------------
fen_text = format_fen


def write_csv(statement: Statement, *, encoding: str = "gbk") -> bytes:
    out = io.StringIO(newline="")
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(["账号", statement.account])
    w.writerow(["币种", "人民币"])
    if statement.opening_balance_fen is not None:
        w.writerow(["期初余额", fen_text(statement.opening_balance_fen)])
    w.writerow(["交易日期", "交易时间", "交易流水号", "子账号", "对方账号", "对方户名", "对方开户行",
                "借方发生额", "贷方发生额", "余额", "币种", "摘要"])
    balance = statement.opening_balance_fen
    for ln in statement.lines:
        if balance is not None:
            balance += ln.signed_fen
        w.writerow([
            ln.booked_on.strftime("%Y%m%d"), ln.booked_at.strftime("%H:%M:%S") if ln.booked_at else "",
            ln.bank_txn_id, ln.sub_account, ln.counterparty_account, ln.counterparty_name, ln.counterparty_bank,
            fen_text(ln.amount_fen) if ln.direction == DEBIT else "",
            fen_text(ln.amount_fen) if ln.direction == CREDIT else "",
            fen_text(balance) if balance is not None else "", "人民币", ln.remark,
        ])
    if statement.closing_balance_fen is not None:
        w.writerow(["期末余额", fen_text(statement.closing_balance_fen)])
    return out.getvalue().encode(encoding)


def _x(text: str) -> str:
    return (str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;"))


def write_camt053(statement: Statement) -> bytes:
    parts = ['<?xml version="1.0" encoding="UTF-8"?>',
             '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt>',
             f'<GrpHdr><MsgId>{_x(statement.statement_id or "STMT")}</MsgId></GrpHdr>',
             f'<Stmt><Id>{_x(statement.statement_id or "STMT")}</Id>',
             f'<Acct><Id><Othr><Id>{_x(statement.account)}</Id></Othr></Id><Ccy>CNY</Ccy></Acct>']

    def bal(code: str, fen: int) -> str:
        ind = "CRDT" if fen >= 0 else "DBIT"
        return (f'<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp><Amt Ccy="CNY">{fen_text(abs(fen))}</Amt>'
                f'<CdtDbtInd>{ind}</CdtDbtInd><Dt><Dt>2000-01-01</Dt></Dt></Bal>')

    if statement.opening_balance_fen is not None:
        parts.append(bal("OPBD", statement.opening_balance_fen))
    if statement.closing_balance_fen is not None:
        parts.append(bal("CLBD", statement.closing_balance_fen))
    for ln in statement.lines:
        credit = ln.direction == CREDIT
        booked = (f"<DtTm>{ln.booked_at.isoformat()}+08:00</DtTm>" if ln.booked_at
                  else f"<Dt>{ln.booked_on.isoformat()}</Dt>")
        party, acct, own = ("Dbtr", "DbtrAcct", "CdtrAcct") if credit else ("Cdtr", "CdtrAcct", "DbtrAcct")
        parts.append(
            f'<Ntry><Amt Ccy="{_x(ln.currency)}">{fen_text(ln.amount_fen)}</Amt>'
            f'<CdtDbtInd>{"CRDT" if credit else "DBIT"}</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>'
            f'<BookgDt>{booked}</BookgDt><AcctSvcrRef>{_x(ln.bank_txn_id)}</AcctSvcrRef>'
            f'<NtryDtls><TxDtls><RltdPties><{party}><Nm>{_x(ln.counterparty_name)}</Nm></{party}>'
            f'<{acct}><Id><Othr><Id>{_x(ln.counterparty_account)}</Id></Othr></Id></{acct}>'
            f'<{own}><Id><Othr><Id>{_x(ln.sub_account)}</Id></Othr></Id></{own}></RltdPties>'
            f'<RmtInf><Ustrd>{_x(ln.remark)}</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>'
        )
    parts.append("</Stmt></BkToCstmrStmt></Document>")
    return "".join(parts).encode("utf-8")


def find_sub_account(text: str, prefix: str, valid) -> str | None:
    """Find a virtual sub-account number written in a remark (附言), e.g. when the payer paid to
    the main account and typed the number. ``valid`` checks a candidate (check digit + prefix)."""
    for cand in re.findall(r"\d[\d\s-]{8,30}\d", text or ""):
        clean = re.sub(r"[\s-]", "", cand)
        if clean.startswith(prefix) and valid(clean):
            return clean
    return None
