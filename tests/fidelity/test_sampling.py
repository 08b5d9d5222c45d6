"""The adherence sample: the protocol's fraction in every dyad, reproducible from the seed, stable
as sessions accrue, and different under another seed."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from attune.fidelity.sampling import SessionRef, draw_sample, sample_block


def _sessions(dyads: dict[str, int]) -> list[SessionRef]:
    start = date(2024, 1, 1)
    return [
        SessionRef(dyad, start + timedelta(days=7 * i), f"P{dyad}{i:03d}", "experimental_1")
        for dyad, count in dyads.items()
        for i in range(count)
    ]


@pytest.mark.parametrize(
    ("fraction", "block"),
    [(0.25, (1, 4)), (0.5, (1, 2)), (0.3, (3, 10)), (1.0, (1, 1)), (0.33, (7, 20))],
)
def test_block_sizes_make_the_fraction_whole(fraction: float, block: tuple[int, int]) -> None:
    assert sample_block(fraction) == block


def test_every_dyad_is_sampled_in_the_protocols_fraction() -> None:
    sessions = _sessions({"A": 40, "B": 12, "C": 8})
    drawn = draw_sample(sessions, 0.25, "seed-1")
    counts = {d: sum(s.dyad == d for s in drawn) for d in "ABC"}
    assert counts == {"A": 10, "B": 3, "C": 2}  # exactly 1 in every block of 4
    for dyad, count in (("A", 40), ("B", 12)):
        ordered = sorted(s for s in sessions if s.dyad == dyad)
        for block in range(count // 4):
            assert sum(s in drawn for s in ordered[4 * block : 4 * block + 4]) == 1


def test_the_sample_is_reproducible_from_the_seed_and_depends_on_it() -> None:
    sessions = _sessions({"A": 40, "B": 40})
    assert draw_sample(sessions, 0.25, 7) == draw_sample(list(reversed(sessions)), 0.25, 7)
    assert draw_sample(sessions, 0.25, 7) != draw_sample(sessions, 0.25, 8)


def test_a_sessions_draw_never_changes_as_later_sessions_are_held() -> None:
    early = _sessions({"A": 9})
    later = _sessions({"A": 30})
    first = set(draw_sample(early, 0.5, "s"))
    assert first <= set(draw_sample(later, 0.5, "s"))
    assert all(s in first for s in draw_sample(later, 0.5, "s") if s in early)


def test_a_refused_fraction() -> None:
    with pytest.raises(ValueError, match="sample fraction"):
        sample_block(0)
