"""Bulk reads and writes for the opening ceremony (10,000 envelopes of 64 KiB in one transaction).

Used only inside `services.open_bids`' transaction.  On PostgreSQL:
- the envelopes stream in with `COPY (SELECT …) TO STDOUT (FORMAT binary)`: bytea arrives as raw
  bytes (not hex text: half the bytes, no decoding), only the needed columns, and each tuple is
  opened as it arrives, while PostgreSQL reads and sends the next ones (its backend is another
  process: reading and opening overlap, and only the envelopes in the socket buffer are in memory).
- the opened bids and their documents go in with `COPY … FROM STDIN`, ids taken from the table's
  sequence in one query.  Every CHECK / UNIQUE constraint and trigger applies to COPY as to INSERT.
Elsewhere (SQLite demo) the same rows come from the ORM (`.values_list().iterator()`, `bulk_create`).
"""
from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Callable

from django.db import connection
from django.db.models.base import ModelState

from audit import sql
from bidding.envelopes.models import Envelope, OpenedBid, OpenedDocument

# (id, bidder_id, digest, signature, bidder key hex, bidder name, ciphertext); signature and ciphertext
# are bytes-like (on PostgreSQL views of the COPY message, valid only during the handler's call)
EnvelopeRow = tuple[int, int, str, bytes, str, str, bytes]

_COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"


def _int8(b) -> int:
    return int.from_bytes(b, "big", signed=True)


def _text(b) -> str:
    return bytes(b).decode("utf-8")


def _bytea(b) -> memoryview:
    return b  # a view: the row handler reads it during its call and keeps nothing of it


_DECODERS = (_int8, _int8, _text, _bytea, _text, _text, _bytea)


def for_each_envelope(lot, handle: Callable[[EnvelopeRow], None]) -> int:
    """Call `handle(row)` for each active envelope of the lot, oldest first, streamed (never all in
    memory); returns how many.  `handle` must not use the database connection (it is busy with
    the COPY); whatever it raises is raised here once the COPY has drained."""
    if connection.vendor == "postgresql":
        return _copy_each(lot.pk, handle)
    qs = (Envelope.objects.filter(lot=lot, status="active").order_by("submitted_at", "id")
          .values_list("id", "bidder_id", "digest", "signature", "bidder_key__public_key_hex", "bidder__name",
                       "ciphertext"))
    count = 0
    for env_id, bidder_id, digest, signature, key_hex, name, ciphertext in qs.iterator(chunk_size=100):
        handle((env_id, bidder_id, digest, bytes(signature), key_hex, name, bytes(ciphertext)))
        count += 1
    return count


class _BinaryCopySink:
    """File-like target of `COPY … TO STDOUT (FORMAT binary)`: parses each tuple as it arrives and
    hands it on.  PostgreSQL keeps reading and sending the next envelopes into the socket buffer
    meanwhile, so reading and opening overlap without a thread.  It never raises (an exception in
    the middle of a COPY would leave the connection unusable): the first error is kept, the rest
    of the COPY is drained and discarded, and the caller raises it."""

    def __init__(self, handle: Callable[[EnvelopeRow], None]):
        self.handle = handle
        self.buf = b""
        self.header_done = False
        self.finished = False
        self.count = 0
        self.error: BaseException | None = None

    def write(self, data) -> int:
        if self.error is None:
            try:
                self._take(data)
            except BaseException as exc:  # noqa: BLE001 — raised by for_each_envelope after the COPY
                self.error = exc
                self.buf = b""
        return len(data)

    def _take(self, data: bytes) -> None:
        # PostgreSQL sends one message per tuple: parse it in place (memoryview slices, no copy);
        # only a tuple split across messages is joined first
        src = self.buf + data if self.buf else data
        pos = self._parse(src)
        self.buf = src[pos:] if pos < len(src) else b""

    def _parse(self, src: bytes) -> int:
        mv, pos, n = memoryview(src), 0, len(src)
        if not self.header_done:
            if n < 19:
                return 0
            if bytes(mv[:11]) != _COPY_SIGNATURE:
                raise ValueError("unexpected COPY binary header")
            pos = 19 + _int8(mv[15:19])
            if pos > n:
                return 0
            self.header_done = True
        while pos + 2 <= n:
            count = _int8(mv[pos:pos + 2])
            if count == -1:  # trailer
                self.finished = True
                return pos + 2
            if count != len(_DECODERS):
                raise ValueError(f"COPY returned {count} columns, expected {len(_DECODERS)}")
            fields: list[int | str | memoryview | None]
            p, fields = pos + 2, []
            for decode in _DECODERS:
                if p + 4 > n:
                    break
                size = _int8(mv[p:p + 4])
                p += 4
                if size < 0:
                    fields.append(None)
                    continue
                if p + size > n:
                    break
                fields.append(decode(mv[p:p + size]))
                p += size
            if len(fields) < len(_DECODERS):
                break  # partial tuple: wait for more data
            self.count += 1
            self.handle(tuple(fields))  # bytea fields are views of this message, valid during the call
            pos = p
        return pos


