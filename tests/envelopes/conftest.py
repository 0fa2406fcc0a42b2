"""Fixtures for the sealed-envelope tests: a published open-tender lot with its opening key."""
from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bidding import services as bidding_services
from bidding.envelopes import envelope as E
from bidding.envelopes import services
from bidding.envelopes.models import OpeningKey
from tests import factories
from trading.models import Lot

PASS = {"staff": "staff-custody-pass", "supervisor": "supervisor-custody-pass", "staff2": "second-staff-pass"}


@dataclass
class Tender:
    world: object
    lot: Lot
    custodians: dict
    keys: dict = field(default_factory=dict)  # bidder user pk -> Ed25519PrivateKey

    @property
    def opening_key(self) -> OpeningKey:
        return OpeningKey.objects.get(lot=self.lot)

    def seal(self, bidder, price_fen: int, *, terms=None, documents=None, **kw) -> dict:
        project, lot, org = services.binding(self.lot, bidder.organisation_id)
        args = dict(lot_public_key=bytes(self.opening_key.public_key), project=project, lot=lot, bidder=org,
                    price_fen=price_fen, terms=terms or {"工期": "180天"}, documents=documents or [],
                    signing_key=self.keys[bidder.pk])
        args.update(kw)
        return E.seal(**args).to_json()

    def submit(self, bidder, price_fen: int, **kw):
        return services.submit_envelope(actor=bidder, lot=self.lot, data=self.seal(bidder, price_fen, **kw))


def make_tender(world, *, bidders=None, security_fen=0, custody=True, k=2) -> Tender:
    custodians = {}
    if custody:
        staff2 = factories.make_user("staff", world.centre)
        for name, user in (("staff", world.staff), ("supervisor", world.supervisor), ("staff2", staff2)):
            services.register_custodian_key(actor=user, passphrase=PASS[name])
            custodians[name] = user
    project = factories.make_project(world, "engineering", "open_tender", publish=True, security_fen=security_fen)
    lot = project.lots.get()
    tender = Tender(world=world, lot=lot, custodians=custodians)
    for bidder in (world.bidders if bidders is None else bidders):
        bidding_services.register(actor=bidder, lot=lot, declaration=[{"condition": c, "met": True}
                                                                        for c in lot.eligibility])
        key = Ed25519PrivateKey.generate()
        bidding_services.register_bidder_key(actor=bidder, public_key_hex=E.ed25519_public_bytes(key).hex())
        tender.keys[bidder.pk] = key
    return tender


@pytest.fixture
def tender(world, clock):
    return make_tender(world)
