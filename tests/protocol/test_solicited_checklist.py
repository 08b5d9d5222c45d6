"""The solicited-AE checklist and the form-read strata as protocol data: shipped, and validated."""

from importlib import resources

import pytest

from attune.protocol import SourceError, get_protocol, load_protocol
from attune.protocol.solicited import ABUSE_RELATED

MAPP = (resources.files("attune.protocol") / "protocols" / "mapp.yaml").read_text()
STRATA = """
strata:
  prior_mdma: {visit: screening, instrument: substance_use_history, flag: prior_mdma}
"""


def problems(tmp_path, text):
    path = tmp_path / "p.yaml"
    path.write_text(text)
    with pytest.raises(SourceError) as caught:
        load_protocol(path)
    return [(p.path, p.message, p.line) for p in caught.value.problems]


def test_mapp_asks_the_abuse_related_terms_at_every_session_integration_and_follow_up():
    mapp = get_protocol("mapp")
    checklist = mapp.solicited_adverse_events
    assert checklist is not None
    labels = [t.label for t in checklist.terms]
    for term in (
        "Euphoric mood",
        "Elevated mood",
        "Feeling abnormal",
        "Dissociation",
        "Derealisation",
        "Inappropriate affect",
        "Drug liking",
        "Craving",
        "Muscle tightness",
        "Decreased appetite",
        "Nausea",
        "Hyperhidrosis",
    ):
        assert term in labels
    asked = checklist.visit_ids([(v.id, v.kind) for v in mapp.visits])
    assert asked == [
        "experimental_1",
        "integration_1a",
        "experimental_2",
        "integration_2a",
        "experimental_3",
        "integration_3a",
        "follow_up_12m",
    ]
    assert set(checklist.groups[ABUSE_RELATED].terms) == {
        "euphoric_mood",
        "elevated_mood",
        "feeling_abnormal",
        "dissociation",
        "derealisation",
        "inappropriate_affect",
        "drug_liking",
        "craving",
    }
    psilocybin = get_protocol("psilocybin_single").solicited_adverse_events
    assert psilocybin is not None and "Euphoric mood" in [t.label for t in psilocybin.terms]


def test_substance_use_is_asked_at_screening_and_follow_up():
    mapp = get_protocol("mapp")
    assert "substance_use_history" in [d.instrument for d in mapp.visit("screening").instruments]
    assert "substance_use_followup" in [
        d.instrument for d in mapp.visit("follow_up_12m").instruments
    ]


def test_a_term_listed_twice_is_refused_with_its_line(tmp_path):
    text = MAPP.replace(
        "    - {id: nausea, label: Nausea}\n",
        "    - {id: nausea, label: Nausea}\n    - {id: nausea, label: Nausea again}\n",
    )
    found = problems(tmp_path, text)
    assert [m for _, m, _ in found] == ["term 'nausea' is listed twice"]
    assert found[0][2] == text[: text.index("{id: nausea, label: Nausea again}")].count("\n") + 1


def test_the_same_label_twice_and_unknown_group_terms_and_visits_are_refused(tmp_path):
    text = MAPP.replace("{id: bruxism, label: Bruxism}", "{id: bruxism, label: nausea}")
    text = text.replace(
        "inappropriate_affect, drug_liking, craving]",
        "inappropriate_affect, drug_liking, craving, euphoria]",
    )
    text = text.replace(
        "visits: [integration_1a, integration_2a, integration_3a]",
        "visits: [integration_1a, integration_9a]",
    )
    messages = {m for _, m, _ in problems(tmp_path, text)}
    assert messages == {
        "term label 'nausea' is used twice",
        "unknown term 'euphoria'; a group lists ids of the checklist's terms",
        "unknown visit 'integration_9a'",
    }


def test_a_stratum_read_from_a_form_must_be_due_before_randomisation(tmp_path):
    good = MAPP.replace("stratification: [site]\n", "stratification: [site, prior_mdma]\n") + STRATA
    path = tmp_path / "good.yaml"
    path.write_text(good)
    assert load_protocol(path).strata["prior_mdma"].flag == "prior_mdma"
    late = good.replace(
        "{visit: screening, instrument: substance_use_history",
        "{visit: follow_up_12m, instrument: substance_use_followup",
    )
    messages = {m for _, m, _ in problems(tmp_path, late)}
    assert "'follow_up_12m' comes after randomisation: the stratum must be known before" in messages
    assert "substance_use_followup has no flag 'prior_mdma'" in messages
    unlisted = MAPP + STRATA
    assert {m for _, m, _ in problems(tmp_path, unlisted)} == {
        "'prior_mdma' is not listed under stratification"
    }
