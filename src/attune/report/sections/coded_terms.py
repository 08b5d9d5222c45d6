"""Treatment-emergent adverse events by MedDRA system organ class and preferred term.

Shown once any TEAE of the safety population is coded (``meddra_soc`` / ``meddra_pt`` of the tidy
dataset, format 1.4). It counts participants, not events, per SOC and per PT within it, in the
same groups as the TEAE table above it: by arm unblinded, pooled blinded (never split by arm unless
that table is). Terms not coded yet are counted in the note, so a half-coded study is not read as
complete.
"""

from __future__ import annotations

import pandas as pd

from attune.report.context import percent
from attune.report.model import Section, Table


def add_soc_pt_table(
    section: Section, events: pd.DataFrame, groups: list[tuple[str, pd.Index]]
) -> None:
    """Add the SOC/PT table for ``events`` (the TEAEs of the safety population) when coded."""
    if events.empty or "meddra_soc" not in events or "meddra_pt" not in events:
        return
    soc = events["meddra_soc"].astype("string").fillna("")
    pt = events["meddra_pt"].astype("string").fillna("")
    mask = ((soc != "") & (pt != "")).to_numpy(dtype=bool)
    coded = events.assign(soc=soc, pt=pt)[mask]
    if coded.empty:
        return
    uncoded = len(events) - len(coded)

    def row(label: str, who: set[str]) -> tuple[str, ...]:
        return (label, *(percent(sum(p in who for p in ids), len(ids)) for _, ids in groups))

    rows: list[tuple[str, ...]] = []
    by_soc = coded.groupby("soc")["participant_id"].nunique().sort_values(ascending=False)
    for soc_name in sorted(by_soc.index, key=lambda name: (-by_soc[name], str(name))):
        in_soc = coded[coded["soc"] == soc_name]
        rows.append(row(str(soc_name), set(in_soc["participant_id"])))
        by_pt = in_soc.groupby("pt")["participant_id"].nunique()
        for pt_name in sorted(by_pt.index, key=lambda name: (-by_pt[name], str(name))):
            rows.append(
                row(f"  {pt_name}", set(in_soc.loc[in_soc["pt"] == pt_name, "participant_id"]))
            )
    versions = sorted(
        {str(v) for v in coded.get("meddra_version", pd.Series(dtype=object)).dropna() if str(v)}
    )
    note = (
        "Participants with at least one TEAE coded to the system organ class (primary SOC) or "
        "preferred term; MedDRA "
        + (", ".join(versions) if versions else "version not recorded")
        + "."
        + (f" {uncoded} TEAE(s) are not coded yet and are not in this table." if uncoded else "")
    )
    section.values["teae_uncoded"] = uncoded
    section.add(
        Table(
            "teae_soc_pt",
            "TEAEs by MedDRA system organ class and preferred term (participants)",
            ("SOC / preferred term", *(f"{label} (n = {len(ids)})" for label, ids in groups)),
            tuple(rows),
            note=note,
        )
    )
