"""The protocol's order as data: what each step needs first, validated in the file, explained in words."""

from datetime import date, timedelta

import pytest

from attune.protocol import get_protocol, list_protocols
from attune.protocol.order import (
    History,
    explain,
    missing_for_randomisation,
    missing_for_visit,
)

from .test_validation import MAPP, broken, problems

MAPP_PROTOCOL = get_protocol("mapp")
ENROLLED = date(2026, 1, 5)
#: MAPP in protocol order: screening day 0, preparation +21/+28/+35, baseline +38
HELD = {
    "screening": ENROLLED,
    "preparation_1": ENROLLED + timedelta(days=21),
    "preparation_2": ENROLLED + timedelta(days=28),
    "preparation_3": ENROLLED + timedelta(days=35),
    "baseline": ENROLLED + timedelta(days=38),
}
BASELINE_CAPS = ("baseline", "caps5")


def history(held=HELD, signed=(BASELINE_CAPS,), randomised=True):
    return History(enrolled_on=ENROLLED, held=dict(held), signed=set(signed), randomised=randomised)


def test_both_shipped_protocols_state_their_order():
    for protocol in list_protocols():
        assert protocol.randomisation.requires.visits == ["baseline"]
        assert ("baseline", "caps5") in {
            (f.visit, f.instrument) for f in protocol.randomisation.requires.forms
        }
        for session in protocol.visits_of("experimental"):
            assert session.requires.in_window and session.requires.randomised
            assert session.requires.visits, session.id


def test_randomisation_needs_the_baseline_visit_and_its_caps5_in_words():
    nothing = History(enrolled_on=ENROLLED, held={"screening": ENROLLED})
    missing = missing_for_randomisation(MAPP_PROTOCOL, nothing, ENROLLED + timedelta(days=40))
    assert [(m.kind, m.visit_id, m.instrument) for m in missing] == [
        ("visit_not_held", "baseline", ""),
        ("form_not_signed", "baseline", "caps5"),
    ]
    assert explain(missing) == (
        "hold the Baseline assessment (T1) and randomisation and sign its CAPS-5 first"
    )
    held_only = history(signed=(), randomised=False)
    assert explain(missing_for_randomisation(MAPP_PROTOCOL, held_only, date(2026, 2, 13))) == (
        "sign the CAPS-5 of the Baseline assessment (T1) and randomisation first"
    )
    done = history(randomised=False)
    assert missing_for_randomisation(MAPP_PROTOCOL, done, date(2026, 2, 13)) == []


def test_a_visit_needs_the_visits_before_it_held_on_or_before_its_day():
    early = {"screening": ENROLLED}
    missing = missing_for_visit(MAPP_PROTOCOL, "baseline", history(early), date(2026, 2, 13))
    assert explain(missing) == "hold the Preparatory session 3 first"
    later = dict(HELD, preparation_3=date(2026, 2, 20))
    missing = missing_for_visit(MAPP_PROTOCOL, "baseline", history(later), date(2026, 2, 13))
    assert [m.kind for m in missing] == ["visit_held_later"]
    assert "recorded on 2026-02-20, after 2026-02-13" in explain(missing)
    assert missing_for_visit(MAPP_PROTOCOL, "screening", history({}), ENROLLED) == []


def test_an_experimental_session_opens_only_inside_its_window_after_its_preparation():
    baseline = HELD["baseline"]  # experimental_1: baseline + 14, window -7 .. +14
    ready = history()
    assert missing_for_visit(MAPP_PROTOCOL, "experimental_1", ready, baseline + timedelta(14)) == []
    assert missing_for_visit(MAPP_PROTOCOL, "experimental_1", ready, baseline + timedelta(7)) == []
    too_early = missing_for_visit(MAPP_PROTOCOL, "experimental_1", ready, baseline)
    assert explain(too_early) == (
        f"wait for the Experimental session 1's window, which opens on {baseline + timedelta(7)}"
    )
    too_late = missing_for_visit(MAPP_PROTOCOL, "experimental_1", ready, baseline + timedelta(29))
    assert [m.kind for m in too_late] == ["outside_window"]
    assert f"closed on {baseline + timedelta(28)}" in explain(too_late)
    # S1-100 of the walk-through: one preparatory session, no baseline, not randomised, on day 0.
    rushed = History(enrolled_on=ENROLLED, held={"preparation_1": ENROLLED})
    message = explain(missing_for_visit(MAPP_PROTOCOL, "experimental_1", rushed, ENROLLED))
    assert message.startswith("randomise the participant; hold the Preparatory session 2; ")
    assert "hold the Baseline assessment (T1) and randomisation and sign its CAPS-5" in message
    assert "window, which opens on" in message


def test_later_sessions_follow_the_one_before():
    day = HELD["baseline"] + timedelta(days=14)
    held = dict(HELD, experimental_1=day)
    missing = missing_for_visit(MAPP_PROTOCOL, "experimental_2", history(HELD), day + timedelta(28))
    assert explain(missing).startswith("hold the Experimental session 1 first")
    assert (
        missing_for_visit(MAPP_PROTOCOL, "experimental_2", history(held), day + timedelta(28)) == []
    )


def test_psilocybin_preparation_follows_randomisation():
    protocol = get_protocol("psilocybin_single")
    held = {"screening": ENROLLED, "baseline": ENROLLED + timedelta(days=14)}
    not_yet = History(enrolled_on=ENROLLED, held=held, randomised=False)
    on = ENROLLED + timedelta(days=16)
    assert explain(missing_for_visit(protocol, "preparation_1", not_yet, on)) == (
        "randomise the participant first"
    )


@pytest.mark.parametrize(
    ("old", "new", "message", "where"),
    [
        (
            "requires: {visits: [preparation_1]}",
            "requires: {visits: [preparation_9]}",
            "unknown visit 'preparation_9'",
            ("visits", 2, "requires", "visits", 0),
        ),
        (
            "requires: {visits: [preparation_1]}",
            "requires: {visits: [baseline]}",
            "'baseline' comes later in the file than preparation_2",
            ("visits", 2, "requires", "visits", 0),
        ),
        (
            "requires: {visits: [preparation_1]}",
            "requires: {visits: [preparation_2]}",
            "preparation_2 cannot require itself",
            ("visits", 2, "requires", "visits", 0),
        ),
        (
            "    forms: [{visit: baseline, instrument: caps5}]\n      randomised: true",
            "    forms: [{visit: baseline, instrument: wai_sr}]\n      randomised: true",
            "'wai_sr' is not due at baseline",
            ("visits", 5, "requires", "forms", 0, "instrument"),
        ),
        (
            "    visits: [baseline]\n    forms: [{visit: baseline, instrument: caps5}]\n\nspacing",
            "    visits: [experimental_1]\n    forms: [{visit: baseline, instrument: caps5}]\n\nspacing",
            "'experimental_1' comes later in the file than randomisation",
            ("randomisation", "requires", "visits", 0),
        ),
        (
            "requires: {visits: [preparation_1]}",
            "requires: {visits: [preparation_1], randomised: true}",
            "comes before the randomisation visit 'baseline'",
            ("visits", 2, "requires", "randomised"),
        ),
    ],
)
def test_validate_checks_the_order_rules(tmp_path, old, new, message, where):
    path, line = broken(tmp_path, old, new, MAPP)
    [problem] = problems(path)
    assert message in problem.message
    assert problem.path == where
    assert line <= problem.line <= line + 2  # the rule's own line
