"""The reports as documents: the annual work report as a Chinese Word draft (.docx), the statutory
disclosure tables as a workbook (.xlsx). The workbook holds only the format's labels and numbers, so no
cell can start a formula; the draft's paragraphs are plain runs of text (names included), never fields."""

from io import BytesIO

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.shared import Pt
from openpyxl import Workbook
from openpyxl.styles import Font

from app.schemas.annual_report import AnnualReport
from app.schemas.report import DisclosureAnnualReport

DOCX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CHINESE_FONT = "宋体"


def annual_report_docx(report: AnnualReport) -> bytes:
    document = Document()
    normal = document.styles["Normal"]
    normal.font.name = CHINESE_FONT
    normal.font.size = Pt(12)
    # Word takes the font for Chinese characters from the East Asian slot, not from `name`.
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), CHINESE_FONT)

    title = document.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = title.add_run(f"{report.office_name}{report.year}年度工作报告")
    run.bold = True
    run.font.size = Pt(18)
    subtitle = document.add_paragraph(
        f"（系统生成草稿 · 指标期间{report.period_label} · 数据截至{report.as_of.isoformat()}）"
    )
    subtitle.alignment = WD_ALIGN_PARAGRAPH.CENTER

    document.add_paragraph("二、行政服务效能情况").runs[0].bold = True
    for section in report.sections:
        heading = document.add_paragraph(section.heading)
        heading.runs[0].bold = True
        for sentence in section.sentences:
            paragraph = document.add_paragraph(sentence)
            paragraph.paragraph_format.first_line_indent = Pt(24)
        if not section.sentences:
            document.add_paragraph("（本期无相关数据）")
    notes = document.add_paragraph("附：数据说明")
    notes.runs[0].bold = True
    for note in report.notes:
        document.add_paragraph(note)
    out = BytesIO()
    document.save(out)
    return out.getvalue()


APPLICANT_HEADERS = ["自然人", "商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他", "总计"]
APPLICANT_KEYS = [
    "natural_person",
    "commercial_enterprise",
    "research_institution",
    "social_welfare_organization",
    "legal_service_organization",
    "other_organization",
    "total",
]
REMEDY_LABELS = {
    "administrative_review": "行政复议",
    "lawsuit_direct": "行政诉讼（未经复议直接起诉）",
    "lawsuit_after_review": "行政诉讼（复议后起诉）",
}


def disclosure_report_xlsx(report: DisclosureAnnualReport) -> bytes:
    workbook = Workbook()
    del workbook["Sheet"]  # the default sheet; ours are named after the format's sections
    active = workbook.create_sheet("二、主动公开")
    active.append([f"{report.year}年政府信息公开工作年度报告 二、主动公开政府信息情况"])
    active.append(["第二十条第（一）项", "本年制发件数", "本年废止件数", "现行有效件数"])
    for document in report.active.documents:
        active.append([document.kind, document.issued, document.abolished, document.in_force])
    active.append([])
    active.append(["第二十条第（五）项", "本年处理决定数量"])
    active.append(["行政许可", report.active.licensing_decisions])
    active.append(["第二十条第（六）项", "本年处理决定数量"])
    active.append(["行政处罚", report.active.penalty_decisions])
    active.append(["行政强制", report.active.coercion_decisions])
    active.append(["第二十条第（八）项", "本年收费金额（万元）"])
    active.append(["行政事业性收费", float(report.active.fee_income_wan)])

    requests = workbook.create_sheet("三、依申请公开")
    requests.append([f"{report.year}年 三、收到和处理政府信息公开申请情况"])
    requests.append(["本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和", *APPLICANT_HEADERS])
    for row in report.applications:
        requests.append([row.label, *(row.counts.get(key, 0) for key in APPLICANT_KEYS)])

    remedies = workbook.create_sheet("四、复议诉讼")
    remedies.append([f"{report.year}年 四、政府信息公开行政复议、行政诉讼情况"])
    remedies.append(["", "结果维持", "结果纠正", "其他结果", "尚未审结", "总计"])
    for remedy in report.remedies:
        remedies.append(
            [REMEDY_LABELS[remedy.kind], remedy.upheld, remedy.corrected, remedy.other, remedy.pending, remedy.total]
        )

    overview = workbook.create_sheet("总体情况")
    overview.append(["主动公开信息（条）", report.overview.items])
    for group, items in report.overview.by_channel_group.items():
        overview.append(
            [{"website": "政府网站", "social_media": "微博微信", "other": "其他渠道"}.get(group, group), items]
        )
    overview.append(["信息处理费（元）", float(report.fees_yuan)])

    for sheet in workbook.worksheets:
        sheet["A1"].font = Font(bold=True)
        sheet.column_dimensions["A"].width = 60
    out = BytesIO()
    workbook.save(out)
    return out.getvalue()
