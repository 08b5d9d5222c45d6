"""The signed copy of a consent, as a PDF (fpdf2): what was agreed, by whom, when, how.

The copy names the document's version and the SHA-256 of its text, each section with its
agreement, the typed name, the time (UTC) and the method (electronic by private link, or paper
recorded by a named staff member), so the participant's copy and the site's file can be compared
with the database. Text is drawn with DejaVu Sans when the system has it (any language), otherwise
with a core font and anything it cannot draw replaced.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

from fpdf import FPDF

FONT_FILE = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def document_digest(title: str, sections: list[dict[str, str]]) -> str:
    """The SHA-256 of a document's words, as printed on every signed copy."""
    payload = json.dumps({"title": title, "sections": sections}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def signed_copy(
    *,
    study: str,
    participant: str,
    title: str,
    version: int,
    approved_on: str,
    sections: list[dict[str, str]],
    agreed: list[int],
    signed_name: str,
    consented_at: datetime,
    method: str,
    recorded_by: str,
) -> bytes:
    pdf = FPDF(format="A4")
    pdf.set_title(f"Consent {participant} {title} v{version}")
    pdf.set_creator("Attune")
    unicode_font = FONT_FILE.exists()
    if unicode_font:
        pdf.add_font("body", "", str(FONT_FILE))
        family = "body"
    else:  # pragma: no cover - every supported system ships DejaVu
        family = "helvetica"

    def text(value: str) -> str:
        return value if unicode_font else value.encode("latin-1", "replace").decode("latin-1")

    def line(value: str, size: int = 10, height: float = 5.5) -> None:
        pdf.set_font(family, size=size)
        pdf.multi_cell(0, height, text(value), new_x="LMARGIN", new_y="NEXT")

    pdf.add_page()
    line(f"{title} (version {version})", 15, 8)
    line(f"Study {study} · participant {participant} · approved on {approved_on}")
    line(f"Document SHA-256: {document_digest(title, sections)}", 8)
    pdf.ln(3)
    for index, section in enumerate(sections):
        mark = "[x] agreed" if index in agreed else "[ ] not agreed"
        line(f"{index + 1}. {section.get('title', '')}  {mark}", 11, 6)
        line(section.get("text", ""), 9, 4.8)
        pdf.ln(2)
    pdf.ln(4)
    when = consented_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    how = (
        "electronically, through the participant's private consent link"
        if method == "electronic"
        else f"on paper; recorded by {recorded_by}"
    )
    line(f"Signed by (typed name): {signed_name}", 11, 6)
    line(f"Consented at: {when}", 11, 6)
    line(f"Method: {how}", 11, 6)
    return bytes(pdf.output())
