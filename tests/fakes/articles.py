"""Small article files in every format the bot reads, built on the fly for the ingest tests and the e2e run."""

from __future__ import annotations

import io
from pathlib import Path

ARABIC_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")  # Debian fonts-dejavu-core: has Arabic

LIBRARY_TITLE = "Leeds central library reopens after a year"
LIBRARY = [
    "The central library in Leeds reopened on Saturday after a year of repairs to its roof and its "
    "Victorian tiled hall, the city council said.",
    "More than two thousand visitors came through the doors on the first day, many of them children "
    "who had never seen the building open.",
    "The repairs cost 4.2 million pounds and were paid for by the council and a heritage lottery grant, "
    "according to the library's director, Helen Marsh.",
]

BRIDGE_TITLE = "Harbour bridge in Aberdeen closes for painting"
BRIDGE = [
    "The old harbour bridge in Aberdeen will close to traffic for six weeks from Monday while workers "
    "repaint its steel arches in the original green.",
    "Buses will be diverted along the coast road, adding about ten minutes to journeys into the city "
    "centre, the transport authority said.",
    "The bridge was opened in 1881 and was last painted in 1996, when the work took three months because of storms.",
]

ARABIC_TITLE = "افتتاح مكتبة جديدة في عمان"
ARABIC = [
    "افتتحت أمانة عمان الكبرى يوم السبت مكتبة عامة جديدة في وسط المدينة تضم أكثر من عشرين ألف كتاب.",
    "وقال مدير المكتبة إن القاعة الرئيسية ستبقى مفتوحة حتى منتصف الليل خلال فصل الشتاء للطلاب والباحثين.",
    "وبلغت كلفة المشروع ثلاثة ملايين دينار، دفعت الحكومة نصفها ودفع متبرعون من القطاع الخاص النصف الآخر.",
]


def html_page(title: str = LIBRARY_TITLE, paragraphs: list[str] = LIBRARY, *, date: str = "2026-11-01") -> bytes:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        f'<html><head><title>{title} | Yorkshire Post</title><meta property="og:title" content="{title}">'
        f'<meta property="og:site_name" content="Yorkshire Post"><meta name="date" content="{date}"></head>'
        f"<body><nav>Home News Sport Weather</nav><article><h1>{title}</h1>{body}</article>"
        "<footer>Cookies and privacy</footer></body></html>"
    ).encode()


def pdf_file(paragraphs: list[str], *, title: str | None = None, password: str | None = None) -> bytes:
    """A PDF with one multi-line cell per paragraph; Arabic is shaped (harfbuzz) as real PDFs are."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.add_font("dejavu", "", str(ARABIC_FONT))
    pdf.set_font("dejavu", size=12)
    pdf.set_text_shaping(True)
    if title:
        pdf.set_title(title)
    for paragraph in paragraphs:
        pdf.multi_cell(0, 8, paragraph)
        pdf.ln(6)
    if password:
        pdf.set_encryption(owner_password="owner", user_password=password)
    return bytes(pdf.output())


def docx_file(title: str, paragraphs: list[str]) -> bytes:
    import docx

    document = docx.Document()
    document.add_paragraph(title, style="Title")
    for paragraph in paragraphs:
        document.add_paragraph(paragraph)
        document.add_paragraph("")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
