"""Real bid files for the tests: PDFs written by pypdf, .docx files written by python-docx (the company set in
docProps/app.xml as Word and WPS write it)."""
from __future__ import annotations

import io
import re
import zipfile


def pdf(*, author: str = "", company: str = "", creator: str = "", producer: str = "") -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    info = {k: v for k, v in (("/Author", author), ("/Company", company), ("/Creator", creator),
                              ("/Producer", producer)) if v}
    if info:
        writer.add_metadata(info)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def docx(*, author: str = "", company: str = "", last_modified_by: str = "", application: str = "",
         text: str = "投标文件") -> bytes:
    import docx as python_docx

    document = python_docx.Document()
    document.add_paragraph(text)
    document.core_properties.author = author
    document.core_properties.last_modified_by = last_modified_by
    raw = io.BytesIO()
    document.save(raw)
    return _with_app_properties(raw.getvalue(), company=company, application=application)


def _with_app_properties(data: bytes, *, company: str, application: str) -> bytes:
    """Rewrite docProps/app.xml with Company / Application (python-docx leaves them alone)."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            body = src.read(item.filename)
            if item.filename == "docProps/app.xml":
                xml = body.decode("utf-8")
                xml = re.sub(r"<Company>.*?</Company>|<Company/>", "", xml)
                xml = re.sub(r"<Application>.*?</Application>|<Application/>", "", xml)
                extra = (f"<Company>{company}</Company>" if company else "") + \
                        (f"<Application>{application}</Application>" if application else "")
                xml = xml.replace("</Properties>", extra + "</Properties>")
                body = xml.encode("utf-8")
            dst.writestr(item, body)
    return out.getvalue()
