"""The shipped protocols load, and MAPP has the published shape (DOMAIN.md)."""

from attune.protocol import get_protocol, list_protocols


def test_both_protocols_ship_and_validate():
    assert {p.id for p in list_protocols()} == {"mapp", "mapp2", "psilocybin_single"}


def test_mapp_sessions_match_the_phase3_shape():
    mapp = get_protocol("mapp")
    kinds = [visit.kind for visit in mapp.visits]
    assert kinds.count("preparation") == 3
    assert kinds.count("experimental") == 3
    assert kinds.count("integration") == 9
    for visit in mapp.visits_of("preparation") + mapp.visits_of("integration"):
        assert visit.duration_minutes == 90
    for visit in mapp.visits_of("experimental"):
        assert visit.duration_minutes == 8 * 60
        assert "dyad" in visit.attendees
    # 3 integrative sessions after each experimental session, the first the morning after.
    experimental = [v.id for v in mapp.visits_of("experimental")]
    for session in experimental:
        after = [v for v in mapp.visits_of("integration") if v.anchor == session]
        assert len(after) == 3
        assert min(v.day for v in after) == 1


def test_mapp_spacing_dosing_and_endpoint():
    mapp = get_protocol("mapp")
    assert [(rule.kind, rule.min_days, rule.max_days) for rule in mapp.spacing] == [
        ("experimental", 21, 35)
    ]
    second = mapp.visit("experimental_2")
    assert (second.anchor, second.day) == ("experimental_1", 28)  # about four weeks apart
    dosing = mapp.dosing
    assert dosing.initial_options == [80, 120]
    assert dosing.sessions["experimental_1"] == [80]  # session 1 at 80 + 40
    assert dosing.sessions["experimental_3"] == [80, 120]
    assert dosing.supplemental.fraction == 0.5
    assert (dosing.supplemental.window_minutes.start, dosing.supplemental.window_minutes.end) == (
        90,
        120,
    )
    assert dosing.placebo_arms == ["PBO"]
    primary = mapp.primary_endpoint
    assert (primary.anchor, primary.day) == ("baseline", 18 * 7)


def test_mapp_blinded_rater_caps5_at_baseline_after_each_session_and_endpoint():
    mapp = get_protocol("mapp")
    rated = [
        v.id
        for v in mapp.visits
        if any(d.instrument == "caps5" and d.by == "rater" for d in v.instruments)
    ]
    assert rated == ["baseline", "outcome_2", "outcome_3", "primary_endpoint", "follow_up_12m"]
    for visit in mapp.visits:
        for due in visit.instruments:
            if due.instrument == "caps5":
                assert due.by == "rater"
    # C-SSRS before each initial dose
    for visit in mapp.visits_of("experimental"):
        assert any(
            d.instrument == "cssrs_screen" and d.timing == "before" for d in visit.instruments
        )


def test_mapp_arms_and_eligibility_thresholds():
    mapp = get_protocol("mapp")
    assert [(a.id, a.ratio, a.control) for a in mapp.arms] == [("MDMA", 1, False), ("PBO", 1, True)]
    inclusion = {c.id: c.test for c in mapp.eligibility.inclusion}
    assert inclusion["caps5_severity"].at_least == 35
    assert inclusion["chronic_ptsd"].at_least == 6
    assert inclusion["adult"].at_least == 18
    assert len(mapp.eligibility.exclusion) == 16


def test_psilocybin_protocol_uses_the_general_features():
    trial = get_protocol("psilocybin_single")
    assert [a.ratio for a in trial.arms] == [2, 1, 1]
    assert trial.dosing.supplemental is None
    assert trial.dosing.by_arm == {"PSI25": [25], "PSI10": [10], "PSI1": [1]}
    assert trial.spacing == []
    assert len(trial.visits_of("experimental")) == 1
