"""MedDRA and drug-dictionary coding from dictionaries the licensee loads (here an invented
dictionary in the MedDRA ASCII format, tests/data/meddra_fake): auto-coding on exact and synonym
matches, the coder's worklist for the rest, a recode when the verbatim term changes, the export."""

import json
import shutil
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from django.test import Client

from attune.cli.main import cli
from attune.web.adverse_events.services import record_adverse_event, update_adverse_event
from attune.web.audit.models import AuditEvent
from attune.web.coding import services
from attune.web.coding.dictionaries import DictionaryError, normalise
from attune.web.coding.models import AdverseEventCoding, MeddraLlt, MedicationCoding
from attune.web.datasets.exporting import export_tidy
from attune.web.medications.services import record_medication, update_medication
from attune.web.studies.roles import Role

pytestmark = pytest.mark.django_db
DATA = Path(__file__).parent.parent / "data"
MEDDRA = DATA / "meddra_fake"
DRUGS = DATA / "drugs_fake.csv"
API = "/api/studies/mapp-demo/coding"


@pytest.fixture
def meddra():
    return services.load_meddra(MEDDRA, loaded_by="system")


@pytest.fixture
def drugs():
    return services.load_drugs(DRUGS, version="test-1", loaded_by="system")


def client_for(user):
    client = Client()
    client.force_login(user)
    return client


def event(users, participant, term):
    return record_adverse_event(
        users[Role.COORDINATOR],
        participant,
        term=term,
        onset_date=date(2026, 2, 1),
        severity="mild",
    )


def test_the_loader_reads_every_level_of_the_hierarchy(meddra):
    assert meddra.version == "0.1-invented"
    assert meddra.counts == {"soc": 4, "hlgt": 6, "hlt": 6, "pt": 6, "llt": 15}
    assert not MeddraLlt.objects.get(code=95000007).current  # llt_currency N


def test_exact_and_synonym_matches_are_coded_ignoring_case_and_spaces(users, enrolled, meddra):
    exact = event(users, enrolled, "  NAUSEA ").coding
    assert (exact.status, exact.method) == ("coded", "exact")
    assert (exact.llt_code, exact.pt_name, exact.soc_name) == (
        96000001,
        "Nausea",
        "Invented digestive disorders",
    )
    synonym = AdverseEventCoding.objects.get(adverse_event=event(users, enrolled, "head   Pain"))
    assert (synonym.method, synonym.llt_name, synonym.pt_name) == (
        "synonym",
        "Head pain",
        "Headache",
    )
    # Headache also sits under the digestive SOC (secondary); the primary SOC is the one coded.
    assert (
        synonym.soc_name == "Invented nervous system disorders"
        and synonym.release == "0.1-invented"
    )
    for verbatim in ("Sick feeling", "Tummy upset"):  # a non-current LLT, and an unknown term
        waiting = AdverseEventCoding.objects.get(adverse_event=event(users, enrolled, verbatim))
        assert waiting.status == "uncoded" and waiting.pt_code is None
    assert AuditEvent.objects.filter(action="code_term", actor="system").count() == 2


def test_the_coder_codes_the_worklist_through_the_api(users, enrolled, meddra):
    waiting = event(users, enrolled, "Grinding teeth at night")
    coder = client_for(users[Role.DATA_MANAGER])
    listed = coder.get(API).json()
    assert [(w["kind"], w["number"], w["verbatim"]) for w in listed] == [
        ("adverse_event", waiting.number, "Grinding teeth at night")
    ]
    hits = coder.get(f"{API}/meddra", {"q": "TEETH"}).json()
    assert hits == [
        {
            "llt_code": 95000004,
            "llt_name": "Teeth grinding",
            "pt_code": 96000006,
            "pt_name": "Bruxism",
        }
    ]
    url = f"{API}/adverse-events/S1-001/{waiting.number}"
    put = lambda body: coder.put(url, data=json.dumps(body), content_type="application/json")  # noqa: E731
    assert put({"llt_code": 95000007}).status_code == 422  # not current
    assert put({"llt_code": 12345}).status_code == 422  # not in the dictionary
    coded = put({"llt_code": 95000004})
    assert coded.status_code == 200, coded.content
    assert (coded.json()["pt_name"], coded.json()["method"], coded.json()["coded_by"]) == (
        "Bruxism",
        "manual",
        "data_manager",
    )
    assert coder.get(API).json() == []
    trail = AuditEvent.objects.get(action="code_term", actor="data_manager")
    assert trail.changes["llt"] == [None, "95000004 Teeth grinding"]
    listed = (
        client_for(users[Role.COORDINATOR])
        .get("/api/studies/mapp-demo/participants/S1-001/adverse-events")
        .json()
    )
    assert (
        listed[0]["meddra_pt"] == "Bruxism"
        and listed[0]["meddra_soc"] == "Invented digestive disorders"
    )


