"""Edge cases of the DSM-5 PTSD symptom rule (>= 1 B, >= 1 C, >= 2 D, >= 2 E items rated >= 2).

The same rule drives PCL-5 ``probable_ptsd_dsm`` and CAPS-5 ``meets_symptom_criteria``.
"""

import pytest

from attune.instruments import score

CLUSTERS = {"B": range(1, 6), "C": range(6, 8), "D": range(8, 15), "E": range(15, 21)}
NEEDED = {"B": 1, "C": 1, "D": 2, "E": 2}
CAPS_REST = {22: 1, 23: 2, 24: 2, 25: 2}


def minimal_form(below=1):
    """Exactly the minimum: the first needed items of each cluster at 2, everything else ``below``."""
    form = dict.fromkeys(range(1, 21), below)
    for cluster, items in CLUSTERS.items():
        for number in list(items)[: NEEDED[cluster]]:
            form[number] = 2
    return form


def rule(instrument, form):
    if instrument == "pcl5":
        return score("pcl5", form).flags["probable_ptsd_dsm"]
    return score("caps5", form | CAPS_REST).flags["meets_symptom_criteria"]


@pytest.mark.parametrize("instrument", ["pcl5", "caps5"])
def test_exactly_minimal_pattern_meets_the_rule(instrument):
    assert rule(instrument, minimal_form()) is True


@pytest.mark.parametrize("instrument", ["pcl5", "caps5"])
@pytest.mark.parametrize("cluster", sorted(CLUSTERS))
def test_one_short_in_any_cluster_fails(instrument, cluster):
    form = minimal_form()
    endorsed = [n for n in CLUSTERS[cluster] if form[n] >= 2]
    form[endorsed[0]] = 1  # now one short in this cluster only
    assert rule(instrument, form) is False


@pytest.mark.parametrize("instrument", ["pcl5", "caps5"])
def test_a_rating_of_1_is_not_a_symptom_even_when_every_item_has_it(instrument):
    assert rule(instrument, dict.fromkeys(range(1, 21), 1)) is False


@pytest.mark.parametrize("instrument", ["pcl5", "caps5"])
def test_high_total_without_the_pattern_fails(instrument):
    form = dict.fromkeys(range(1, 21), 4) | {6: 1, 7: 1}  # every cluster but C
    assert rule(instrument, form) is False


@pytest.mark.parametrize("instrument", ["pcl5", "caps5"])
def test_a_missing_item_leaves_the_rule_open_only_when_it_could_matter(instrument):
    form = minimal_form()
    # The only endorsed C item missing: it might have been 2, so the rule cannot be decided.
    assert rule(instrument, form | {6: None}) is None
    # With the other C item unanswered instead, C is already met: the rule is decided.
    assert rule(instrument, form | {7: None}) is True
    # No B item endorsed (all answered 1): the rule fails whatever the missing D items were.
    no_b = form | {1: 1, 8: None, 9: None}
    assert rule(instrument, no_b) is False
