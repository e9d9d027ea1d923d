"""ORM models. Importing this package registers every table on `Base.metadata` (Alembic needs that)."""

from app.models.api_client import ApiClient
from app.models.audit_event import AuditEvent
from app.models.auth_failure import AuthFailure
from app.models.base import Base
from app.models.enterprise import (
    Enterprise,
    EnterpriseContact,
    EnterpriseInvestorClass,
    EnterpriseSource,
    EnterpriseStatus,
    InvestorClass,
)
from app.models.industry import Industry
from app.models.kpi import Cohort, CohortKind, CohortMember, KpiFact, Metric, MetricKind, ReportedAs, Target
from app.models.land_parcel import LandParcel
from app.models.project import (
    PIPELINE,
    Escalation,
    EscalationLevel,
    Milestone,
    MilestoneReplan,
    MilestoneTemplate,
    Project,
    ProjectStage,
    ProjectStageEvent,
    SupervisionRound,
    Track,
    supervision_round_projects,
)
from app.models.user import User
from app.models.zone import Zone, ZoneAreaVersion, ZoneKind

__all__ = [
    "PIPELINE",
    "ApiClient",
    "AuditEvent",
    "AuthFailure",
    "Base",
    "Cohort",
    "CohortKind",
    "CohortMember",
    "Enterprise",
    "EnterpriseContact",
    "EnterpriseInvestorClass",
    "EnterpriseSource",
    "EnterpriseStatus",
    "Escalation",
    "EscalationLevel",
    "Industry",
    "InvestorClass",
    "KpiFact",
    "LandParcel",
    "Metric",
    "MetricKind",
    "Milestone",
    "MilestoneReplan",
    "MilestoneTemplate",
    "Project",
    "ProjectStage",
    "ProjectStageEvent",
    "ReportedAs",
    "SupervisionRound",
    "Target",
    "Track",
    "User",
    "Zone",
    "ZoneAreaVersion",
    "ZoneKind",
    "supervision_round_projects",
]