def test_only_coders_code_and_only_at_their_sites(users, enrolled, meddra):
    waiting = event(users, enrolled, "Odd feeling")
    for role in (Role.COORDINATOR, Role.RATER, Role.MONITOR, Role.STATISTICIAN):
        client = client_for(users[role])
        assert client.get(API).status_code == 403, role
        refused = client.put(
            f"{API}/adverse-events/S1-001/{waiting.number}",
            data=json.dumps({"llt_code": 96000001}),
            content_type="application/json",
        )
        assert refused.status_code == 403, role
        assert client.get("/s/mapp-demo/coding/").status_code == 403, role
    assert AdverseEventCoding.objects.get(adverse_event=waiting).status == "uncoded"


def test_a_changed_term_is_recoded(users, enrolled, meddra):
    ae = event(users, enrolled, "Nausea")
    ae = update_adverse_event(
        users[Role.COORDINATOR], ae, expected_version=1, term="Stomach churning", reason="per notes"
    )
    coding = AdverseEventCoding.objects.get(adverse_event=ae)
    assert (coding.verbatim, coding.status, coding.pt_code) == ("Stomach churning", "uncoded", None)
    recode = AuditEvent.objects.get(action="recode_term")
    assert recode.changes["verbatim"] == ["Nausea", "Stomach churning"]
    ae = update_adverse_event(
        users[Role.COORDINATOR], ae, expected_version=2, term="queasy", reason="PT wording"
    )
    coding.refresh_from_db()
    assert (coding.status, coding.method, coding.pt_name) == ("coded", "synonym", "Nausea")


def test_terms_recorded_before_the_dictionary_are_coded_when_it_is_loaded(users, enrolled):
    ae = event(users, enrolled, "Insomnia")
    assert AdverseEventCoding.objects.get(adverse_event=ae).status == "uncoded"
    services.load_meddra(MEDDRA, loaded_by="system")
    assert AdverseEventCoding.objects.get(adverse_event=ae).pt_name == "Insomnia"


def test_a_broken_distribution_is_refused_whole_with_file_and_line(tmp_path, meddra):
    broken = tmp_path / "ascii"
    shutil.copytree(MEDDRA, broken)
    lines = (broken / "llt.asc").read_text().splitlines()
    lines.append("95000099$Orphan$91919191$$$$$$$Y$$")
    lines.append("bad line")
    (broken / "llt.asc").write_text("\n".join(lines) + "\n")
    (broken / "hlt_pt.asc").unlink()
    with pytest.raises(DictionaryError) as refused:
        services.load_meddra(broken, loaded_by="system")
    problems = refused.value.problems
    assert f"llt.asc line {len(lines) - 1}: 2 field(s), expected 10" in problems[0] or any(
        f"llt.asc line {len(lines)}" in p for p in problems
    )
    assert "llt.asc LLT 95000099: PT 91919191 is not in pt.asc" in problems
    assert any(p.startswith("hlt_pt.asc: missing") for p in problems)
    assert MeddraLlt.objects.count() == 15  # the loaded release stays as it was


def test_the_command_loads_both_dictionaries(tmp_path):
    result = CliRunner().invoke(cli, ["coding", "load-meddra", str(MEDDRA)])
    assert result.exit_code == 0, result.output
    assert "loaded meddra 0.1-invented: 4 soc, 6 hlgt, 6 hlt, 6 pt, 15 llt" in result.output
    result = CliRunner().invoke(cli, ["coding", "load-drugs", str(DRUGS), "--version", "t1"])
    assert result.exit_code == 0 and "loaded drugs t1: 4 drugs, 11 names" in result.output
    bad = tmp_path / "drugs.csv"
    bad.write_text("drug_code,drug_name,atc_code,atc_text,synonyms\nT1,Aspirin,not-atc,,\n")
    result = CliRunner().invoke(cli, ["coding", "load-drugs", str(bad)])
    assert result.exit_code == 1
    assert "drugs.csv line 2: 'NOT-ATC' is not an ATC code" in result.output
    assert "nothing was loaded" in result.output


