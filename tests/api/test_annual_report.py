"""The annual work report generated from the demo data carries the 2018 report's figures; frozen, it never
changes, and later data show as differences against it."""

import io
import re
import zipfile
from typing import Any
from xml.etree import ElementTree

import httpx

from app.core.scopes import Role
from tests.conftest import UserFactory

REPORT = "/api/v1/reports/annual/2018"
WORD = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"

# The seed report's sentences, as the draft must carry them (separators as the draft writes them).
SEED_FIGURES = [
    "重点招商项目实现营收486.1亿元，同比增长26.1%，完成任务目标进度的147.3%；税收20.5亿元，同比增长12.1%，完成任务目标进度的136.7%；固定资产投资171.6亿元",
    "引进落地了72个企业，注册资本102.35亿元",
    "含世界500强投资企业8家，中国500强投资企业16家",
    "先后出让28宗地块，引入20家龙头企业，共设立94家项目及业务公司，总注册资本161.3亿元",
    "已有13家拍地企业在我区开展实质性产业业务",
    "集聚区企业实现营收140.3亿元，同比增长91.9%；税收9.3亿元，同比增长34.8%；固定资产投资78.8亿元",
    "目前已产生2个亿元税收企业",
    "核心区+拓展区+配套区共计0.37平方公里计算，营收强度379.2亿元/平方公里，税收强度25.1亿元/平方公里",
    "等32家企业",
    "长条桌送服务现场问诊会—琶洲专场",
    "目前已为14家企业共30名人才提供免费人才公寓",
    "2018年共协助17家企业45名人才成功申报白卡落户",
    "等4家世界500强企业的高级管理人员获批21个人才绿卡",
    "2018年共开展中心组学习37次",
    "3场民主生活会、4场组织生活会",
    "本单位2018年全年主动公开政府信息358条，其中，动态类信息336条；财政预决算信息8条",
    "政府网站公开信息67条，微博微信公开信息291条",
]


def _text(report: dict[str, Any]) -> str:
    return "\n".join(s for section in report["sections"] for s in section["sentences"])


def _docx_paragraphs(content: bytes) -> list[str]:
    """The document's paragraphs read straight from its XML, without the library that wrote it."""
    with zipfile.ZipFile(io.BytesIO(content)) as document:
        root = ElementTree.fromstring(document.read("word/document.xml"))  # noqa: S314 - the file we just generated
    return ["".join(t.text or "" for t in p.iter(f"{WORD}t")) for p in root.iter(f"{WORD}p")]


async def test_the_2018_report_carries_the_seed_figures(
    client: httpx.AsyncClient, demo_leader: dict[str, str], make_user: UserFactory
) -> None:
    response = await client.get(REPORT, params={"through_month": 10}, headers=demo_leader)
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["period_label"], report["as_of"], report["withheld_metrics"]) == ("2018年1–10月", "2018-12-31", [])
    text = _text(report)
    for figure in SEED_FIGURES:
        assert figure in text, figure
    # The report printed the investment intensity truncated (212.9); the draft rounds 212.97 half-up.
    assert "投资强度213.0亿元/平方公里" in text
    [pazhou] = report["investment"]["clusters"]
    fai = next(i for i in pazhou["intensity"] if i["metric"] == "fixed_asset_investment")
    assert fai["yi_per_km2"].startswith("212.97")
    settlement = report["investment"]["settlement"]
    assert (settlement["enterprises"], settlement["new_or_relocated_share"], settlement["in_any_investor_class"]) == (
        72,
        "0.5972",
        24,
    )
    assert report["decision_making"]["meetings"]["central_group_study"] == 37
    assert report["disclosure"]["total"] == 358

    word = await client.get(REPORT, params={"through_month": 10, "format": "docx"}, headers=demo_leader)
    assert word.status_code == 200
    assert word.headers["content-type"] == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    assert "filename*=UTF-8''2018" in word.headers["content-disposition"]
    paragraphs = _docx_paragraphs(word.content)
    assert paragraphs[0] == "区招商办公室2018年度工作报告"
    body = "\n".join(paragraphs)
    for figure in SEED_FIGURES:
        assert figure in body, figure

    # Without sensitive_kpis:read the tax figures are left out, and the report says so.
    _, viewer = await make_user(Role.viewer)
    plain = (await client.get(REPORT, params={"through_month": 10}, headers=viewer)).json()
    assert plain["withheld_metrics"] == ["tax"]
    assert "税收20.5亿元" not in _text(plain) and "亿元税收企业" not in _text(plain)
    assert "营收486.1亿元" in _text(plain)


