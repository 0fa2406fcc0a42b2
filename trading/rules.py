"""The rules table: every legal number the platform applies, per project kind and method, with its basis.

Per-kind and per-method behaviour is data here, not `if` chains elsewhere. Periods are calendar days
unless the field name says working days.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from trading.errors import Invalid
from django.utils.translation import gettext_lazy as _

KINDS = {
    "engineering": ("工程建设招投标", "Engineering construction tendering"),
    "procurement": ("政府采购", "Government procurement"),
    "land": ("国有土地使用权出让", "State land use rights"),
    "asset": ("国有资产/产权转让", "State asset / equity transfer"),
}
METHODS = {
    "open_tender": ("公开招标", "Open tender"),
    "invited_tender": ("邀请招标", "Invited tender"),
    "competitive_negotiation": ("竞争性谈判", "Competitive negotiation"),
    "inquiry": ("询价/比选", "Inquiry / comparison"),
    "auction": ("拍卖", "Auction"),
    "listing": ("挂牌", "Listing"),
}
# The path a lot takes through the lifecycle (see trading.lifecycle).
PATHS = {"tender", "auction", "listing"}


@dataclass(frozen=True)
class Rule:
    kind: str
    method: str
    path: str  # tender | auction | listing
    min_notice_days: int  # notice published → bid deadline (or auction / listing start)
    amendment_min_days: int  # an amendment less than this before the deadline pushes the deadline out
    doc_period_min_days: int  # tender documents available for at least this long
    objection_days_before_deadline: int  # objections to the documents end this many days before the deadline
    listing_min_days: int = 0
    security_cap_bp: int = 200  # bid security ≤ this many basis points of the estimate
    security_cap_fen: int | None = None  # and ≤ this absolute amount
    min_valid_bids: int = 3
    evaluation_methods: tuple[str, ...] = ()
    publicity_within_days: int = 3
    publicity_min_days: int = 3
    objection_answer_days: int = 3
    contract_window_days: int = 30
    refund_working_days: int = 5
    withdrawal_refund_days: int = 5
    committee_min: int = 5
    committee_pool_share: Fraction = Fraction(2, 3)
    auction_closing_rules: tuple[str, ...] = ()
    auction_countdown_seconds: int = 300
    auction_soft_close_seconds: int = 300
    auction_max_jump_increments: int = 10
    listing_live_min_bidders: int = 2
    # auctions and listings: the transaction confirmation (成交确认书) fixes the date to sign the contract
    sale_contract_working_days: int = 10
    fees: tuple[tuple[tuple[str, str], tuple[str, str]], ...] = ()
    basis: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    @property
    def label(self) -> str:
        return f"{KINDS[self.kind][0]} · {METHODS[self.method][0]}"


_TENDER_BASIS = {
    "min_notice_days": "《招标投标法》第二十四条：自招标文件开始发出之日起至提交投标文件截止之日止，最短不得少于二十日",
    "amendment_min_days": "《招标投标法》第二十三条：澄清或者修改应当在投标截止时间至少十五日前发出",
    "doc_period_min_days": "《招标投标法实施条例》第十六条：招标文件发售期不得少于五日",
    "objection_days_before_deadline": "《招标投标法实施条例》第二十二条：对招标文件有异议的，应当在投标截止时间十日前提出",
    "security_cap_bp": "《招标投标法实施条例》第二十六条：投标保证金不得超过招标项目估算价的2%",
    "min_valid_bids": "《招标投标法》第二十八条：投标人少于三个的，招标人应当依法重新招标",
    "publicity": "《招标投标法实施条例》第五十四条：收到评标报告之日起三日内公示中标候选人，公示期不得少于三日",
    "objection_answer_days": "《招标投标法实施条例》第五十四条：招标人应当自收到异议之日起三日内作出答复",
    "contract_window_days": "《招标投标法》第四十六条：自中标通知书发出之日起三十日内订立书面合同",
    "refund_working_days": "《招标投标法实施条例》第五十七条：最迟应当在书面合同签订后五日内退还投标保证金",
    "withdrawal_refund_days": "《招标投标法实施条例》第三十五条：投标截止前撤回的，自收到书面撤回通知之日起五日内退还",
    "committee": "《招标投标法》第三十七条：评标委员会成员人数为五人以上单数，技术、经济等方面的专家不得少于成员总数的三分之二",
}
_PROCUREMENT_BASIS = {
    **_TENDER_BASIS,
    "min_notice_days": "《政府采购法》第三十五条：自招标文件开始发出之日起至投标人提交投标文件截止之日止，不得少于二十日",
    "amendment_min_days": "《政府采购货物和服务招标投标管理办法》第二十七条：澄清或者修改在投标截止时间至少十五日前发出",
    "security_cap_bp": "《政府采购法实施条例》第三十三条：投标保证金不得超过采购项目预算金额的2%",
    "refund_working_days": "《政府采购法实施条例》第三十三条：自采购合同签订之日起5个工作日内退还中标供应商的投标保证金",
}
_NEGOTIATION_BASIS = {
    **_PROCUREMENT_BASIS,
    "min_notice_days": "《政府采购非招标采购方式管理办法》第二十九条：从谈判文件发出之日起至供应商提交首次响应文件截止之日止不得少于3个工作日",
    "amendment_min_days": "《政府采购非招标采购方式管理办法》第二十九条：澄清或者修改应当在提交首次响应文件截止之日3个工作日前",
    "min_valid_bids": "《政府采购法》第三十八条、第四十条：从符合相应资格条件的供应商名单中确定不少于三家",
}
_LAND_BASIS = {
    "min_notice_days": "《招标拍卖挂牌出让国有建设用地使用权规定》第十条：出让公告应当至少在投标、拍卖或者挂牌开始日前20日发布",
    "listing_min_days": "《招标拍卖挂牌出让国有建设用地使用权规定》第十九条：挂牌时间不得少于10日",
    "auction": "《招标拍卖挂牌出让国有建设用地使用权规定》第十五条、第十七条：增价拍卖，竞买人的最高应价未达到底价时，该应价不发生效力",
    "security_cap_bp": "出让人在出让文件中确定竞买保证金（本平台上限为起始价的100%）",
    "listing_live": "《招标拍卖挂牌出让国有建设用地使用权规定》第二十条：挂牌期限届满，有两个或两个以上竞买人要求报价的，对挂牌宗地进行现场竞价",
    "confirmation": ("《招标拍卖挂牌出让国有建设用地使用权规定》第二十一条：中标人、竞得人确定后，出让人应当与中标人、竞得人签订成交确认书。"
                     "成交确认书应当包括出让人和中标人、竞得人的名称，出让标的，成交时间、地点、价款以及签订国有建设用地使用权出让合同的时间、"
                     "地点等内容。成交确认书对出让人和中标人、竞得人具有法律效力"),
    "sale_contract": ("《招标拍卖挂牌出让国有建设用地使用权规定》第二十二条：中标人、竞得人应当按照中标通知书或者成交确认书约定的时间，"
                      "与出让人签订国有建设用地使用权出让合同；《关于加强房地产用地供应和监管有关问题的通知》（国土资发〔2010〕34号）："
                      "土地出让成交后，必须在10个工作日内签订出让合同"),
    "sale_deposits": ("《招标拍卖挂牌出让国有建设用地使用权规定》第二十二条：中标人、竞得人支付的投标、竞买保证金，抵作土地出让价款；"
                      "其他投标人、竞买人支付的投标、竞买保证金，出让人必须在招标拍卖挂牌活动结束后5个工作日内予以退还"),
    "result_publicity": "《招标拍卖挂牌出让国有建设用地使用权规定》第二十三条：招标拍卖挂牌活动结束后，出让人应在10个工作日内将出让结果在土地有形市场或者指定的场所、媒介公布",
}
_ASSET_BASIS = {
    "min_notice_days": "《拍卖法》第四十五条：拍卖人应当于拍卖日七日前发布拍卖公告",
    "listing_min_days": "《企业国有资产交易监督管理办法》：挂牌期限（本平台不少于10日）",
    "auction": "《拍卖法》第三十六条、第五十条：竞买人一经应价，不得撤回；保留价未达到时拍卖不成交",
    "security_cap_bp": "拍卖人在拍卖公告中确定竞买保证金（本平台上限为起始价的100%）",
    "confirmation": ("《拍卖法》第五十二条：拍卖成交后，买受人和拍卖人应当签署成交确认书；《企业国有资产交易监督管理办法》"
                     "（国务院国资委、财政部令第32号）：受让方确定后，转让方与受让方应当签订产权交易合同，交易结果通过产权交易机构网站对外公告"),
    "sale_contract": ("《企业国有资产交易监督管理办法》：受让方确定后，转让方与受让方应当签订产权交易合同；"
                      "本平台规则：成交确认书出具后10个工作日内签订"),
    "sale_deposits": "本平台规则（依拍卖公告）：买受人的竞买保证金转作价款，其他竞买人的保证金在成交后5个工作日内退还",
    "result_publicity": "《企业国有资产交易监督管理办法》：产权交易机构应当将交易结果通过交易机构网站对外公告，公告期不少于5个工作日",
}

_FEES_TENDER = (  # ((中文, English) name, (中文, English) text)
    (("招标文件", "Tender documents"), ("免费下载", "free download")),
    (("交易服务费", "Trading service fee"), ("按国家和省发改委核定标准向中标人收取", "charged to the winner at the approved rate")),
    (("投标保证金", "Bid security"), ("不计费，按规则退还", "held, refunded by rule")),
)
_FEES_AUCTION = (
    (("出让/拍卖文件", "Transfer / auction documents"), ("免费下载", "free download")),
    (("交易服务费", "Trading service fee"), ("按核定标准向竞得人收取", "charged to the winner at the approved rate")),
    (("竞买保证金", "Bidding security"), ("不计费，竞得人的转作价款，其余按规则退还", "winner's kept toward the price, others refunded")),
)


def _tender(kind: str, method: str, basis: dict[str, str], **kw: Any) -> Rule:
    defaults: dict[str, Any] = dict(
        path="tender",
        min_notice_days=20,
        amendment_min_days=15,
        doc_period_min_days=5,
        objection_days_before_deadline=10,
        evaluation_methods=("lowest_evaluated_price", "comprehensive"),
        fees=_FEES_TENDER,
    )
    defaults.update(kw)
    return Rule(kind=kind, method=method, basis=basis, **defaults)


def _sale(kind: str, method: str, basis: dict[str, str], **kw: Any) -> Rule:
    defaults: dict[str, Any] = dict(
        path=method,
        min_notice_days=20,
        amendment_min_days=0,
        doc_period_min_days=0,
        objection_days_before_deadline=0,
        security_cap_bp=10000,
        min_valid_bids=1,
        auction_closing_rules=("countdown", "soft_close"),
        fees=_FEES_AUCTION,
    )
    defaults.update(kw)
    return Rule(kind=kind, method=method, basis=basis, **defaults)


RULES: dict[tuple[str, str], Rule] = {
    (r.kind, r.method): r
    for r in (
        _tender("engineering", "open_tender", _TENDER_BASIS, security_cap_fen=80_000_000),
        _tender("engineering", "invited_tender", _TENDER_BASIS, security_cap_fen=80_000_000),
        _tender("procurement", "open_tender", _PROCUREMENT_BASIS),
        _tender("procurement", "invited_tender", _PROCUREMENT_BASIS),
        _tender(
            "procurement", "competitive_negotiation", _NEGOTIATION_BASIS,
            min_notice_days=3, amendment_min_days=3, doc_period_min_days=0, objection_days_before_deadline=0,
            evaluation_methods=("lowest_quote",), committee_min=3,
        ),
        _tender(
            "procurement", "inquiry", _NEGOTIATION_BASIS,
            min_notice_days=3, amendment_min_days=3, doc_period_min_days=0, objection_days_before_deadline=0,
            evaluation_methods=("lowest_quote",), committee_min=3,
        ),
        _tender("land", "open_tender", {**_TENDER_BASIS, "min_notice_days": _LAND_BASIS["min_notice_days"]},
                security_cap_bp=10000),
        _sale("land", "auction", _LAND_BASIS, auction_closing_rules=("countdown", "soft_close")),
        _sale("land", "listing", _LAND_BASIS, listing_min_days=10),
        _sale("asset", "auction", _ASSET_BASIS, min_notice_days=7),
        _sale("asset", "listing", _ASSET_BASIS, listing_min_days=10),
    )
}


def rule_for(kind: str, method: str) -> Rule:
    if kind not in KINDS:
        raise Invalid(_("unknown project kind %(kind)r; expected one of %(KINDS)s"), kind=kind, KINDS=', '.join(KINDS), field="kind")
    if method not in METHODS:
        raise Invalid(_("unknown method %(method)r; expected one of %(METHODS)s"), method=method, METHODS=', '.join(METHODS), field="method")
    try:
        return RULES[(kind, method)]
    except KeyError:
        allowed = ", ".join(m for (k, m) in RULES if k == kind)
        raise Invalid(_("method %(method)r is not used for %(kind)s projects; allowed: %(allowed)s"), method=method, kind=kind, allowed=allowed, field="method") from None


def security_cap_fen(rule: Rule, estimate_fen: int) -> int:
    cap = estimate_fen * rule.security_cap_bp // 10000
    if rule.security_cap_fen is not None:
        cap = min(cap, rule.security_cap_fen)
    return cap


# --- challenges: objections, procurement challenges, complaints, disclosure requests -------------------
# Each kind: who may file, its filing window, the clocks of its answer (and for complaints: acceptance and
# decision), what lifecycle steps wait while it is open, with the article beside each number.
# Units: "days" = calendar days, "working_days" = working days of the official calendar (trading.workdays).


@dataclass(frozen=True)
class Clock:
    n: int
    unit: str  # days | working_days
    basis: str

    def describe(self) -> str:
        return f"{self.n} {'working days' if self.unit == 'working_days' else 'days'}"


@dataclass(frozen=True)
class ChallengeRule:
    kind: str
    label: tuple[str, str]  # (中文, English)
    family: str  # objection (answered by the tenderee/agent/centre) | complaint (supervisor) | disclosure
    project_kinds: frozenset[str]  # empty = any project, or none
    filers: frozenset[str]  # bidder | public
    window: str  # how the filing window is found (trading.challenges.windows)
    window_basis: str
    answer: Clock | None = None  # objections, challenges, disclosure requests
    accept: Clock | None = None  # complaints: acceptance decided within
    decide: Clock | None = None  # complaints: decision within (from acceptance)
    extension: Clock | None = None  # disclosure: once, with a recorded reason
    know_within: Clock | None = None  # filing within this of knowing (or of the previous answer's deadline)
    blocks: frozenset[str] = frozenset()  # lot actions that wait while the case is open
    suspension_max_days: int | None = None  # complaints: the longest suspension the law allows (None: no cap)
    needs_project: bool = True
    remedies: tuple[str, ...] = ()


_ANSWER_ART22 = "《招标投标法实施条例》第二十二条：招标人应当自收到异议之日起3日内作出答复；作出答复前，应当暂停招标投标活动"
_ART44 = "《招标投标法实施条例》第四十四条：投标人对开标有异议的，应当在开标现场提出，招标人应当当场作出答复，并制作记录"
_ART54 = ("《招标投标法实施条例》第五十四条：投标人或者其他利害关系人对依法必须进行招标的项目的评标结果有异议的，应当在中标候选人"
          "公示期间提出。招标人应当自收到异议之日起3日内作出答复；作出答复前，应当暂停招标投标活动")
_ORDER94_CHALLENGE = ("《政府采购质疑和投诉办法》（财政部令第94号）第十条、第十三条：供应商认为采购文件、采购过程、中标或者成交结果"
                      "使自己的权益受到损害的，可以在知道或者应知其权益受到损害之日起7个工作日内提出质疑；采购人、采购代理机构"
                      "应当在收到质疑函后7个工作日内作出答复")
_ART60 = "《招标投标法实施条例》第六十条：投标人或者其他利害关系人认为招标投标活动不符合法律、行政法规规定的，可以自知道或者应当知道之日起10日内向有关行政监督部门投诉"
_ART61 = "《招标投标法实施条例》第六十一条：行政监督部门应当自收到投诉之日起3个工作日内决定是否受理投诉，并自受理投诉之日起30个工作日内作出书面处理决定"
_ART62 = "《招标投标法实施条例》第六十二条：行政监督部门处理投诉，必要时可以责令暂停招标投标活动"
_ORDER94_COMPLAINT = "《政府采购质疑和投诉办法》第十七条：质疑供应商对答复不满意或者未在规定时间内作出答复的，可以在答复期满后15个工作日内提起投诉"
_ORDER94_ACCEPT = "《政府采购质疑和投诉办法》第二十一条：财政部门收到投诉书后，应当在5个工作日内进行审查"
_ORDER94_DECIDE = "《政府采购质疑和投诉办法》第二十六条：财政部门应当自收到投诉之日起30个工作日内，对投诉事项作出处理决定"
_ORDER94_SUSPEND = "《政府采购质疑和投诉办法》第二十八条：财政部门可以暂停采购活动，暂停采购活动时间最长不得超过30日"
_OGI33 = ("《中华人民共和国政府信息公开条例》第三十三条：行政机关收到政府信息公开申请，能够当场答复的，应当当场予以答复；不能当场答复的，"
          "应当自收到申请之日起20个工作日内予以答复；需要延长答复期限的，应当经政府信息公开工作机构负责人同意并告知申请人，"
          "延长的期限最长不得超过20个工作日")
_OGI27 = "《中华人民共和国政府信息公开条例》第二十七条：公民、法人或者其他组织可以向行政机关申请获取相关政府信息"

CHALLENGE_RULES: dict[str, ChallengeRule] = {r.kind: r for r in (
    ChallengeRule(
        "document_objection", ("对招标文件的异议", "Objection to the tender documents"), "objection",
        frozenset({"engineering", "procurement", "land"}), frozenset({"bidder"}),
        window="before_objection_deadline",
        window_basis="《招标投标法实施条例》第二十二条：潜在投标人或者其他利害关系人对招标文件有异议的，应当在投标截止时间10日前提出",
        answer=Clock(3, "days", _ANSWER_ART22), blocks=frozenset({"close_bidding", "open"}),
    ),
    ChallengeRule(
        "opening_objection", ("对开标的异议", "Objection to the opening"), "objection",
        frozenset({"engineering", "procurement", "land"}), frozenset({"bidder"}),
        window="during_opening", window_basis=_ART44,
        answer=Clock(0, "days", _ART44), blocks=frozenset({"evaluate"}),
    ),
    ChallengeRule(
        "candidate_objection", ("对中标候选人的异议", "Objection to the candidates"), "objection",
        frozenset({"engineering", "procurement", "land"}), frozenset({"bidder"}),
        window="during_publicity", window_basis=_ART54,
        answer=Clock(3, "days", _ART54), blocks=frozenset({"award"}), remedies=("reevaluate",),
    ),
    ChallengeRule(
        "procurement_challenge", ("政府采购质疑", "Procurement challenge"), "objection",
        frozenset({"procurement"}), frozenset({"bidder"}),
        window="know_within", window_basis=_ORDER94_CHALLENGE,
        know_within=Clock(7, "working_days", _ORDER94_CHALLENGE),
        answer=Clock(7, "working_days", _ORDER94_CHALLENGE), remedies=("reevaluate", "retender", "cancel_award"),
    ),
    ChallengeRule(
        "engineering_complaint", ("工程建设项目投诉", "Complaint (engineering)"), "complaint",
        frozenset({"engineering", "land"}), frozenset({"bidder", "public"}),
        window="know_within", window_basis=_ART60, know_within=Clock(10, "days", _ART60),
        accept=Clock(3, "working_days", _ART61), decide=Clock(30, "working_days", _ART61),
        remedies=("reevaluate", "retender", "cancel_award"),
    ),
    ChallengeRule(
        "procurement_complaint", ("政府采购投诉", "Complaint (procurement)"), "complaint",
        frozenset({"procurement"}), frozenset({"bidder"}),
        window="after_challenge_answer", window_basis=_ORDER94_COMPLAINT,
        know_within=Clock(15, "working_days", _ORDER94_COMPLAINT),
        accept=Clock(5, "working_days", _ORDER94_ACCEPT), decide=Clock(30, "working_days", _ORDER94_DECIDE),
        suspension_max_days=30, remedies=("reevaluate", "retender", "cancel_award"),
    ),
    ChallengeRule(
        "disclosure_request", ("政府信息公开申请", "Request for disclosure"), "disclosure",
        frozenset(), frozenset({"bidder", "public"}), window="always", window_basis=_OGI27,
        answer=Clock(20, "working_days", _OGI33), extension=Clock(20, "working_days", _OGI33), needs_project=False,
    ),
)}
SUSPENSION_BASIS = {"engineering": _ART62, "land": _ART62, "procurement": _ORDER94_SUSPEND}
# The grounds on which a disclosure request may be refused (政府信息公开条例 2019).
DISCLOSURE_REFUSALS = {
    "state_secret": "第十四条：依法确定为国家秘密的政府信息，法律、行政法规禁止公开的政府信息，以及公开后可能危及国家安全、公共安全、经济安全、社会稳定的政府信息，不予公开",
    "trade_secret_privacy": "第十五条：涉及商业秘密、个人隐私等公开会对第三方合法权益造成损害的政府信息，行政机关不得公开",
    "internal": "第十六条：行政机关的内部事务信息，以及过程性信息、行政执法案卷信息，可以不予公开",
    "not_held": "第三十六条第（四）项：经检索没有所申请公开信息的，告知申请人该政府信息不存在",
    "not_this_body": "第三十六条第（五）项：所申请公开信息不属于本行政机关负责公开的，告知申请人并说明理由",
    "already_public": "第三十六条第（二）项：所申请公开信息已经主动公开的，告知申请人获取该政府信息的方式、途径",
}


def challenge_rule(kind: str) -> ChallengeRule:
    try:
        return CHALLENGE_RULES[kind]
    except KeyError:
        raise Invalid(_("unknown kind of case %(kind)r; expected one of %(CHALLENGE_RULES)s"), kind=kind, CHALLENGE_RULES=', '.join(CHALLENGE_RULES), field="kind") from None