def _copy_sql(lot_id: int, raw) -> str:
    env, key, org = (Envelope._meta.db_table, Envelope._meta.get_field("bidder_key").related_model._meta.db_table,
                     Envelope._meta.get_field("bidder").related_model._meta.db_table)
    select = (f"SELECT e.id::int8, e.bidder_id::int8, e.digest::text, e.signature, k.public_key_hex::text, "
              f"o.name::text, e.ciphertext FROM {env} e JOIN {key} k ON k.id = e.bidder_key_id "
              f"JOIN {org} o ON o.id = e.bidder_id WHERE e.lot_id = %s AND e.status = %s "
              f"ORDER BY e.submitted_at, e.id")
    return "COPY (" + raw.mogrify(select, [lot_id, "active"]).decode() + ") TO STDOUT WITH (FORMAT binary)"


def _copy_each(lot_id: int, handle: Callable[[EnvelopeRow], None]) -> int:
    sink = _BinaryCopySink(handle)
    with connection.cursor() as cursor:
        raw = cursor.cursor  # the psycopg2 cursor of this transaction's connection
        raw.copy_expert(_copy_sql(lot_id, raw), sink)
    if sink.error is not None:
        raise sink.error
    if not sink.finished:
        raise RuntimeError("the COPY of the envelopes ended early")
    return sink.count


# --- writing the opened bids -------------------------------------------------------------------

_BID_FIELDS = ("id", "envelope", "lot", "bidder", "outcome", "price_fen", "terms", "failure_code",
               "failure_reason", "opened_at", "content_key")
_DOC_FIELDS = ("bid", "position", "name", "content_type", "size", "sha256")


def _esc(text: str) -> str:
    """A text value in COPY's text format."""
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        text = text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return text


def _bytea_text(value: bytes) -> str:
    return "\\\\x" + value.hex()  # COPY unescapes \\ to \, then bytea reads \x<hex>


def _copy_in(model, fields: tuple[str, ...], lines: list[str]) -> None:
    if not lines:
        return
    columns = ", ".join(connection.ops.quote_name(model._meta.get_field(f).column) for f in fields)
    with connection.cursor() as cursor:
        cursor.cursor.copy_expert(f"COPY {model._meta.db_table} ({columns}) FROM STDIN", io.StringIO("".join(lines)))


def store_opened(*, lot, opened_at: dt.datetime, bids: list[tuple], documents: list[list[dict]]) -> list[OpenedBid]:
    """bids: (envelope_id, bidder_id, outcome, price_fen, terms, failure_code, failure_reason, content_key);
    documents[i]: the document metadata of bids[i] ({position, name, content_type, size, sha256})."""
    if not bids:
        return []
    if connection.vendor != "postgresql":
        objs = OpenedBid.objects.bulk_create([
            OpenedBid(envelope_id=e, lot=lot, bidder_id=b, outcome=o, price_fen=p, terms=t, failure_code=c,
                      failure_reason=r, opened_at=opened_at, content_key=k) for e, b, o, p, t, c, r, k in bids],
            batch_size=500)
        OpenedDocument.objects.bulk_create([OpenedDocument(bid=bid, **doc) for bid, docs in zip(objs, documents)
                                            for doc in docs], batch_size=500)
        return objs
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                       [OpenedBid._meta.db_table, len(bids)])
        ids = [r[0] for r in cursor.fetchall()]
    rows = [(i, e, lot.pk, b, o, p, t, c, r, opened_at, k) for i, (e, b, o, p, t, c, r, k) in zip(ids, bids)]
    at, dumps, null = opened_at.isoformat(), json.dumps, "\\N"
    _copy_in(OpenedBid, _BID_FIELDS, [
        f"{i}\t{e}\t{lot_id}\t{b}\t{_esc(o)}\t{null if p is None else p}\t{_esc(dumps(t, ensure_ascii=False))}\t"
        f"{_esc(c)}\t{_esc(r)}\t{at}\t{null if k is None else _bytea_text(k)}\n"
        for i, e, lot_id, b, o, p, t, c, r, _at, k in rows])
    _copy_in(OpenedDocument, _DOC_FIELDS, [
        f"{i}\t{d['position']}\t{_esc(d['name'])}\t{_esc(d['content_type'])}\t{d['size']}\t{_esc(d['sha256'])}\n"
        for i, docs in zip(ids, documents) for d in docs])
    names = [sql.concrete_field(OpenedBid, f).attname for f in _BID_FIELDS]
    return [_saved(OpenedBid, names, row) for row in rows]


def _saved(model, attnames: list[str], values: tuple):
    """An instance of rows just written (what Model.from_db gives, without running __init__'s
    per-field machinery 10,000 times): attributes set directly, state 'saved in this database'."""
    obj = model.__new__(model)
    obj._state = ModelState()
    obj._state.adding, obj._state.db = False, connection.alias
    obj.__dict__.update(zip(attnames, values))
    return obj
