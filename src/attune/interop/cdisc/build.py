"""Assemble the SDTM and ADaM datasets of a tidy trial dataset."""

from __future__ import annotations

import re

from attune.dataset import TrialDataset, blind
from attune.interop.cdisc import design, qs, sdtm
from attune.interop.cdisc.context import Trial, numpy_strings
from attune.interop.cdisc.model import Dataset
from attune.protocol import Protocol, get_protocol


def make_trial(
    dataset: TrialDataset,
    protocol: Protocol | None = None,
    *,
    blinded: bool = False,
    study_id: str | None = None,
    country: str | None = None,
) -> Trial:
    """The study as CDISC sees it. ``blinded`` (or a blinded dataset) removes the allocation
    first, with the same :func:`attune.dataset.blind` the tidy export uses."""
    if blinded and not dataset.blinded:
        dataset = blind(dataset)
    protocol = protocol or get_protocol(dataset.protocol_id)
    sid = study_id or re.sub(r"[^A-Z0-9]", "", protocol.id.upper())[:20] or "STUDY"
    return Trial(dataset, protocol, sid, dataset.blinded, country=country)


def build_sdtm(trial: Trial) -> list[Dataset]:
    """Every SDTM domain with records, trial design first, then SUPPQUAL after its parent."""
    with numpy_strings():
        return _build_sdtm(trial)


def _build_sdtm(trial: Trial) -> list[Dataset]:
    ae, suppae = sdtm.build_ae(trial)
    cm, suppcm = sdtm.build_cm(trial)
    built = [
        design.build_ta(trial),
        design.build_te(trial),
        design.build_tv(trial),
        design.build_ti(trial),
        design.build_ts(trial),
        sdtm.build_dm(trial),
        sdtm.build_suppdm(trial),
        sdtm.build_ds(trial),
        sdtm.build_sv(trial),
        sdtm.build_ex(trial),
        sdtm.build_su(trial),
        ae,
        suppae,
        cm,
        suppcm,
        sdtm.build_dv(trial),
        sdtm.build_ie(trial),
        sdtm.build_vs(trial),
        qs.build_qs(trial),
    ]
    return [dataset for dataset in built if dataset is not None and len(dataset.frame)]