async def test_bad_report_questions(client: httpx.AsyncClient, demo_leader: dict[str, str]) -> None:
    cases: list[tuple[dict[str, str | int], str]] = [
        ({"as_of": "2019-01-01"}, "date_out_of_range"),
        ({"as_of": "2018-05-31", "through_month": 10}, "date_order"),
        ({"key_cohort": "nope"}, "unknown_reference"),
        ({"through_month": 13}, "validation_failed"),
        ({"format": "pdf"}, "validation_failed"),
        # The demo's KPI facts reach October: a report through December would print 0.0亿元.
        ({"through_month": 12}, "no_kpi_data"),
    ]
    for params, code in cases:
        response = await client.get(REPORT, params=params, headers=demo_leader)
        assert (response.status_code, response.json()["code"]) == (422, code), params
    ahead = await client.get("/api/v1/reports/annual/2100", headers=demo_leader)
    assert (ahead.status_code, ahead.json()["errors"][0]["loc"]) == (422, ["query", "year"])
    frozen_wrong = await client.post(
        "/api/v1/report-snapshots", json={"kind": "annual_work", "year": 2018, "through_month": 12}, headers=demo_leader
    )
    assert (frozen_wrong.status_code, frozen_wrong.json()["errors"][0]["loc"]) == (422, ["body", "through_month"])
    # Half a year: the counts run to 30 June and say so; no KPI fact reaches June yet, so none is printed
    # (rather than "营收0.0亿元").
    half = (await client.get(REPORT, params={"as_of": "2018-06-30"}, headers=demo_leader)).json()
    text = _text(half)
    assert "全年" not in text and "截至6月30日主动公开政府信息" in text
    assert "重点招商项目实现" not in text and "0.0亿元" not in text
    assert any("尚无指标数据" in note for note in half["notes"])
    empty = await client.get("/api/v1/reports/annual/1995", headers=demo_leader)
    assert (empty.status_code, empty.json()["code"]) == (422, "report_year_empty")


async def test_a_frozen_report_never_changes_and_shows_later_changes_as_differences(
    client: httpx.AsyncClient, demo_leader: dict[str, str], make_user: UserFactory
) -> None:
    frozen = await client.post(
        "/api/v1/report-snapshots", json={"kind": "annual_work", "year": 2018, "through_month": 10}, headers=demo_leader
    )
    assert frozen.status_code == 201, frozen.text
    snapshot = frozen.json()
    assert re.fullmatch(r"[0-9a-f]{64}", snapshot["content_sha256"])
    assert snapshot["parameters"] == {"through_month": 10, "as_of": "2018-12-31", "key_cohort": "key-2018"}
    url = f"/api/v1/report-snapshots/{snapshot['id']}"
    assert (await client.get(f"{url}/diff", headers=demo_leader)).json() == {
        "snapshot_id": snapshot["id"],
        "unchanged": True,
        "differences": [],
    }
    for method in ("PATCH", "PUT", "DELETE"):
        edit = await client.request(method, url, json={"content": {}}, headers=demo_leader | {"If-Match": '"1"'})
        assert (edit.status_code, edit.json()["code"]) == (409, "snapshot_frozen"), method

    # Someone records, after the fact, one more item published in 2018.
    _, officer = await make_user(Role.officer)
    late = await client.post(
        "/api/v1/disclosures",
        json={
            "title": "补录的工作动态",
            "category": "news",
            "channels": ["weibo"],
            "published_at": "2018-12-28T10:00:00+08:00",
        },
        headers=officer,
    )
    assert late.status_code == 201
    again = (await client.get(url, headers=demo_leader)).json()
    assert again["content"] == snapshot["content"]  # the frozen report is as it was
    changes = {
        d["path"]: (d["frozen"], d["now"])
        for d in (await client.get(f"{url}/diff", headers=demo_leader)).json()["differences"]
    }
    assert changes["disclosure.total"] == (358, 359)
    assert changes["disclosure.by_channel_group[key=social_media].items"] == (291, 292)
    assert "generated_at" not in changes

    word = await client.get(url, params={"format": "docx"}, headers=demo_leader)
    assert "政府网站公开信息67条，微博微信公开信息291条" in "\n".join(_docx_paragraphs(word.content))
    assert (await client.get(url, params={"format": "xlsx"}, headers=demo_leader)).status_code == 406

    # A snapshot with tax figures does not exist for a caller without the clearance.
    _, viewer = await make_user(Role.viewer)
    assert (await client.get(url, headers=viewer)).status_code == 404
    assert (await client.get("/api/v1/report-snapshots", headers=viewer)).json()["total"] == 0
    assert (await client.get("/api/v1/report-snapshots", headers=demo_leader)).json()["total"] == 1
