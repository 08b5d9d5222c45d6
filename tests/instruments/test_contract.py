"""The scoring contract of every instrument, as written in DOMAIN.md, checked on hand-made forms.

Every expected number below is worked out by hand from the contract, not taken from the code.
"""

import pytest

from attune.instruments import get_instrument, list_instruments, score

CONTRACT = {
    # id: (item numbers, allowed codes per item, subscale keys, flag keys, band names or None)
    "caps5": (
        [*range(1, 21), 22, 23, 24, 25, 29, 30],
        None,
        {"B", "C", "D", "E"},
        {"meets_symptom_criteria", "ptsd_diagnosis", "dissociative_subtype"},
        {"asymptomatic", "mild", "moderate", "severe", "extreme"},
    ),
    "pcl5": (
        list(range(1, 21)),
        range(5),
        {"B", "C", "D", "E"},
        {"probable_ptsd_dsm", "probable_ptsd_cutoff"},
        None,
    ),
    "iesr": (
        list(range(1, 23)),
        range(5),
        {"intrusion", "avoidance", "hyperarousal"},
        {"probable_ptsd"},
        None,
    ),
    "wai_sr": (list(range(1, 13)), range(1, 6), {"task", "bond", "goal"}, set(), None),
    "sds": (list(range(1, 6)), None, {"work", "social", "family"}, {"functional_impairment"}, None),
    "phq9": (
        list(range(1, 11)),
        range(4),
        set(),
        {"item9_positive"},
        {"minimal", "mild", "moderate", "moderately_severe", "severe"},
    ),
    "gad7": (list(range(1, 8)), range(4), set(), set(), {"minimal", "mild", "moderate", "severe"}),
    "bdi2": (
        list(range(1, 22)),
        range(4),
        set(),
        {"item9_positive"},
        {"minimal", "mild", "moderate", "severe"},
    ),
    "cssrs_screen": (
        list(range(1, 7)),
        range(2),
        set(),
        {"ideation", "behavior"},
        {"none", "low", "moderate", "high"},
    ),
}


def test_every_contract_instrument_is_shipped():
    assert {instrument.id for instrument in list_instruments()} >= set(CONTRACT)


@pytest.mark.parametrize("instrument_id", sorted(CONTRACT))
def test_items_subscales_flags_and_bands_match_the_contract(instrument_id):
    items, codes, subscales, flags, bands = CONTRACT[instrument_id]
    definition = get_instrument(instrument_id)
    assert list(definition.item_numbers) == items
    if codes is not None:
        for number in items:
            if not (instrument_id == "phq9" and number == 10):
                assert definition.codes_for(number) == tuple(codes)
    assert set(definition.subscales) == subscales
    assert set(definition.flags) == flags
    assert ({level.name for level in definition.band} or None) == bands


@pytest.mark.parametrize("instrument_id", sorted(CONTRACT))
def test_item_text_is_shipped_only_where_the_licence_allows(instrument_id):
    definition = get_instrument(instrument_id)
    has_text = any(item.text for item in definition.items)
    public = instrument_id in {"pcl5", "phq9", "gad7"}
    assert has_text == public
    assert definition.licence.item_text == public
    assert all(item.label for item in definition.items)


def test_caps5_item_ranges():
    caps = get_instrument("caps5")
    for number in [*range(1, 21), 23, 24, 25, 29, 30]:
        assert caps.codes_for(number) == (0, 1, 2, 3, 4)
    assert caps.codes_for(22) == (0, 1)
    assert set(caps.required_items) == {*range(1, 21), 22, 23, 24, 25}


def test_sds_item_ranges_and_optional_days():
    sds = get_instrument("sds")
    assert [sds.codes_for(n) for n in (1, 2, 3)] == [tuple(range(11))] * 3
    assert sds.codes_for(4) == sds.codes_for(5) == tuple(range(8))
    assert sds.required_items == (1, 2, 3)


# --- PCL-5 and CAPS-5 ----------------------------------------------------------------------------

# B items 1-5, C 6-7, D 8-14, E 15-20
PCL_FORM = dict(
    zip(range(1, 21), [4, 3, 0, 1, 2, 0, 1, 2, 2, 0, 1, 3, 4, 0, 1, 1, 2, 0, 0, 3], strict=True)
)
# B = 4+3+0+1+2 = 10, C = 0+1 = 1, D = 2+2+0+1+3+4+0 = 12, E = 1+1+2+0+0+3 = 7, total = 30.
# C has no item >= 2, so the DSM-5 rule is not met; 30 < 33 so the cut-off is not met either.


