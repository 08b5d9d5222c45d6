"""Cross-checks against the scoring methods published with PCL-5, PHQ-9 and GAD-7.

Each test scores a form the way the official guide tells a clinician to do it on paper, step by
step in the test itself, and compares with Attune:

- PHQ-9 and GAD-7 (Pfizer instruction manual, "Instructions for Patient Health Questionnaire (PHQ)
  and GAD-7 Measures"): count the ticks in each column, multiply each count by the column's value
  (0, 1, 2, 3), add the subtotals; severity cut points 5, 10, 15, 20 (PHQ-9) and 5, 10, 15 (GAD-7).
- PCL-5 (National Center for PTSD, "Using the PCL-5"): sum the 20 items (0-80); for a provisional
  DSM-5 diagnosis, treat each item rated 2 = "Moderately" or higher as an endorsed symptom and
  require at least 1 B item (1-5), 1 C item (6-7), 2 D items (8-14) and 2 E items (15-20).
"""

import pytest

from attune.instruments import score

PHQ_COLUMNS = {
    "Not at all": 0,
    "Several days": 1,
    "More than half the days": 2,
    "Nearly every day": 3,
}


def paper_total(ticks: dict[int, str], columns: dict[str, int]) -> int:
    counts = {column: 0 for column in columns}
    for answer in ticks.values():
        counts[answer] += 1
    return sum(count * columns[column] for column, count in counts.items())


def test_phq9_column_method_worked_example():
    # 2 items "Not at all", 3 "Several days", 2 "More than half the days", 2 "Nearly every day":
    # 2*0 + 3*1 + 2*2 + 2*3 = 13 -> moderate depression (10-14).
    ticks = {
        1: "Several days",
        2: "More than half the days",
        3: "Nearly every day",
        4: "Several days",
        5: "Not at all",
        6: "More than half the days",
        7: "Several days",
        8: "Not at all",
        9: "Nearly every day",
    }
    assert paper_total(ticks, PHQ_COLUMNS) == 13
    result = score("phq9", {n: PHQ_COLUMNS[a] for n, a in ticks.items()})
    assert result.total == 13
    assert result.band == "moderate"
    assert result.flags["item9_positive"] is True


def test_response_labels_match_the_paper_columns():
    from attune.instruments import get_instrument

    for instrument in ("phq9", "gad7"):
        options = get_instrument(instrument).response_sets["frequency"]
        assert {o.label: o.code for o in options} == PHQ_COLUMNS


@pytest.mark.parametrize(
    ("ticks", "expected_total", "expected_band"),
    [
        # 7 x "Several days" = 7 -> mild (5-9)
        (["Several days"] * 7, 7, "mild"),
        # 3 "Nearly every day" + 4 "Not at all" = 9 -> mild; one more point -> moderate
        (["Nearly every day"] * 3 + ["Not at all"] * 4, 9, "mild"),
        (["Nearly every day"] * 3 + ["Several days"] + ["Not at all"] * 3, 10, "moderate"),
        # 5 "Nearly every day" + 2 "Not at all" = 15 -> severe (15-21)
        (["Nearly every day"] * 5 + ["Not at all"] * 2, 15, "severe"),
    ],
)
def test_gad7_column_method(ticks, expected_total, expected_band):
    paper = dict(enumerate(ticks, start=1))
    assert paper_total(paper, PHQ_COLUMNS) == expected_total
    result = score("gad7", {n: PHQ_COLUMNS[a] for n, a in paper.items()})
    assert (result.total, result.band) == (expected_total, expected_band)


PCL_SCALE = {"Not at all": 0, "A little bit": 1, "Moderately": 2, "Quite a bit": 3, "Extremely": 4}


def ncptsd_provisional_diagnosis(codes: dict[int, int]) -> bool:
    endorsed = {n for n, code in codes.items() if code >= PCL_SCALE["Moderately"]}
    return (
        len(endorsed & set(range(1, 6))) >= 1
        and len(endorsed & {6, 7}) >= 1
        and len(endorsed & set(range(8, 15))) >= 2
        and len(endorsed & set(range(15, 21))) >= 2
    )


@pytest.mark.parametrize("seed", range(25))
def test_pcl5_matches_the_ncptsd_method_on_varied_forms(seed):
    import random

    rng = random.Random(seed)
    codes = {n: rng.choice([0, 0, 1, 1, 2, 3, 4]) for n in range(1, 21)}
    result = score("pcl5", codes)
    assert result.total == sum(codes.values())
    assert result.flags["probable_ptsd_dsm"] is ncptsd_provisional_diagnosis(codes)
    assert result.flags["probable_ptsd_cutoff"] is (sum(codes.values()) >= 33)


def test_pcl5_worked_example():
    # Items 1 and 4 "Quite a bit", 7 "Moderately", 9 and 13 "Extremely", 17 and 20 "Moderately",
    # all others "A little bit": 13*1 + 2*3 + 1*2 + 2*4 + 2*2 = 33; B, C, D, E all met.
    answers = dict.fromkeys(range(1, 21), "A little bit") | {
        1: "Quite a bit",
        4: "Quite a bit",
        7: "Moderately",
        9: "Extremely",
        13: "Extremely",
        17: "Moderately",
        20: "Moderately",
    }
    codes = {n: PCL_SCALE[a] for n, a in answers.items()}
    result = score("pcl5", codes)
    assert result.total == 33
    assert result.subscales == {
        "B": 3 + 1 + 1 + 3 + 1,
        "C": 1 + 2,
        "D": 1 + 4 + 1 + 1 + 1 + 4 + 1,
        "E": 1 + 1 + 2 + 1 + 1 + 2,
    }
    assert result.flags == {"probable_ptsd_dsm": True, "probable_ptsd_cutoff": True}
