"""Collusion screens (串通投标筛查) over one lot's facts: pure functions, no database.

Each screen returns findings (the group of bidders concerned and the evidence); its legal or
literature basis is written beside it in ``BASIS``. Measured precision/recall on synthetic markets
with planted cartels: docs/supervision.md (``python -m supervision.harness``).

Money is integer fen throughout; statistics use floats only for ratios.
"""
from __future__ import annotations

import math
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from collections.abc import Callable, Iterable

ART40 = "《招标投标法实施条例》第四十条"


@dataclass(frozen=True)
class BidFacts:
    bidder: str  # stable id of the bidder (organisation id)
    name: str = ""
    price_fen: int | None = None  # opened price (None before opening or if invalid)
    file_hashes: frozenset[str] = frozenset()  # SHA-256 of each bid document
    doc_meta: frozenset[tuple[str, str]] = frozenset()  # ("author"|"company"|"software", value) of the documents
    contacts: frozenset[str] = frozenset()  # agent / contact persons handling the bid
    payers: frozenset[str] = frozenset()  # bank accounts the deposit was paid from
    addresses: frozenset[str] = frozenset()  # network addresses of the bidder's actions
    devices: frozenset[str] = frozenset()  # clients / devices (user agents)
    keys: frozenset[str] = frozenset()  # signing keys


@dataclass(frozen=True)
class Finding:
    screen: str
    severity: str  # "medium" | "high"
    bidders: tuple[str, ...]
    evidence: dict = field(compare=False, hash=False)


BASIS: dict[str, str] = {
    "same_documents": f"{ART40}第（一）项、第（四）项：不同投标人的投标文件由同一单位或者个人编制、异常一致（相同的文件哈希）",
    "same_preparer": f"{ART40}第（一）项：不同投标人的投标文件由同一单位或者个人编制（文件属性中的作者、单位相同）",
    "same_contact": f"{ART40}第（二）项：不同投标人委托同一单位或者个人办理投标事宜",
    "mixed_documents": f"{ART40}第（五）项：不同投标人的投标文件相互混装（一家的文件属性载明另一投标人）",
    "same_payer": f"{ART40}第（六）项：不同投标人的投标保证金从同一单位或者个人的账户转出",
    "same_address": "电子招标投标平台通行做法（《电子招标投标办法》第三十条、第五十二条记录操作人网络地址）：多家投标人由同一网络地址操作",
    "same_device": "电子招标投标平台通行做法：多家投标人由同一设备/客户端（同一硬件特征或客户端标识）操作",
    "same_key": "电子招标投标平台通行做法：多家投标人使用同一签名密钥（CA证书）",
    "identical_prices": f"{ART40}第（四）项：投标报价异常一致",
    "constant_gaps": f"{ART40}第（四）项：投标报价呈规律性差异（等差排列）",
    "trailing_digits": f"{ART40}第（四）项：投标报价呈规律性差异（尾数相同）；Benford/尾数分析，Imhof (2019)",
    "low_variance": "Imhof, Karagök & Rutz (2018), Screening for bid rigging — does it work? 变异系数 CV < 0.03（报价过于接近）",
    "relative_distance": "Imhof et al. (2018)：最低两价之差相对落标价离散度 RD > 1（掩护性报价）",
    "kurtosis": "Huber & Imhof (2019)：报价峰度过高（陪标价聚集）",
    "skewness": "Huber & Imhof (2019)：报价负偏度（最低价孤立、其余集中在高位）",
    "percentage_difference": "Imhof et al. (2018)：最低两价的百分比差 DIFFP > 5%（而其余报价紧密）",
}
TITLES: dict[str, tuple[str, str]] = {
    "same_documents": ("投标文件相同", "identical bid documents"),
    "same_preparer": ("同一编制人", "same preparer"),
    "same_contact": ("同一联系人/代理人", "same agent or contact"),
    "mixed_documents": ("投标文件混装", "documents mixed up between bidders"),
    "same_payer": ("保证金同一账户转出", "deposits paid from the same account"),
    "same_address": ("同一网络地址", "same network address"),
    "same_device": ("同一设备/客户端", "same device or client"),
    "same_key": ("同一签名密钥", "same signing key"),
    "identical_prices": ("报价相同", "identical prices"),
    "constant_gaps": ("报价等差", "prices at constant gaps"),
    "trailing_digits": ("报价尾数相同", "identical trailing digits"),
    "low_variance": ("报价离散度过低", "low price variance (CV)"),
    "relative_distance": ("最低价孤立（相对距离）", "relative distance of the lowest bid"),
    "kurtosis": ("报价峰度过高", "high kurtosis of prices"),
    "skewness": ("报价负偏", "negative skewness of prices"),
    "percentage_difference": ("最低两价差距过大", "percentage difference of the two lowest bids"),
}
SCREENS: dict[str, Callable[[list[BidFacts]], list[Finding]]] = {}


