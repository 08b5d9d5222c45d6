"""``attune report`` end to end, and the HTML being self-contained and printable."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from click.testing import CliRunner

from attune.cli.main import cli
from attune.dataset import blind, write_dataset


def test_command_writes_html_pdf_and_figures(trial_dir: Path, tmp_path: Path):
    out, pdf = tmp_path / "r" / "report.html", tmp_path / "r" / "report.pdf"
    result = CliRunner().invoke(
        cli, ["report", str(trial_dir), "--out", str(out), "--pdf", str(pdf)]
    )
    assert result.exit_code == 0, result.output
    assert out.is_file() and pdf.read_bytes().startswith(b"%PDF")
    figures = sorted(p.name for p in (tmp_path / "r" / "report_figures").iterdir())
    assert "consort.png" in figures and "consort.svg" in figures and "lsmeans.svg" in figures
    assert "ae_site_funnel.svg" in figures  # the solicited-AE section's funnel plot
    # 14 figures, PNG and SVG: issue 12 added the blinding indices, expectancy, durability and the
    # extended least-squares means, adherence by dyad, the dyad funnel and the AE site funnel
    assert len(figures) == 28
    html = out.read_text()
    # the appendix fingerprint is the SHA-256 of the checksums dataset.json lists
    tables = json.loads((trial_dir / "dataset.json").read_text())["tables"]
    lines = "\n".join(f"{name}:{tables[name]['sha256']}" for name in sorted(tables))
    assert hashlib.sha256(lines.encode()).hexdigest() in html
    assert f"attune report {trial_dir} --out {out} --pdf {pdf}" in html


def test_blinded_dataset_default_and_refusal(trial, tmp_path: Path):
    folder = tmp_path / "blinded"
    write_dataset(blind(trial), folder)
    runner = CliRunner()
    refused = runner.invoke(
        cli, ["report", str(folder), "--out", str(tmp_path / "x.html"), "--unblinded"]
    )
    assert refused.exit_code == 1
    assert "only the blinded report" in refused.output
    ok = runner.invoke(cli, ["report", str(folder), "--out", str(tmp_path / "b.html"), "--quiet"])
    assert ok.exit_code == 0, ok.output
    html = (tmp_path / "b.html").read_text()
    assert "BLINDED" in html and "--blinded" in html


def test_invalid_dataset_is_a_clear_error(tmp_path: Path):
    (tmp_path / "bad").mkdir()
    result = CliRunner().invoke(
        cli, ["report", str(tmp_path / "bad"), "--out", str(tmp_path / "r.html")]
    )
    assert result.exit_code == 1
    assert "dataset.json" in result.output and "Traceback" not in result.output


def test_html_is_self_contained_and_printable(written):
    html = next(p for p in written if p.suffix == ".html").read_text()
    assert "<script" not in html
    assert not re.search(r"""(?:src|href)=["'](?:https?:)?//""", html)  # nothing fetched
    assert "@media print" in html and "break-inside: avoid" in html
    assert html.count('<img src="data:image/svg+xml;base64,') == 14  # every figure, once
    for key in (
        "consort",
        "baseline",
        "primary",
        "secondary",
        "alliance",
        "blinding",
        "expectancy",
        "durability",
        "safety",
        "conduct",
        "appendix",
    ):
        assert f'<section id="{key}">' in html
