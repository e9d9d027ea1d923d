"""ORM models. Importing this package registers every table on `Base.metadata` (Alembic needs that)."""

from app.models.api_client import ApiClient
from app.models.audit_event import AuditEvent
from app.models.auth_failure import AuthFailure
from app.models.base import Base
from app.models.change import RESOURCES as CHANGE_RESOURCES
from app.models.change import Change
from app.models.consultation_event import ConsultationAppointment, ConsultationEvent, consultation_event_departments
from app.models.department import Department
from app.models.disclosure import (
    CHANNEL_GROUPS,
    ApplicantType,
    DisclosureCategory,
    DisclosureChannel,
    DisclosureItem,
    DisclosureItemChannel,
    DisclosureOutcome,
    DisclosureRemedy,
    DisclosureRequest,
    EnforcementFigures,
    FeeBasis,
    RemedyKind,
    RemedyResult,
)
from app.models.enterprise import (
    Enterprise,
    EnterpriseContact,
    EnterpriseInvestorClass,
    EnterpriseSource,
    EnterpriseStatus,
    InvestorClass,
)
from app.models.idempotency_key import IdempotencyKey
from app.models.import_job import ImportJob, ImportStatus
from app.models.industry import Industry
from app.models.kpi import Cohort, CohortKind, CohortMember, KpiFact, Metric, MetricKind, ReportedAs, Target
from app.models.land_parcel import LandParcel
from app.models.meeting import DECISION_MEETINGS, DecisionKind, MajorDecision, Meeting, MeetingKind
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
from app.models.report_snapshot import ReportKind, ReportSnapshot
from app.models.service_officer import OfficerRole, ServiceOfficerAssignment
from app.models.service_request import (
    OPEN_STATUSES,
    REJECTABLE,
    REQUEST_FLOW,
    RejectionReason,
    RequestSource,
    RequestStatus,
    ServiceCategory,
    ServiceRequest,
    ServiceRequestEvent,
    ServiceType,
)
from app.models.talent import (
    ApartmentAllocation,
    ApartmentBatch,
    ApartmentUnit,
    ApplicationStatus,
    HouseholdRegistration,
    TalentGreenCard,
    TalentPerson,
    TalentRole,
)
from app.models.user import User
from app.models.visit import Visit, visit_officers
from app.models.work_calendar import DayKind, WorkCalendarDay, WorkCalendarYear
from app.models.zone import Zone, ZoneAreaVersion, ZoneKind

__all__ = [
    "CHANGE_RESOURCES",
    "CHANNEL_GROUPS",
    "DECISION_MEETINGS",
    "OPEN_STATUSES",
    "PIPELINE",
    "REJECTABLE",
    "REQUEST_FLOW",
    "ApartmentAllocation",
    "ApartmentBatch",
    "ApartmentUnit",
    "ApiClient",
    "ApplicantType",
    "ApplicationStatus",
    "AuditEvent",
    "AuthFailure",
    "Base",
    "Change",
    "Cohort",
    "CohortKind",
    "CohortMember",
    "ConsultationAppointment",
    "ConsultationEvent",
    "DayKind",
    "DecisionKind",
    "Department",
    "DisclosureCategory",
    "DisclosureChannel",
    "DisclosureItem",
    "DisclosureItemChannel",
    "DisclosureOutcome",
    "DisclosureRemedy",
    "DisclosureRequest",
    "EnforcementFigures",
    "Enterprise",
    "EnterpriseContact",
    "EnterpriseInvestorClass",
    "EnterpriseSource",
    "EnterpriseStatus",
    "Escalation",
    "EscalationLevel",
    "FeeBasis",
    "HouseholdRegistration",
    "IdempotencyKey",
    "ImportJob",
    "ImportStatus",
    "Industry",
    "InvestorClass",
    "KpiFact",
    "LandParcel",
    "MajorDecision",
    "Meeting",
    "MeetingKind",
    "Metric",
    "MetricKind",
    "Milestone",
    "MilestoneReplan",
    "MilestoneTemplate",
    "OfficerRole",
    "Project",
    "ProjectStage",
    "ProjectStageEvent",
    "RejectionReason",
    "RemedyKind",
    "RemedyResult",
    "ReportKind",
    "ReportSnapshot",
    "ReportedAs",
    "RequestSource",
    "RequestStatus",
    "ServiceCategory",
    "ServiceOfficerAssignment",
    "ServiceRequest",
    "ServiceRequestEvent",
    "ServiceType",
    "SupervisionRound",
    "TalentGreenCard",
    "TalentPerson",
    "TalentRole",
    "Target",
    "Track",
    "User",
    "Visit",
    "WorkCalendarDay",
    "WorkCalendarYear",
    "Zone",
    "ZoneAreaVersion",
    "ZoneKind",
    "consultation_event_departments",
    "supervision_round_projects",
    "visit_officers",
]
