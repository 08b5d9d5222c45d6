"""mapp2: MAPP2's eligibility (Mitchell et al. 2023, DOMAIN.md) and the long-term follow-up visits,
and the CEQ where the issue asks for it (baseline, before each experimental session)."""

from datetime import date

from attune.protocol import get_protocol
from attune.protocol.eligibility import evaluate_eligibility
from attune.protocol.schedule import plan_schedule


def _criterion(protocol, group, criterion_id):
    return next(c for c in getattr(protocol.eligibility, group) if c.id == criterion_id)


def test_mapp2_admits_moderate_ptsd_from_28_where_mapp_needs_35():
    mapp, mapp2 = get_protocol("mapp"), get_protocol("mapp2")
    assert _criterion(mapp2, "inclusion", "caps5_severity").test.at_least == 28
    assert _criterion(mapp, "inclusion", "caps5_severity").test.at_least == 35
    for group in ("inclusion", "exclusion"):  # everything else is MAPP's shape, as published
        assert [c.id for c in getattr(mapp2.eligibility, group)] == [
            c.id for c in getattr(mapp.eligibility, group)
        ]
    assert _criterion(mapp2, "inclusion", "adult").test.at_least == 18
    assert _criterion(mapp2, "inclusion", "chronic_ptsd").test.at_least == 6
    substance = _criterion(mapp2, "exclusion", "substance_use").test
    assert substance.any_of[0].one_of == ["severe"]  # MAPP2: only severe AUD/CUD excludes


def test_a_caps5_of_30_is_eligible_for_mapp2_only():
    answers = {
        "age": 40,
        "ptsd_duration_months": 24,
        "caps5_ptsd_diagnosis": True,
        "caps5_total": 30,
        "psychiatric_medications_tapered": True,
        "alcohol_or_cannabis_use_disorder_12m": "moderate",
        "hypertension": "controlled",
        "qtc_ms": 420,
    }
    for field in get_protocol("mapp").eligibility.fields:
        answers.setdefault(field, False)
    assert evaluate_eligibility(get_protocol("mapp2"), answers).verdict == "eligible"
    verdict = evaluate_eligibility(get_protocol("mapp"), answers)
    assert verdict.verdict == "ineligible"
    assert [r.id for r in verdict.failing] == ["caps5_severity"]


def test_follow_up_at_6_and_12_months_after_the_last_experimental_session():
    mapp2 = get_protocol("mapp2")
    follow_ups = mapp2.visits_of("follow_up")
    assert [(v.id, v.anchor, v.day) for v in follow_ups] == [
        ("follow_up_6m", "experimental_3", 182),
        ("follow_up_12m", "experimental_3", 365),
    ]
    for visit in follow_ups:
        assert {(d.instrument, d.by) for d in visit.instruments} >= {("caps5", "rater")}
    schedule = plan_schedule(mapp2, date(2026, 1, 5))
    planned = {v.id: v for v in schedule.visits}
    last_session = planned["experimental_3"].target
    assert (planned["follow_up_6m"].target - last_session).days == 182
    assert (planned["follow_up_12m"].target - last_session).days == 365


def test_ceq_is_taken_by_the_participant_at_baseline_and_before_each_session():
    """At each session's visit, not as a pre-dose gate (timing "before" gates the dose)."""
    for protocol_id in ("mapp", "mapp2"):
        protocol = get_protocol(protocol_id)
        ceq = [
            (v.id, d.by, d.timing)
            for v in protocol.visits
            for d in v.instruments
            if d.instrument == "ceq"
        ]
        assert ceq == [
            ("baseline", "participant", "during"),
            ("experimental_1", "participant", "during"),
            ("experimental_2", "participant", "during"),
            ("experimental_3", "participant", "during"),
        ]


def test_the_synth_settings_are_read_from_the_protocol_file():
    settings = get_protocol("mapp2").synth
    assert settings.expectancy is not None and settings.expectancy.effect_active == -2.0
    assert settings.follow_up is not None and settings.follow_up.retention_placebo == 0.80
    assert get_protocol("mapp").synth.expectancy is None  # defaults apply
