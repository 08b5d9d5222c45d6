"""``build_report``: run every section on a dataset and collect them into a :class:`Report`.

A section that fails on the data becomes a section holding a visible note, so one missing
instrument never costs the whole report. Blinding happens here, before any section runs: a
blinded report is built from the blinded dataset, so no section can see an arm.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from attune import __version__
from attune.dataset import TrialDataset, blind
from attune.protocol import Protocol, get_protocol
from attune.report.analysis import DATA_ERRORS
from attune.report.context import ReportContext, ReportOptions
from attune.report.lock import lock_banner, withdrawal_note
from attune.report.model import Report, Section
from attune.report.sections import (
    adverse_effects,
    alliance,
    appendix,
    baseline,
    blinding,
    conduct,
    consort,
    durability,
    expectancy,
    fidelity,
    primary,
    safety,
    secondary,
)


class ReportError(ValueError):
    """The report cannot be built as asked (e.g. unblinded from a blinded dataset)."""


SECTIONS: tuple[tuple[str, str, Callable[[ReportContext], Section]], ...] = (
    ("consort", "Participant flow (CONSORT)", consort.build),
    ("baseline", "Baseline characteristics", baseline.build),
    ("primary", "Primary endpoint", primary.build),
    ("secondary", "Secondary outcomes", secondary.build),
    ("alliance", "Therapeutic alliance (WAI-SR) and outcome", alliance.build),
    ("expectancy", "Expectancy (CEQ)", expectancy.build),
    ("durability", "Durability: long-term follow-up", durability.build),
    ("blinding", "Blinding integrity", blinding.build),
    ("safety", "Safety", safety.build),
    ("adverse_effects", "Adverse effects, solicited", adverse_effects.build),
    ("conduct", "Protocol deviations and missing data", conduct.build),
    ("fidelity", fidelity.TITLE, fidelity.build),
    ("appendix", "Reproducibility appendix", appendix.build),
)


def build_report(
    dataset: TrialDataset,
    *,
    blinded: bool | None = None,
    protocol: Protocol | str | None = None,
    options: ReportOptions | None = None,
    progress: Callable[[str], None] | None = None,
) -> Report:
    """Build the statistical report of a tidy trial dataset.

    ``blinded``: ``None`` follows the dataset; ``True`` pools the arms and removes every trace of
    the allocation; ``False`` (the DMC's and final-analysis report) is refused for a blinded
    dataset. ``protocol`` defaults to the shipped protocol named in the dataset's metadata.
    """
    if blinded is None:
        blinded = dataset.blinded
    if dataset.blinded and not blinded:
        raise ReportError(
            'this dataset is blinded (dataset.json says "blinded": true): only the blinded '
            "report can be built from it"
        )
    if blinded and not dataset.blinded:
        dataset = blind(dataset)
    if protocol is None:
        if not dataset.protocol_id:
            raise ReportError("the dataset names no protocol; pass protocol=")
        protocol = dataset.protocol_id
    if isinstance(protocol, str):
        protocol = get_protocol(protocol)
    say = progress or (lambda message: None)
    ctx = ReportContext(dataset, protocol, options or ReportOptions(), blinded, say)
    sections = []
    for key, title, builder in SECTIONS:
        started = time.perf_counter()
        try:
            section = builder(ctx)
        except DATA_ERRORS as error:
            section = Section(key, title)
            section.note(f"This section could not be computed: {error}", "unavailable")
        say(f"{section.title}: {time.perf_counter() - started:.1f} s")
        sections.append(section)
    randomised = len(ctx.randomised)
    if blinded:
        title = f"Blinded trial report: protocol {protocol.id} (version {protocol.version})"
    else:
        title = f"Trial report: {protocol.name}"
    created = datetime.now(UTC).replace(microsecond=0).isoformat()
    subtitle = (
        f"{randomised} randomised participants; "
        + ("all arms pooled (blinded)" if blinded else f"arms {', '.join(ctx.arms) or 'none'}")
        + (
            f"; dataset created {dataset.metadata['created']}"
            if dataset.metadata.get("created")
            else ""
        )
    )
    metadata = {
        "title": title,
        "protocol": f"{protocol.id} {protocol.version}",
        "generator": f"Attune {__version__}",
        "blinded": "yes" if blinded else "no",
        "data_lock": lock_banner(dataset.metadata),
        "consent_withdrawals": withdrawal_note(dataset.metadata),
    }
    return Report(title, subtitle, blinded, created, tuple(sections), metadata)