def screen(name: str):
    def register(fn):
        assert name in BASIS, name
        SCREENS[name] = fn
        return fn

    return register


def _shared(bids: Iterable[BidFacts], values: Callable[[BidFacts], Iterable[str]], name: str,
            severity: str = "high") -> list[Finding]:
    """Bidders sharing a value (two or more distinct bidders behind one value), one finding per group."""
    holders: dict[str, set[str]] = defaultdict(set)
    for b in bids:
        for v in values(b):
            if v:
                holders[v].add(b.bidder)
    groups: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for v, who in holders.items():
        if len(who) >= 2:
            groups[tuple(sorted(who))].append(v)
    return [Finding(name, severity, group, {"shared": sorted(vals)}) for group, vals in sorted(groups.items())]


@screen("same_documents")
def same_documents(bids: list[BidFacts]) -> list[Finding]:
    return _shared(bids, lambda b: b.file_hashes, "same_documents")


def _preparers(b: BidFacts) -> Iterable[str]:
    """Who prepared a bidder's documents: a person (author, or who saved them last) or a company. The creating
    software alone is shared by most bidders (everyone uses the same office suite): not a preparer."""
    for k, v in b.doc_meta:
        if k in ("author", "last_modified_by"):
            yield f"person:{v}"
        elif k == "company":
            yield f"company:{v}"


@screen("same_preparer")
def same_preparer(bids: list[BidFacts]) -> list[Finding]:
    return _shared(bids, _preparers, "same_preparer")


@screen("same_contact")
def same_contact(bids: list[BidFacts]) -> list[Finding]:
    return _shared(bids, lambda b: b.contacts, "same_contact")


@screen("mixed_documents")
def mixed_documents(bids: list[BidFacts]) -> list[Finding]:
    from supervision.docmeta import normalise

    names = {normalise(b.name): b.bidder for b in bids if b.name}
    out = []
    for b in bids:
        for k, v in sorted(b.doc_meta):
            other = names.get(normalise(v))
            if k == "company" and other is not None and other != b.bidder:
                out.append(Finding("mixed_documents", "high", tuple(sorted((b.bidder, other))),
                                   {"documents_of": b.bidder, "name_inside": v}))
    return out


@screen("same_payer")
def same_payer(bids: list[BidFacts]) -> list[Finding]:
    return _shared(bids, lambda b: b.payers, "same_payer")


@screen("same_address")
def same_address(bids: list[BidFacts]) -> list[Finding]:
    return _shared(bids, lambda b: b.addresses, "same_address", severity="medium")


@screen("same_device")
def same_device(bids: list[BidFacts]) -> list[Finding]:
    return _shared(bids, lambda b: b.devices, "same_device", severity="medium")


@screen("same_key")
def same_key(bids: list[BidFacts]) -> list[Finding]:
    return _shared(bids, lambda b: b.keys, "same_key")


# --- price screens ---------------------------------------------------------------------------------

def _priced(bids: list[BidFacts]) -> list[BidFacts]:
    return sorted((b for b in bids if b.price_fen is not None and b.price_fen > 0), key=lambda b: (b.price_fen, b.bidder))


def _all(priced: list[BidFacts]) -> tuple[str, ...]:
    return tuple(sorted(b.bidder for b in priced))


@screen("identical_prices")
def identical_prices(bids: list[BidFacts]) -> list[Finding]:
    return _shared(_priced(bids), lambda b: [str(b.price_fen)], "identical_prices")


GAP_TOLERANCE_FEN = 100  # equal gaps up to one yuan (percent-based cover prices round to the fen)


