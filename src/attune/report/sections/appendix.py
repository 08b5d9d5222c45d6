"""Reproducibility appendix: what produced the report and how to produce it again.

The data fingerprint (:attr:`attune.dataset.TrialDataset.fingerprint`) is a SHA-256 over the table
checksums that ``dataset.json`` records, so two reports with the same fingerprint, Attune version
and settings were computed from the same files.
"""

from __future__ import annotations

import platform
from dataclasses import fields

import matplotlib
import numpy
import pandas
import scipy

from attune import __version__
from attune.report.context import ReportContext
from attune.report.model import Section, Table


def build(ctx: ReportContext) -> Section:
    section = Section("appendix", "Reproducibility appendix")
    meta = ctx.dataset.metadata
    protocol = ctx.protocol
    fingerprint = ctx.dataset.fingerprint
    section.values["fingerprint"] = fingerprint
    command = ctx.options.command or "(built from Python: see the settings below)"
    section.values["command"] = command
    protocol_text = f"{protocol.id} version {protocol.version}"
    if not ctx.blinded:
        protocol_text += f" ({protocol.name})"
    rows: list[tuple[str, str]] = [
        ("Attune version", __version__),
        ("Report", "blinded (pooled, no allocation information)" if ctx.blinded else "unblinded"),
        ("Protocol", protocol_text),
        ("Dataset format", f"{meta.get('format', '?')} {meta.get('format_version', '?')}"),
        ("Dataset created", str(meta.get("created", "unknown"))),
        ("Dataset written by Attune", str(meta.get("attune_version", "unknown"))),
        (
            "Data fingerprint (SHA-256 of the table checksums)",
            fingerprint
            or "not available: the dataset was not loaded from a folder with dataset.json",
        ),
        ("Command", command),
        (
            "Software",
            f"Python {platform.python_version()}, NumPy {numpy.__version__}, pandas "
            f"{pandas.__version__}, SciPy {scipy.__version__}, matplotlib {matplotlib.__version__}",
        ),
    ]
    section.add(Table("provenance", "Provenance", ("item", "value"), tuple(rows)))
    settings = tuple(
        (field.name, str(getattr(ctx.options, field.name)))
        for field in fields(ctx.options)
        if field.name != "command"
    )
    section.add(Table("settings", "Analysis settings", ("setting", "value"), settings))
    tables = meta.get("tables")
    if isinstance(tables, dict):
        section.add(
            Table(
                "checksums",
                "Table files (from dataset.json)",
                ("table", "file", "rows", "SHA-256"),
                tuple(
                    (
                        name,
                        str(entry.get("file", "")),
                        str(entry.get("rows", "")),
                        str(entry.get("sha256", "")),
                    )
                    for name, entry in tables.items()
                    if isinstance(entry, dict)
                ),
            )
        )
    return section
