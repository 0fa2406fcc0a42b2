"""Document metadata (实施条例 art. 40 (一)): extraction from real PDF and .docx files (pure), the shared-preparer
screen over it (hypothesis), and end to end: two bidders' sealed bids carrying files by the same author and
company are flagged after the opening, a third bidder's files are not."""
from __future__ import annotations

import io
import zipfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from supervision import docmeta, screens
from tests.supervision import docfiles


def test_pdf_information_dictionary_is_read():
    meta = docmeta.extract(docfiles.pdf(author="  李四 ", company="华夏标书制作中心", creator="WPS 文字"))
    assert meta == {"author": "李四", "company": "华夏标书制作中心", "software": "wps 文字"}


def test_docx_core_and_app_properties_are_read():
    meta = docmeta.extract(docfiles.docx(author="Li Si", company="HuaXia Bid Studio", last_modified_by="王五",
                                         application="Microsoft Office Word"))
    assert meta["author"] == "li si" and meta["company"] == "huaxia bid studio"
    assert meta["last_modified_by"] == "王五" and meta["software"].startswith("microsoft office word")


def test_generic_defaults_and_damaged_files_give_nothing():
    assert docmeta.extract(docfiles.pdf(author="Administrator", company="微软中国")) == {}
    assert docmeta.extract(docfiles.docx(author="python-docx", company="")).get("author") is None
    assert docmeta.extract(b"%PDF-1.7 broken beyond repair") == {}
    assert docmeta.extract(b"PK\x03\x04 not a zip") == {}
    assert docmeta.extract("纯文本投标文件".encode()) == {}


def test_an_entity_bomb_in_doc_properties_is_not_read():
    bomb = ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>'
            '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:creator>&b;</dc:creator></cp:coreProperties>')
    raw = io.BytesIO()
    with zipfile.ZipFile(raw, "w") as z:
        z.writestr("docProps/core.xml", bomb)
    assert docmeta.extract(raw.getvalue()) == {}


names = st.text(alphabet=st.characters(categories=("L", "N", "Zs")), min_size=1, max_size=20)


@settings(max_examples=60, deadline=None)
@given(value=st.text(max_size=300))
def test_normalise_is_idempotent_and_bounded(value):
    once = docmeta.normalise(value)
    assert docmeta.normalise(once) == once and len(once) <= docmeta.MAX_VALUE
    assert not any(ord(c) < 32 for c in once)


@settings(max_examples=60, deadline=None)
@given(authors=st.lists(names, min_size=2, max_size=8, unique_by=docmeta.normalise),
       shared=names, pair=st.tuples(st.integers(0, 7), st.integers(0, 7)))
def test_same_preparer_fires_exactly_on_a_shared_author_or_company(authors, shared, pair):
    metas = [docmeta.clean({"author": a, "company": f"{a} 有限公司", "software": "WPS"}) for a in authors]
    facts = [screens.BidFacts(str(i), doc_meta=docmeta.facts([m])) for i, m in enumerate(metas)]
    assert [f for f in screens.SCREENS["same_preparer"](facts)] == []  # distinct preparers, same software
    i, j = pair[0] % len(authors), pair[1] % len(authors)
    s = docmeta.clean({"company": shared})
    if i == j or not s:
        return
    planted = [screens.BidFacts(b.bidder, doc_meta=b.doc_meta | (docmeta.facts([s]) if k in (i, j) else frozenset()))
               for k, b in enumerate(facts)]
    found = screens.SCREENS["same_preparer"](planted)
    assert tuple(sorted((str(i), str(j)))) in [f.bidders for f in found]


def test_last_saved_by_the_other_bidders_author_is_the_same_person():
    a = screens.BidFacts("1", doc_meta=docmeta.facts([docmeta.clean({"author": "张三"})]))
    b = screens.BidFacts("2", doc_meta=docmeta.facts([docmeta.clean({"author": "李四", "last_modified_by": "张三"})]))
    assert [f.bidders for f in screens.SCREENS["same_preparer"]([a, b])] == [("1", "2")]


@pytest.mark.django_db
def test_two_bidders_files_by_the_same_preparer_are_flagged_after_the_opening(world, clock):
    from bidding.envelopes import envelope as E
    from bidding.envelopes import services as env
    from supervision import services
    from supervision.models import Alert, DocumentMeta
    from tests.envelopes.conftest import PASS, make_tender
    from trading.services import transition_lot

    tender = make_tender(world, bidders=world.bidders[:3])
    files = {
        0: [E.Document(name="技术标.pdf", type="application/pdf",
                       content=docfiles.pdf(author="李四", company="华夏标书制作中心", creator="WPS 文字"))],
        1: [E.Document(name="商务标.docx", content=docfiles.docx(author="李四", company="华夏标书制作中心",
                                                               application="WPS Office"))],
        2: [E.Document(name="投标书.docx", content=docfiles.docx(author="王五", company="投标人3建设有限公司",
                                                               application="WPS Office"))],
    }
    for i, bidder in enumerate(world.bidders[:3]):
        tender.submit(bidder, 100_000_00 + i * 3_333_00, documents=files[i])
    services.tick()
    assert not Alert.objects.filter(rule="same_preparer").exists()  # sealed: nothing to read before the opening
    assert not DocumentMeta.objects.exists()
    clock.move_to(tender.lot.bid_deadline)
    transition_lot(lot=tender.lot, action="close_bidding")
    for name in ("staff", "supervisor"):
        env.present_share(actor=tender.custodians[name], lot=tender.lot, passphrase=PASS[name])
    env.open_bids(actor=world.staff, lot=tender.lot)
    services.tick()
    alert = Alert.objects.get(rule="same_preparer", lot=tender.lot)
    assert sorted(b["id"] for b in alert.evidence["bidders"]) == sorted(o.pk for o in world.bidder_orgs[:2])
    assert alert.evidence["shared"] == ["company:华夏标书制作中心", "person:李四"]
    assert alert.visible_from == tender.lot.bid_deadline <= clock.now and "第四十条" in alert.basis
    assert DocumentMeta.objects.count() == 3
    services.tick()  # idempotent: the metadata is read once, the alert raised once
    assert Alert.objects.filter(rule="same_preparer").count() == 1 and DocumentMeta.objects.count() == 3
