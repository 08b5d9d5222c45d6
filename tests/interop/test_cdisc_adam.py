"""ADaM: populations, the BDS of questionnaire scores, and the reviewer's round trip: the primary
MMRM run from ADQS alone (the transport file read back) gives the report's figures exactly."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
from click.testing import CliRunner

from attune.cli.main import cli
from attune.dataset import TrialDataset
from attune.interop.cdisc import Package
from attune.protocol import get_protocol
from attune.report.context import ReportContext, ReportOptions
from attune.report.sections import primary


def read(package: Package, name: str) -> pd.DataFrame:
    frame, _ = pyreadstat.read_xport(str(Path(package.folder) / f"{name.lower()}.xpt"))
    return frame


def test_primary_mmrm_from_adqs_reproduces_the_report(
    adam: Package, trial: TrialDataset, tmp_path: Path
) -> None:
    # the report's primary estimate, as the report computes it
    ctx = ReportContext(trial, get_protocol("mapp"), ReportOptions(), blinded=False)
    section = primary.build(ctx)
    expected = section.values["primary_difference"]

    # a reviewer's steps: ADQS, the CAPS-5 total, the analysis records, the command line
    adqs = read(adam, "ADQS")
    records = adqs[(adqs["PARAMCD"] == "CAPS5TOT") & (adqs["ANL01FL"] == "Y")]
    data = tmp_path / "adqs_caps5.csv"
    records.to_csv(data, index=False)
    sites = "SITEID + " if records["SITEID"].nunique() > 1 else ""
    result = CliRunner().invoke(
        cli,
        [
            "analyze",
            "mmrm",
            str(data),
            "--formula",
            f"CHG ~ BASE + {sites}TRTP * AVISITN",
            "--subject",
            "USUBJID",
            "--visit",
            "AVISITN",
            "--treatment",
            "TRTP",
            "--reference",
            "Placebo with identical therapy",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    fitted = json.loads(result.output.strip().splitlines()[-1])
    primary_visit = float(
        adqs.loc[adqs["AVISIT"].str.startswith("Primary endpoint"), "AVISITN"].iloc[0]
    )
    at = [c for c in fitted["contrasts"] if float(c["visit"]) == primary_visit]
    assert len(at) == 1
    for key in ("estimate", "se", "df"):
        assert at[0][key] == expected[key], key
    assert fitted["n_subjects"] == records["USUBJID"].nunique()


def test_adsl_populations(adam: Package, trial: TrialDataset) -> None:
    adsl = read(adam, "ADSL")
    people = trial.participants
    randomised = people[people["randomised_on"].notna()]
    assert len(adsl) == len(randomised) and adsl["USUBJID"].is_unique
    assert (adsl["ITTFL"] == "Y").all()
    dosed = set("MAPP-" + trial.doses["participant_id"].astype(str))
    assert set(adsl.loc[adsl["SAFFL"] == "Y", "USUBJID"]) == dosed & set(adsl["USUBJID"])
    assert set(adsl.loc[adsl["MITTFL"] == "Y", "USUBJID"]) <= set(
        adsl.loc[adsl["SAFFL"] == "Y", "USUBJID"]
    )
    assert set(adsl["TRT01P"]) == {"MDMA-assisted therapy", "Placebo with identical therapy"}
    assert set(adsl["EOSSTT"]) <= {"COMPLETED", "DISCONTINUED", "ONGOING"}
    caps = trial.scores_wide("caps5").set_index(["participant_id", "visit_id"])["total"]
    one = adsl.iloc[0]
    assert one["CAPS5BL"] == caps[(one["SUBJID"], "baseline")]


def test_adqs_baseline_and_change(adam: Package) -> None:
    adqs = read(adam, "ADQS")
    base = adqs[adqs["ABLFL"] == "Y"]
    assert not base.duplicated(["USUBJID", "PARAMCD"]).any()
    assert (base["AVISIT"] == "Baseline assessment (T1) and randomisation").all()
    post = adqs[adqs["CHG"].notna()]
    assert np.allclose(post["CHG"], post["AVAL"] - post["BASE"], rtol=0, atol=1e-10)
    totals = post[post["PARAMCD"] == "CAPS5TOT"]
    assert (totals["CHG"] == totals["AVAL"] - totals["BASE"]).all()
    assert set(adqs.loc[adqs["ANL01FL"] == "Y", "AVISIT"]) >= {
        "Primary endpoint T4 (about 18 weeks after baseline)"
    }
    assert {"CAPS5TOT", "CAPS5B", "CAPS5C", "CAPS5D", "CAPS5E", "PCL01TOT", "SDS01TOT"} <= set(
        adqs["PARAMCD"]
    )


def test_adae(adam: Package, trial: TrialDataset) -> None:
    adae = read(adam, "ADAE")
    adsl = read(adam, "ADSL")
    assert set(adae["USUBJID"]) <= set(adsl["USUBJID"])
    emergent = trial.adverse_events["treatment_emergent"].astype(bool)
    randomised = set(
        trial.participants.loc[trial.participants["randomised_on"].notna(), "participant_id"]
    )
    in_adsl = trial.adverse_events["participant_id"].isin(randomised)
    assert (adae["TRTEMFL"] == "Y").sum() == int((emergent & in_adsl).sum())