def test_pcl5_total_subscales_and_flags():
    result = score("pcl5", PCL_FORM)
    assert result.total == 30
    assert result.subscales == {"B": 10, "C": 1, "D": 12, "E": 7}
    assert result.flags == {"probable_ptsd_dsm": False, "probable_ptsd_cutoff": False}
    assert result.band is None
    assert result.missing == []


def test_pcl5_cutoff_is_33_inclusive():
    form = dict.fromkeys(range(1, 21), 1) | {1: 4, 2: 4, 3: 4, 4: 4}  # 16 + 4*3 extra = 32
    assert score("pcl5", form).total == 32
    assert score("pcl5", form).flags["probable_ptsd_cutoff"] is False
    form[5] = 2  # 33
    assert score("pcl5", form).total == 33
    assert score("pcl5", form).flags["probable_ptsd_cutoff"] is True


CAPS_BASE = dict.fromkeys(range(1, 21), 0) | {22: 1, 23: 2, 24: 0, 25: 0, 29: 0, 30: 0}


def test_caps5_diagnosis_needs_duration_and_distress_or_impairment():
    symptoms = {1: 2, 6: 2, 8: 2, 9: 2, 15: 2, 16: 2}  # the minimal symptom pattern
    form = CAPS_BASE | symptoms
    result = score("caps5", form)
    assert result.total == 12
    assert result.subscales == {"B": 2, "C": 2, "D": 4, "E": 4}
    assert result.flags == {
        "meets_symptom_criteria": True,
        "ptsd_diagnosis": True,
        "dissociative_subtype": False,
    }
    assert score("caps5", form | {22: 0}).flags["ptsd_diagnosis"] is False
    no_distress = form | {23: 1, 24: 1, 25: 1}
    assert score("caps5", no_distress).flags["ptsd_diagnosis"] is False
    impairment_only = form | {23: 0, 25: 3}
    assert score("caps5", impairment_only).flags["ptsd_diagnosis"] is True


@pytest.mark.parametrize(
    ("item29", "item30", "expected"), [(2, 0, True), (0, 2, True), (1, 1, False)]
)
def test_caps5_dissociative_subtype(item29, item30, expected):
    form = CAPS_BASE | {1: 3, 6: 3, 8: 3, 9: 3, 15: 3, 16: 3, 29: item29, 30: item30}
    assert score("caps5", form).flags["dissociative_subtype"] is expected
    # Without a diagnosis there is no subtype, whatever the dissociation items say.
    assert score("caps5", form | {22: 0}).flags["dissociative_subtype"] is False


# --- the other instruments -----------------------------------------------------------------------


def test_iesr_subscale_means_and_total():
    form = dict.fromkeys(range(1, 23), 0)
    for number in (1, 2, 3, 6, 9, 14, 16, 20):  # intrusion: eight items at 3
        form[number] = 3
    for number in (5, 7, 8, 11):  # four of the eight avoidance items at 2
        form[number] = 2
    form[4] = 4  # one of six hyperarousal items
    result = score("iesr", form)
    assert result.total == 24 + 8 + 4
    assert result.subscales == {
        "intrusion": 3.0,
        "avoidance": 1.0,
        "hyperarousal": pytest.approx(4 / 6),
    }
    assert result.flags == {"probable_ptsd": True}  # 36 >= 33


def test_wai_sr_subscales():
    form = dict(zip(range(1, 13), [5, 4, 3, 2, 1, 2, 3, 4, 5, 4, 3, 2], strict=True))
    result = score("wai_sr", form)
    assert result.total == 38
    assert result.subscales == {
        "task": 5 + 4 + 4 + 2,  # items 1, 2, 10, 12
        "bond": 3 + 1 + 3 + 5,  # items 3, 5, 7, 9
        "goal": 2 + 2 + 4 + 3,  # items 4, 6, 8, 11
    }
    with pytest.raises(ValueError, match="item 1"):
        score("wai_sr", form | {1: 0})  # 0 is not a WAI-SR code


def test_sds_total_subscales_and_impairment():
    result = score("sds", {1: 4, 2: 4, 3: 3, 4: 2})
    assert result.total == 11
    assert result.subscales == {"work": 4, "social": 4, "family": 3}
    assert result.flags == {"functional_impairment": False}
    assert result.missing == []  # items 4 and 5 are optional
    assert score("sds", {1: 0, 2: 5, 3: 0}).flags["functional_impairment"] is True


