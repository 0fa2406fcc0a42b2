"""Document metadata of bid files (pure: bytes in, facts out; no database).

《招标投标法实施条例》第四十条第（一）项 deems collusion where different bidders' documents were prepared by the
same unit or person; the trace it leaves is the files' own properties: the author, the company, the creating
software and who saved them last. Read where the platform sees a file in plaintext (an opened bid's documents,
after the opening — never a sealed one):

- PDF: the document information dictionary (``/Author``, ``/Company`` as office suites write it, ``/Creator``,
  ``/Producer``) through pypdf;
- Office Open XML (.docx, .xlsx, .pptx): ``docProps/core.xml`` (``dc:creator``, ``cp:lastModifiedBy``) and
  ``docProps/app.xml`` (``Company``, ``Application`` + ``AppVersion``) read from the zip directly.

Anything else, or a damaged file, gives no facts (never an error: a bidder's broken file is not a finding).
Values are normalised (whitespace collapsed, case folded, control characters dropped, at most 200 characters);
the defaults office suites fill in for everyone ("Administrator", "微软用户" …) are dropped, or every bidder
would share a "preparer".
"""
from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from xml.etree import ElementTree

FIELDS = ("author", "company", "software", "last_modified_by")
MAX_VALUE = 200
MAX_XML_BYTES = 512 * 1024  # a docProps part larger than this is not a real one (and not read)

# what office suites and operating systems write for everyone: no evidence of a common preparer
GENERIC = frozenset({
    "", "administrator", "admin", "user", "owner", "author", "unknown", "microsoft", "microsoft office user",
    "microsoft corporation", "windows user", "windows 用户", "微软用户", "微软中国", "用户", "作者", "匿名", "未知",
    "lenovo", "dell", "hp", "thinkpad", "pc", "china", "中国", "ms", "sky123.org", "deepin", "ylmf", "番茄花园",
    "雨林木风", "python-docx", "pypdf",
})

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_NS = {
    "cp": "http://schemas.openxmlformats.org/package/2006/metadata/core-properties",
    "dc": "http://purl.org/dc/elements/1.1/",
    "ep": "http://schemas.openxmlformats.org/officeDocument/2006/extended-properties",
}


def normalise(value: object) -> str:
    """One form for comparing: NFKC, control characters out, whitespace collapsed, case folded, capped."""
    if not isinstance(value, str):
        return ""
    text = _CONTROL.sub("", unicodedata.normalize("NFKC", value))
    return " ".join(text.split()).casefold()[:MAX_VALUE]


def meaningful(value: str) -> bool:
    return value not in GENERIC and any(ch.isalnum() for ch in value)


def clean(raw: dict[str, object]) -> dict[str, str]:
    """Only the known fields, normalised, generic defaults dropped."""
    out = {}
    for key in FIELDS:
        value = normalise(raw.get(key))
        if meaningful(value):
            out[key] = value
    return out


def extract(content: bytes) -> dict[str, str]:
    """The metadata facts of one file, by its content (the name and the declared type are the bidder's word)."""
    try:
        if content[:5] == b"%PDF-" or b"%PDF-" in content[:1024]:
            return clean(_pdf(content))
        if content[:4] == b"PK\x03\x04":
            return clean(_ooxml(content))
    except Exception:  # noqa: BLE001 - a damaged or hostile file gives no facts, never a failure
        return {}
    return {}


def _pdf(content: bytes) -> dict[str, object]:
    from pypdf import PdfReader

    info: dict = dict(PdfReader(io.BytesIO(content), strict=False).metadata or {})

    def get(key: str) -> object:
        value = info.get(key)
        return str(value) if value is not None else ""

    creator, producer = str(get("/Creator")), str(get("/Producer"))
    return {"author": get("/Author"), "company": get("/Company"),
            "software": creator or producer, "last_modified_by": get("/LastModifiedBy")}


def _part(archive: zipfile.ZipFile, name: str) -> ElementTree.Element | None:
    try:
        info = archive.getinfo(name)
    except KeyError:
        return None
    if info.file_size > MAX_XML_BYTES or info.compress_size > MAX_XML_BYTES:
        return None
    data = archive.read(info)
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:  # docProps never declare entities
        return None
    return ElementTree.fromstring(data)


def _text(root: ElementTree.Element | None, path: str) -> str:
    if root is None:
        return ""
    node = root.find(path, _NS)
    return node.text or "" if node is not None else ""


def _ooxml(content: bytes) -> dict[str, object]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        core, app = _part(archive, "docProps/core.xml"), _part(archive, "docProps/app.xml")
    application, version = _text(app, "ep:Application"), _text(app, "ep:AppVersion")
    return {"author": _text(core, "dc:creator"), "last_modified_by": _text(core, "cp:lastModifiedBy"),
            "company": _text(app, "ep:Company"),
            "software": f"{application} {version}".strip() if application else ""}


def facts(metas: list[dict[str, str]]) -> frozenset[tuple[str, str]]:
    """A bidder's documents' metadata as the screens' ``BidFacts.doc_meta`` pairs."""
    return frozenset((k, v) for meta in metas for k, v in meta.items() if k in FIELDS and v)
