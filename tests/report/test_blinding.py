"""The blinded report holds no allocation information in any file it writes: text, figure
metadata, figure text, PDF text and metadata, file names. The same search finds the arms in the
unblinded report, so the search itself works."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest

from attune.dataset import blind
from attune.protocol import get_protocol
from attune.report import ReportError, build_report

from .conftest import pdf_text


def forbidden_words() -> list[str]:
    protocol = get_protocol("mapp")
    words = {"placebo", "product", "MDMA", "PBO"}
    for arm in protocol.arms:
        words |= {arm.id, arm.label}
    assert protocol.dosing is not None
    words.add(protocol.dosing.drug)
    return sorted(words)


def searchable_text(path: Path) -> str:
    """What a reader or a tool can see in a written file."""
    data = path.read_bytes()
    if path.suffix == ".pdf":
        return pdf_text(data)
    if path.suffix == ".png":
        # metadata chunks (tEXt/iTXt) are the only text a PNG carries
        return " ".join(
            chunk.decode("latin-1")
            for chunk in re.findall(
                rb"(?:tEXt|iTXt|zTXt)(.{0,400}?)(?=.{4}(?:IDAT|IEND|tEXt|iTXt))", data, re.S
            )
        )
    document = data.decode("utf-8")
    embedded = re.findall(r"data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)", document)
    # base64 of pictures is random text ("PBO" can occur by chance): search it decoded instead
    document = re.sub(r"data:image/[a-z+]+;base64,[A-Za-z0-9+/=]+", "", document)
    return document + "\n".join(base64.b64decode(e).decode("utf-8") for e in embedded)


def leaks(files: list[Path]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in files:
        haystack = (path.name + "\n" + searchable_text(path)).lower()
        hits = [w for w in forbidden_words() if w.lower() in haystack]
        if hits:
            found[path.name] = hits
    return found


def test_the_search_finds_the_arms_in_the_unblinded_report(written):
    found = leaks(written)
    assert "MDMA" in found["report.html"] and "PBO" in found["report.html"]
    assert "report.pdf" in found
    assert any(name.endswith(".svg") for name in found)  # legends and titles are searchable


def test_no_file_of_the_blinded_report_mentions_an_arm(blinded_written):
    assert {p.suffix for p in blinded_written} == {".html", ".png", ".svg", ".pdf"}
    assert leaks(blinded_written) == {}


def test_blinded_metadata(blinded_written, blinded_report):
    pdf = next(p for p in blinded_written if p.suffix == ".pdf").read_bytes()
    titles = re.findall(rb"/Title \(((?:\\.|[^\\)])*)\)", pdf)
    assert titles and b"Blinded trial report" in titles[0]
    html = next(p for p in blinded_written if p.suffix == ".html").read_text()
    assert '<meta name="attune-report-blinded" content="yes">' in html
    assert blinded_report.blinded
    assert "blinded" in blinded_report.title.lower()


def test_blinded_report_pools_every_table(blinded_report):
    for section in blinded_report.sections:
        for table in section.tables:
            assert "Total" not in " ".join(table.columns), (section.key, table.name)
    assert "difference" not in [t.name for t in blinded_report.section("primary").tables]
    flow = blinded_report.section("consort").table("flow")
    assert flow.columns == ("", "All randomised")


def test_a_blinded_dataset_gives_only_the_blinded_report(trial):
    blinded = blind(trial)
    with pytest.raises(ReportError, match="blinded"):
        build_report(blinded, blinded=False)
    report = build_report(blinded)  # follows the dataset
    assert report.blinded
