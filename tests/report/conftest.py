"""Shared synthetic trials and built reports (built once per session: each takes seconds)."""

from __future__ import annotations

import re
import zlib
from pathlib import Path

import pytest

from attune.dataset import TrialDataset, load_dataset, write_dataset
from attune.report import Report, build_report, write_html, write_pdf
from attune.synth import generate_trial

PARTICIPANTS = 160
SEED = 11


@pytest.fixture(scope="session")
def trial_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("trial")
    write_dataset(generate_trial("mapp", PARTICIPANTS, seed=SEED), folder)
    return folder


@pytest.fixture(scope="session")
def trial(trial_dir: Path) -> TrialDataset:
    return load_dataset(trial_dir)


@pytest.fixture(scope="session")
def report(trial: TrialDataset) -> Report:
    return build_report(trial)


@pytest.fixture(scope="session")
def blinded_report(trial: TrialDataset) -> Report:
    return build_report(trial, blinded=True)


@pytest.fixture(scope="session")
def written(report: Report, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    out = tmp_path_factory.mktemp("unblinded") / "report.html"
    files = write_html(report, out)
    files.append(write_pdf(report, out.with_suffix(".pdf")))
    return files


@pytest.fixture(scope="session")
def blinded_written(blinded_report: Report, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    out = tmp_path_factory.mktemp("blinded") / "report.html"
    files = write_html(blinded_report, out)
    files.append(write_pdf(blinded_report, out.with_suffix(".pdf")))
    return files


def pdf_text(data: bytes) -> str:
    """The text a PDF written by matplotlib shows, plus its metadata.

    Content streams are inflated and the kerned ``[(T) 1.2 (e) (xt)] TJ`` arrays joined, so a
    word split by kerning is found whole.
    """
    chunks: list[str] = []
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S):
        try:
            content = zlib.decompress(stream)
        except zlib.error:
            continue
        for array in re.findall(rb"\[(.*?)\]\s*TJ", content, re.S):
            parts = re.findall(rb"\(((?:\\.|[^\\)])*)\)", array)
            chunks.append(
                b"".join(parts).replace(b"\\(", b"(").replace(b"\\)", b")").decode("latin-1")
            )
        for single in re.findall(rb"\(((?:\\.|[^\\)])*)\)\s*Tj", content):
            chunks.append(single.decode("latin-1"))
    info = re.findall(
        rb"/(?:Title|Author|Subject|Creator|Producer|Keywords) \(((?:\\.|[^\\)])*)\)", data
    )
    chunks += [i.decode("latin-1") for i in info]
    return "\n".join(chunks)
