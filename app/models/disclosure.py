from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import Date, Enum, ForeignKey, Index, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import NEVER_REUSE_IDS, Base, TimestampMixin, VersionedMixin


class DisclosureCategory(StrEnum):
    news = "news"  # 工作动态 (动态类信息)
    budget_final_accounts = "budget_final_accounts"  # 财政预决算
    normative_documents = "normative_documents"  # 行政规范性文件
    policy_documents = "policy_documents"  # 政策文件及解读
    plans = "plans"  # 规划计划
    notices = "notices"  # 通知公告
    personnel = "personnel"  # 人事信息
    procurement = "procurement"  # 政府采购
    other = "other"


class DisclosureChannel(StrEnum):
    website = "website"  # 政府网站
    wechat = "wechat"  # 政务微信
    weibo = "weibo"  # 政务微博
    gazette = "gazette"  # 政府公报
    press_conference = "press_conference"  # 新闻发布会
    reading_room = "reading_room"  # 政府信息查阅场所


# The report groups the social-media accounts together ("微博微信公开信息291条").
CHANNEL_GROUPS: dict[str, frozenset[DisclosureChannel]] = {
    "website": frozenset({DisclosureChannel.website}),
    "social_media": frozenset({DisclosureChannel.wechat, DisclosureChannel.weibo}),
    "other": frozenset({DisclosureChannel.gazette, DisclosureChannel.press_conference, DisclosureChannel.reading_room}),
}


class ApplicantType(StrEnum):
    natural_person = "natural_person"  # 自然人
    commercial_enterprise = "commercial_enterprise"  # 商业企业
    research_institution = "research_institution"  # 科研机构
    social_welfare_organization = "social_welfare_organization"  # 社会公益组织
    legal_service_organization = "legal_service_organization"  # 法律服务机构
    other_organization = "other_organization"  # 其他


class DisclosureOutcome(StrEnum):
    """本年度办理结果 in the 2021 national format (国办公开办函〔2021〕30号), by its row codes."""

    disclosed = "1"  # 予以公开
    partly_disclosed = "2"  # 部分公开（区分处理的，只计这一情形）
    withheld_state_secret = "3.1"  # noqa: S105 - 不予公开：属于国家秘密 (a code, not a password)
    withheld_prohibited_by_law = "3.2"  # 其他法律行政法规禁止公开
    withheld_security_stability = "3.3"  # 危及"三安全一稳定"
    withheld_third_party_rights = "3.4"  # 保护第三方合法权益
    withheld_internal_affairs = "3.5"  # 属于三类内部事务信息
    withheld_process_information = "3.6"  # 属于四类过程性信息
    withheld_enforcement_files = "3.7"  # 属于行政执法案卷
    withheld_query_matters = "3.8"  # 属于行政查询事项
    unavailable_not_held = "4.1"  # 无法提供：本机关不掌握相关政府信息
    unavailable_needs_creation = "4.2"  # 没有现成信息需要另行制作
    unavailable_unclear = "4.3"  # 补正后申请内容仍不明确
    not_processed_petition = "5.1"  # 不予处理：信访举报投诉类申请
    not_processed_repeated = "5.2"  # 重复申请
    not_processed_publication = "5.3"  # 要求提供公开出版物
    not_processed_excessive = "5.4"  # 无正当理由大量反复申请
    not_processed_confirmation = "5.5"  # 要求行政机关确认或重新出具已获取信息
    other_no_correction = "6.1"  # 其他处理：申请人无正当理由逾期不补正
    other_fee_unpaid = "6.2"  # 申请人逾期未按收费通知要求缴纳费用
    other = "6.3"  # 其他


class FeeBasis(StrEnum):
    none = "none"
    per_item = "per_item"  # 按件计收
    per_volume = "per_volume"  # 按量计收


class RemedyKind(StrEnum):
    administrative_review = "administrative_review"  # 行政复议
    lawsuit_direct = "lawsuit_direct"  # 行政诉讼：未经复议直接起诉
    lawsuit_after_review = "lawsuit_after_review"  # 行政诉讼：复议后起诉


class RemedyResult(StrEnum):
    upheld = "upheld"  # 结果维持
    corrected = "corrected"  # 结果纠正
    other = "other"  # 其他结果


def _enum(kind: type[StrEnum]) -> Enum:
    # Stored by value, so the outcome codes read as the format prints them ("3.1").
    return Enum(kind, native_enum=False, length=32, values_callable=lambda members: [m.value for m in members])


