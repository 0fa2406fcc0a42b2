"""Bulk reads and writes for the opening ceremony (10,000 envelopes of 64 KiB in one transaction).

Used only inside `services.open_bids`' transaction.  On PostgreSQL:
- the envelopes stream in with `COPY (SELECT …) TO STDOUT (FORMAT binary)`: bytea arrives as raw
  bytes (not hex text, half the bytes and no decoding), only the needed columns, tuple by tuple.
  The COPY runs on this transaction's connection in a helper thread while the caller decrypts,
  so PostgreSQL reads the next envelopes while Python opens the current one; a bounded queue
  keeps at most a few MiB in memory.
- the opened bids and their documents go in with `COPY … FROM STDIN`, ids taken from the table's
  sequence in one query.  Every CHECK / UNIQUE constraint and trigger applies to COPY as to INSERT.
Elsewhere (SQLite demo) the same rows come from the ORM (`.values_list().iterator()`, `bulk_create`).
"""
from __future__ import annotations

import datetime as dt
import io
import json
import queue
import threading
from collections.abc import Iterator

from django.db import connection

from bidding.envelopes.models import Envelope, OpenedBid, OpenedDocument

# (id, bidder_id, digest, signature, bidder key hex, bidder name, ciphertext)
EnvelopeRow = tuple[int, int, str, bytes, str, str, bytes]

_COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
_QUEUE_ROWS = 64  # ≈ 4 MiB of 64 KiB envelopes in flight


def _int8(b) -> int:
    return int.from_bytes(b, "big", signed=True)


def _text(b) -> str:
    return bytes(b).decode("utf-8")


def _bytea(b) -> bytes:
    return bytes(b)


_DECODERS = (_int8, _int8, _text, _bytea, _text, _text, _bytea)


def envelope_rows(lot) -> Iterator[EnvelopeRow]:
    """The lot's active envelopes, oldest first, streamed (never all in memory).

    Close the iterator (or exhaust it) before using the connection again."""
    if connection.vendor == "postgresql":
        return _copy_rows(lot.pk)
    qs = (Envelope.objects.filter(lot=lot, status="active").order_by("submitted_at", "id")
          .values_list("id", "bidder_id", "digest", "signature", "bidder_key__public_key_hex", "bidder__name",
                       "ciphertext"))
    return (tuple(bytes(v) if isinstance(v, memoryview) else v for v in row) for row in qs.iterator(chunk_size=100))


class _BinaryCopySink:
    """File-like target of `COPY … TO STDOUT (FORMAT binary)`: parses tuples as the data arrives."""

    def __init__(self, out: queue.Queue):
        self.out = out
        self.buf = bytearray()
        self.header_done = False
        self.finished = False
        self.stop = threading.Event()

    def write(self, data) -> int:
        if self.stop.is_set():  # the reader gave up: let the COPY drain so the connection stays usable
            return len(data)
        buf = self.buf
        buf += data
        pos, n, rows = 0, len(buf), []
        with memoryview(buf) as mv:
            if not self.header_done:
                if n < 19:
                    return len(data)
                if bytes(mv[:11]) != _COPY_SIGNATURE:
                    raise ValueError("unexpected COPY binary header")
                pos = 19 + _int8(mv[15:19])
                if pos > n:
                    return len(data)
                self.header_done = True
            while pos + 2 <= n:
                count = _int8(mv[pos:pos + 2])
                if count == -1:  # trailer
                    pos += 2
                    self.finished = True
                    break
                if count != len(_DECODERS):
                    raise ValueError(f"COPY returned {count} columns, expected {len(_DECODERS)}")
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
                rows.append(tuple(fields))
                pos = p
        if pos:
            del buf[:pos]
        for row in rows:
            self.out.put(row)
        return len(data)


_DONE = object()


def _copy_rows(lot_id: int) -> Iterator[EnvelopeRow]:
    env, key, org = (Envelope._meta.db_table, Envelope._meta.get_field("bidder_key").related_model._meta.db_table,
                     Envelope._meta.get_field("bidder").related_model._meta.db_table)
    select = (f'SELECT e.id::int8, e.bidder_id::int8, e.digest::text, e.signature, k.public_key_hex::text, '
              f'o.name::text, e.ciphertext FROM {env} e JOIN {key} k ON k.id = e.bidder_key_id '
              f'JOIN {org} o ON o.id = e.bidder_id WHERE e.lot_id = %s AND e.status = %s '
              f'ORDER BY e.submitted_at, e.id')
    connection.ensure_connection()
    out: queue.Queue = queue.Queue(maxsize=_QUEUE_ROWS)
    sink = _BinaryCopySink(out)
    with connection.cursor() as cursor:
        raw = cursor.cursor  # the psycopg2 cursor of this transaction's connection
        sql = "COPY (" + raw.mogrify(select, [lot_id, "active"]).decode() + ") TO STDOUT WITH (FORMAT binary)"

        def run():
            try:
                raw.copy_expert(sql, sink)
                out.put(_DONE)
            except BaseException as exc:  # noqa: BLE001 — handed to the reader, raised there
                out.put(exc)

        worker = threading.Thread(target=run, name="opening-copy", daemon=True)
        worker.start()
        try:
            while True:
                item = out.get()
                if item is _DONE:
                    if not sink.finished:
                        raise RuntimeError("the COPY of the envelopes ended early")
                    return
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            sink.stop.set()
            while worker.is_alive():  # unblock a writer waiting on the full queue, let the COPY drain
                try:
                    out.get(timeout=0.05)
                except queue.Empty:
                    pass
            worker.join()


# --- writing the opened bids -------------------------------------------------------------------

_BID_FIELDS = ("id", "envelope", "lot", "bidder", "outcome", "price_fen", "terms", "failure_code",
               "failure_reason", "opened_at", "content_key")
_DOC_FIELDS = ("bid", "position", "name", "content_type", "size", "sha256")


def _copy_value(value) -> str:
    if value is None:
        return r"\N"
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "\\\\x" + bytes(value).hex()
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dict):
        value = json.dumps(value, ensure_ascii=False)
    return str(value).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _copy_in(model, fields: tuple[str, ...], rows: list[tuple]) -> None:
    columns = ", ".join(connection.ops.quote_name(model._meta.get_field(f).column) for f in fields)
    buf = io.StringIO("".join("\t".join(_copy_value(v) for v in row) + "\n" for row in rows))
    with connection.cursor() as cursor:
        cursor.cursor.copy_expert(f"COPY {model._meta.db_table} ({columns}) FROM STDIN", buf)


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
    _copy_in(OpenedBid, _BID_FIELDS, rows)
    _copy_in(OpenedDocument, _DOC_FIELDS,
             [(i, d["position"], d["name"], d["content_type"], d["size"], d["sha256"])
              for i, docs in zip(ids, documents) for d in docs])
    names = [OpenedBid._meta.get_field(f).attname for f in _BID_FIELDS]
    return [OpenedBid.from_db(connection.alias, names, row) for row in rows]