@screen("constant_gaps")
def constant_gaps(bids: list[BidFacts]) -> list[Finding]:
    """A run of three or more sorted prices with equal non-zero gaps (arithmetic progression)."""
    p = _priced(bids)
    prices = [b.price_fen or 0 for b in p]
    out = []
    i = 0
    while i + 2 < len(prices):
        j = i + 1
        gap = prices[i + 1] - prices[i]
        while gap > 0 and j + 1 < len(prices) and abs((prices[j + 1] - prices[j]) - gap) <= GAP_TOLERANCE_FEN:
            j += 1
        if j - i >= 2:
            run = p[i:j + 1]
            out.append(Finding("constant_gaps", "high", _all(run),
                               {"prices_fen": prices[i:j + 1], "gap_fen": gap}))
            i = j
        else:
            i += 1
    return out


TRAILING = 4  # the last four digits of the price in yuan (fen dropped)


@screen("trailing_digits")
def trailing_digits(bids: list[BidFacts]) -> list[Finding]:
    """Three or more prices ending in the same four non-round digits (in yuan)."""
    p = _priced(bids)
    tails: dict[str, list[BidFacts]] = defaultdict(list)
    for b in p:
        yuan = (b.price_fen or 0) // 100
        tail = f"{yuan % 10 ** TRAILING:0{TRAILING}d}"
        if yuan >= 10 ** TRAILING and tail.strip("0") and len(set(tail)) > 1:
            tails[tail].append(b)
    return [Finding("trailing_digits", "medium", _all(group), {"tail": tail, "count": len(group)})
            for tail, group in sorted(tails.items()) if len(group) >= 3]


def price_stats(prices: list[int]) -> dict[str, float]:
    """Imhof et al.'s screens for one tender's prices (at least 3; kurtosis/skewness need 4)."""
    prices = sorted(prices)
    n = len(prices)
    mean = sum(prices) / n
    sd = statistics.pstdev(prices)
    out = {"n": n, "cv": sd / mean if mean else 0.0}
    b1, b2 = prices[0], prices[1]
    losers = prices[1:]
    sd_losers = statistics.pstdev(losers) if len(losers) >= 2 else 0.0
    out["diffp"] = (b2 - b1) / b1 if b1 else 0.0
    out["rd"] = (b2 - b1) / sd_losers if sd_losers else (math.inf if b2 > b1 else 0.0)
    if n >= 4 and sd > 0:
        m3 = sum((x - mean) ** 3 for x in prices) / n
        m4 = sum((x - mean) ** 4 for x in prices) / n
        out["skew"] = m3 / sd ** 3
        out["kurt"] = m4 / sd ** 4 - 3.0
    return out


CV_MAX = 0.03
RD_MIN = 1.0
DIFFP_MIN = 0.05
KURT_MIN = 1.5
SKEW_MAX = -1.0


def _stat_screen(name: str, test: Callable[[dict], bool], need: int = 3) -> Callable[[list[BidFacts]], list[Finding]]:
    def run(bids: list[BidFacts]) -> list[Finding]:
        p = _priced(bids)
        if len(p) < need:
            return []
        stats = price_stats([b.price_fen or 0 for b in p])
        if test(stats):
            clean = {k: v if isinstance(v, int) else (f"{v:.4f}" if math.isfinite(v) else "inf")
                     for k, v in stats.items()}  # canonical JSON has no floats
            return [Finding(name, "medium", _all(p), clean)]
        return []

    run.__name__ = name
    return screen(name)(run)


_stat_screen("low_variance", lambda s: 0 < s["cv"] < CV_MAX)
_stat_screen("relative_distance", lambda s: s["rd"] > RD_MIN and s["cv"] < 2 * CV_MAX and s["diffp"] > 0.01)
_stat_screen("percentage_difference", lambda s: s["diffp"] > DIFFP_MIN and s["cv"] < 3 * CV_MAX, need=4)
_stat_screen("kurtosis", lambda s: s.get("kurt", 0.0) > KURT_MIN, need=5)
_stat_screen("skewness", lambda s: s.get("skew", 0.0) < SKEW_MAX, need=4)


def screen_lot(bids: list[BidFacts]) -> list[Finding]:
    """Every screen over one lot's bids (in the order of BASIS)."""
    out: list[Finding] = []
    for name in BASIS:
        out += SCREENS[name](bids)
    return out