def test_medications_are_coded_by_name_or_synonym_and_by_the_coder(users, enrolled, drugs):
    actor = users[Role.COORDINATOR]
    zoloft = record_medication(actor, enrolled, name="zoloft ", route="oral")
    coding = MedicationCoding.objects.get(medication=zoloft)
    assert (coding.method, coding.drug_name, coding.atc_code) == (
        "synonym",
        "Sertraline",
        "N06AB06",
    )
    herbal = record_medication(actor, enrolled, name="St John's wort", route="oral")
    coder = client_for(users[Role.DATA_MANAGER])
    assert [w["verbatim"] for w in coder.get(API).json()] == ["St John's wort"]
    assert coder.get(f"{API}/drugs", {"q": "acetamin"}).json()[0]["drug_name"] == "Paracetamol"
    coded = coder.put(
        f"{API}/medications/S1-001/{herbal.number}",
        data=json.dumps({"drug_code": "T0004"}),
        content_type="application/json",
    )
    assert coded.status_code == 200 and coded.json()["drug_name"] == "Ibuprofen"
    update_medication(actor, zoloft, expected_version=1, name="Lorazepam", reason="wrong bottle")
    coding.refresh_from_db()
    assert (coding.method, coding.drug_name) == ("exact", "Lorazepam")


def test_the_coder_page_codes_a_term_and_keeps_a_refused_code(users, enrolled, meddra):
    waiting = event(users, enrolled, "Jaw ache")
    coding = AdverseEventCoding.objects.get(adverse_event=waiting)
    page = client_for(users[Role.DATA_MANAGER])
    shown = page.get("/s/mapp-demo/coding/", {"q": "jaw"}).content.decode()
    assert "Jaw ache" in shown and "Jaw clenching" in shown and "95000009" in shown
    form = {"kind": "adverse_event", "coding": str(coding.pk), "code": "abc"}
    refused = page.post("/s/mapp-demo/coding/", form)
    assert refused.status_code == 422 and 'value="abc"' in refused.content.decode()
    done = page.post("/s/mapp-demo/coding/", form | {"code": "95000009"}, follow=True)
    assert "coded to Jaw clenching (PT Bruxism" in done.content.decode()


def test_the_tidy_export_carries_the_codes_and_the_medications(users, enrolled, meddra, drugs):
    event(users, enrolled, "Queasy")
    event(users, enrolled, "Tummy upset")
    record_medication(users[Role.COORDINATOR], enrolled, name="Tylenol", route="oral")
    for blinded in (False, True):
        dataset = export_tidy(users[Role.STATISTICIAN], enrolled.study, blinded=blinded)
        events = dataset.adverse_events.set_index("term")
        assert events.loc["Queasy", "meddra_pt"] == "Nausea"
        assert events.loc["Queasy", "meddra_llt_code"] == 95000001
        assert events.loc["Queasy", "meddra_soc"] == "Invented digestive disorders"
        assert events.loc["Queasy", "meddra_version"] == "0.1-invented"
        assert events["meddra_pt"].isna()["Tummy upset"]
        medication = dataset.medications.iloc[0]
        assert (medication["name"], medication["drug_name"], medication["atc_code"]) == (
            "Tylenol",
            "Paracetamol",
            "N02BE01",
        )


def test_normalise_folds_case_and_spacing():
    assert normalise("  Head \t PAIN\n") == "head pain"


def test_the_assessment_survives_an_export_and_an_import(users, enrolled, tmp_path):
    from attune.dataset import load_dataset, write_dataset
    from attune.web.adverse_events.models import AdverseEvent
    from attune.web.datasets.importing import import_tidy

    record_adverse_event(
        users[Role.COORDINATOR],
        enrolled,
        term="Syncope",
        onset_date=date(2026, 2, 1),
        severity="severe",
        serious=True,
        sae_criteria=["hospitalisation", "life_threatening"],
        causality_drug="possible",
        outcome="not_recovered",
    )
    write_dataset(export_tidy(users[Role.STATISTICIAN], enrolled.study, blinded=False), tmp_path)
    back = load_dataset(tmp_path)
    assert back.adverse_events.iloc[0]["sae_criteria"] == "life_threatening;hospitalisation"
    import_tidy(back, study_code="again")
    again = AdverseEvent.objects.get(participant__study__code="again", term="Syncope")
    assert again.sae_criteria == ["life_threatening", "hospitalisation"]
    assert (again.causality_drug, again.outcome, again.expectedness) == (
        "possible",
        "not_recovered",
        "",
    )