def test_phq9_item9_and_unscored_item10():
    form = dict.fromkeys(range(1, 10), 0)
    assert score("phq9", form).flags == {"item9_positive": False}
    assert score("phq9", form | {9: 1}).flags == {"item9_positive": True}
    assert score("phq9", form | {10: 3}).total == 0


def test_bdi2_item9():
    form = dict.fromkeys(range(1, 22), 0)
    assert score("bdi2", form | {9: 2}).flags == {"item9_positive": True}


@pytest.mark.parametrize(
    ("answers", "band", "ideation", "behavior"),
    [
        ({1: 0, 2: 0, 6: 0}, "none", False, False),
        ({1: 1, 2: 0, 6: 0}, "low", True, False),
        ({1: 1, 2: 1, 3: 0, 4: 0, 5: 0, 6: 0}, "low", True, False),
        ({1: 1, 2: 1, 3: 1, 4: 0, 5: 0, 6: 0}, "moderate", True, False),
        ({1: 1, 2: 1, 3: 1, 4: 1, 5: 0, 6: 0}, "high", True, False),
        ({1: 1, 2: 1, 3: 0, 4: 0, 5: 1, 6: 0}, "high", True, False),
        ({1: 0, 2: 0, 6: 1}, "high", False, True),
    ],
)
def test_cssrs_screen_risk_bands(answers, band, ideation, behavior):
    result = score("cssrs_screen", answers)
    assert result.band == band
    assert result.flags == {"ideation": ideation, "behavior": behavior}
    assert result.missing == []
    assert result.total is None


def test_cssrs_questions_3_to_5_are_only_implied_after_a_no_to_question_2():
    # After "yes" to question 2, questions 3-5 must be answered: their absence is missing data,
    # and the risk band cannot be settled without them.
    result = score("cssrs_screen", {1: 1, 2: 1, 6: 0})
    assert result.missing == [3, 4, 5]
    assert result.band is None
    # An answer recorded despite the skip rule is never thrown away.
    assert score("cssrs_screen", {1: 0, 2: 0, 4: 1, 6: 0}).band == "high"


# Each band's edges, from DOMAIN.md: (instrument, total, band).
BAND_EDGES = [
    *[
        ("caps5", t, b)
        for t, b in [
            (0, "asymptomatic"),
            (10, "asymptomatic"),
            (11, "mild"),
            (22, "mild"),
            (23, "moderate"),
            (34, "moderate"),
            (35, "severe"),
            (46, "severe"),
            (47, "extreme"),
            (80, "extreme"),
        ]
    ],
    *[
        ("phq9", t, b)
        for t, b in [
            (0, "minimal"),
            (4, "minimal"),
            (5, "mild"),
            (9, "mild"),
            (10, "moderate"),
            (14, "moderate"),
            (15, "moderately_severe"),
            (19, "moderately_severe"),
            (20, "severe"),
            (27, "severe"),
        ]
    ],
    *[
        ("gad7", t, b)
        for t, b in [
            (0, "minimal"),
            (4, "minimal"),
            (5, "mild"),
            (9, "mild"),
            (10, "moderate"),
            (14, "moderate"),
            (15, "severe"),
            (21, "severe"),
        ]
    ],
    *[
        ("bdi2", t, b)
        for t, b in [
            (0, "minimal"),
            (13, "minimal"),
            (14, "mild"),
            (19, "mild"),
            (20, "moderate"),
            (28, "moderate"),
            (29, "severe"),
            (63, "severe"),
        ]
    ],
]
SCORED_ITEMS = {
    "caps5": (range(1, 21), 4),
    "phq9": (range(1, 10), 3),
    "gad7": (range(1, 8), 3),
    "bdi2": (range(1, 22), 3),
}


def form_with_total(instrument, total):
    """Fill the scored items in order, each up to its highest code, until they add up to ``total``."""
    items, ceiling = SCORED_ITEMS[instrument]
    form, remaining = {}, total
    for number in items:
        form[number] = min(ceiling, remaining)
        remaining -= form[number]
    assert remaining == 0
    return CAPS_BASE | form if instrument == "caps5" else form


@pytest.mark.parametrize(("instrument", "total", "band"), BAND_EDGES)
def test_band_edges(instrument, total, band):
    result = score(instrument, form_with_total(instrument, total))
    assert (result.total, result.band) == (total, band)