class DisclosureItem(VersionedMixin, TimestampMixin, Base):
    """An item of proactive disclosure (主动公开), published on one or several channels at `published_at`
    (a future time schedules it). Normative documents carry their abolition date for the statutory table."""

    __tablename__ = "disclosure_items"
    __table_args__ = (Index("ix_disclosure_items_published_at", "published_at"), NEVER_REUSE_IDS)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    category: Mapped[DisclosureCategory] = mapped_column(_enum(DisclosureCategory))
    legal_basis_item: Mapped[int | None] = mapped_column(
        SmallInteger, doc="《政府信息公开条例》第二十条第(n)项, 1–15; null for items outside article 20"
    )
    published_at: Mapped[datetime]
    link: Mapped[str | None] = mapped_column(String(500))
    abolished_on: Mapped[date | None] = mapped_column(Date, doc="normative documents: 废止日期")

    channels: Mapped[list["DisclosureItemChannel"]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="DisclosureItemChannel.channel"
    )


class DisclosureItemChannel(Base):
    __tablename__ = "disclosure_item_channels"
    __table_args__ = (Index("ix_disclosure_item_channels_channel", "channel"),)

    item_id: Mapped[int] = mapped_column(ForeignKey("disclosure_items.id", ondelete="CASCADE"), primary_key=True)
    channel: Mapped[DisclosureChannel] = mapped_column(_enum(DisclosureChannel), primary_key=True)


class DisclosureRequest(VersionedMixin, TimestampMixin, Base):
    """依申请公开: an application, its outcome by the 2021 format's code, and the processing fee (信息处理费)."""

    __tablename__ = "disclosure_requests"
    __table_args__ = (Index("ix_disclosure_requests_received_on", "received_on"), NEVER_REUSE_IDS)

    id: Mapped[int] = mapped_column(primary_key=True)
    applicant_type: Mapped[ApplicantType] = mapped_column(_enum(ApplicantType))
    applicant_name: Mapped[str] = mapped_column(String(100), doc="personal data for natural persons")
    subject: Mapped[str] = mapped_column(String(500))
    received_on: Mapped[date] = mapped_column(Date)
    concluded_on: Mapped[date | None] = mapped_column(Date)
    outcome: Mapped[DisclosureOutcome | None] = mapped_column(_enum(DisclosureOutcome))
    fee_basis: Mapped[FeeBasis] = mapped_column(_enum(FeeBasis), default=FeeBasis.none)
    monthly_ordinal: Mapped[int | None] = mapped_column(
        SmallInteger, doc="per item: this applicant's n-th application in the natural month"
    )
    pages: Mapped[int | None] = mapped_column(doc="per volume: pages provided")
    fee: Mapped[Decimal] = mapped_column(default=Decimal(0))
    note: Mapped[str | None] = mapped_column(Text)


class DisclosureRemedy(VersionedMixin, TimestampMixin, Base):
    """An administrative review or lawsuit about a disclosure decision, and its result (null while pending)."""

    __tablename__ = "disclosure_remedies"
    __table_args__ = (NEVER_REUSE_IDS,)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int | None] = mapped_column(ForeignKey("disclosure_requests.id"), index=True)
    kind: Mapped[RemedyKind] = mapped_column(_enum(RemedyKind))
    filed_on: Mapped[date] = mapped_column(Date)
    result: Mapped[RemedyResult | None] = mapped_column(_enum(RemedyResult))
    concluded_on: Mapped[date | None] = mapped_column(Date)
    # 国办公开办函〔2016〕201号: a lawsuit where the office is co-defendant as the review organ counts
    # only for the original acting organ, not here.
    as_review_organ_co_defendant: Mapped[bool] = mapped_column(default=False)
    note: Mapped[str | None] = mapped_column(Text)


class EnforcementFigures(VersionedMixin, TimestampMixin, Base):
    """The yearly figures of section 二 that are not kept item by item here: licensing, penalty and
    coercion decisions, and fee income. An office without enforcement matters records zeros."""

    __tablename__ = "disclosure_enforcement_figures"
    __table_args__ = ()

    year: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    licensing_decisions: Mapped[int] = mapped_column(default=0)  # 行政许可 本年处理决定数量
    penalty_decisions: Mapped[int] = mapped_column(default=0)  # 行政处罚
    coercion_decisions: Mapped[int] = mapped_column(default=0)  # 行政强制
    fee_income: Mapped[Decimal] = mapped_column(default=Decimal(0), doc="行政事业性收费, yuan")
