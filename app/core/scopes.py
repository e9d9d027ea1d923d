"""The scope catalogue and what each staff role may hold. Scopes read `resource:action`."""

from enum import StrEnum

SCOPES: dict[str, str] = {
    "users:read": "查看员工账号 / read staff accounts",
    "users:write": "管理员工账号 / create, change and disable staff accounts",
    "clients:read": "查看对接系统 / read API clients (district systems)",
    "clients:write": "管理对接系统 / create, change, disable API clients and rotate their secrets",
    "audit:read": "查看审计日志 / read the audit log",
    "enterprises:read": "查看企业库 / read enterprises and groups",
    "enterprises:write": "维护企业库 / create, change and delete enterprises",
    "zones:read": "查看集聚区 / read zones and their area bases",
    "zones:write": "维护集聚区及面积口径 / maintain zones and area versions",
    "land_parcels:read": "查看地块 / read land parcels",
    "land_parcels:write": "维护地块 / maintain land parcels and transfers",
    "analytics:read": "查看统计汇总 / read rollups and report figures",
    "personal_data:read": "查看个人信息（联系人、电话）/ see contacts and phone numbers unmasked",
    "projects:read": "查看招商项目与节点 / read projects, milestones and supervision",
    "projects:write": "维护项目、节点与督办 / maintain projects, stages, milestones, escalations, templates",
    "confidential:read": "查看保密项目真实名称 / see the real names of projects that have a code name",
    "kpis:read": "查看指标数据 / read metrics and monthly KPI facts",
    "kpis:write": "报送指标数据 / submit KPI facts (bulk) and maintain metrics",
    "sensitive_kpis:read": "查看涉税等敏感指标 / see sensitive metrics' figures, such as tax",
    "services:read": "查看企业服务 / read service officers, the catalogue, service requests, visits and fairs",
    "services:write": "办理企业服务 / maintain service officers and the catalogue; register and handle requests, "
    "visits and consultation fairs",
    "talents:read": "查看人才服务 / read talents, talent apartments, household registrations and green cards",
    "talents:write": "办理人才服务 / maintain talents, apartment allocations, household registrations, green cards",
    "calendar:write": "维护工作日历 / maintain the holiday arrangements (节假日与调休) behind working-day limits",
    "disclosures:read": "查看政务公开 / read disclosure items, requests for disclosure, reviews and lawsuits",
    "disclosures:write": "维护政务公开 / publish and schedule items; register and conclude requests for disclosure",
    "decisions:read": "查看会议与决策 / read meetings and major decisions (三重一大)",
    "decisions:write": "记录会议与决策 / record meetings and the decisions taken at them",
    "reports:read": "查看报告 / generate the annual work report and the statutory disclosure report; read snapshots",
    "reports:write": "冻结报告 / freeze reports as snapshots; enter the yearly enforcement figures",
    "webhooks:manage": "管理事件推送 / manage webhook subscriptions and their secrets; read and retry deliveries",
}

# Clearances: what a caller must hold to see personal data and confidential project names.
PERSONAL_DATA = "personal_data:read"
CONFIDENTIAL = "confidential:read"
SENSITIVE_KPIS = "sensitive_kpis:read"

_REGISTRY_READ = frozenset(
    {
        "enterprises:read",
        "zones:read",
        "land_parcels:read",
        "analytics:read",
        "projects:read",
        "kpis:read",
        "services:read",
        "talents:read",
        "disclosures:read",
        "decisions:read",
        "reports:read",
    }
)
_REGISTRY_WRITE = frozenset(
    {
        "enterprises:write",
        "zones:write",
        "land_parcels:write",
        "projects:write",
        "kpis:write",
        "services:write",
        "talents:write",
        "disclosures:write",
        "decisions:write",
        "reports:write",
    }
)
# Cleared staff: contacts unmasked and the real names behind project code names.
_CLEARED = frozenset({"personal_data:read", "confidential:read", "sensitive_kpis:read"})


class Role(StrEnum):
    admin = "admin"  # 系统管理员
    leader = "leader"  # 分管领导: reads everything, incl. the audit trail
    officer = "officer"  # 招商/服务专员: day-to-day writes on the domain
    viewer = "viewer"  # 只读


ROLE_SCOPES: dict[Role, frozenset[str]] = {
    Role.admin: frozenset(SCOPES),
    # Leaders also sign reports off: freezing one is theirs as much as the officers'.
    Role.leader: frozenset({"users:read", "clients:read", "audit:read", "reports:write"}) | _REGISTRY_READ | _CLEARED,
    # Officers (including chief service officers) work with enterprise contacts every day.
    Role.officer: _REGISTRY_READ | _REGISTRY_WRITE | _CLEARED,
    Role.viewer: _REGISTRY_READ,
}


def parse_scopes(text: str | None) -> frozenset[str]:
    return frozenset(text.split()) if text else frozenset()


def unknown_scopes(scopes: frozenset[str]) -> frozenset[str]:
    return scopes - SCOPES.keys()
