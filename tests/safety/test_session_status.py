"""session_status: one status per moment, one alert event per reading, texts in words with units.

"Now" is whatever time the caller passes (the time an entry states, or the wall clock of a live
session): the same readings give the same status at the same minute, whenever they are checked.
"""

import re
from datetime import UTC, datetime

from attune.safety import (
    Acknowledgement,
    SupplementalDoseSettings,
    VitalsReading,
    VitalThresholds,
    reading_key,
    session_status,
)

SCHEDULE = (0, 30, 60, 90, 120)
WINDOW = SupplementalDoseSettings(window_start_min=90, window_end_min=150)
ACK = Acknowledgement(by="Dr. A. Rivera", at=datetime(2026, 11, 22, 10, 5, tzinfo=UTC), note="Seen")


def reading(time, systolic=127, diastolic=80, pulse=75, temperature=36.8):
    return VitalsReading(time, systolic, diastolic, pulse, temperature)


def status(readings, now_min, **kwargs):
    return session_status(
        readings,
        schedule_min=SCHEDULE,
        now_min=now_min,
        thresholds=VitalThresholds(),
        supplemental=WINDOW,
        **kwargs,
    )


def test_a_reading_that_breaks_four_rules_is_one_event_listing_them():
    readings = [reading(0), reading(30), reading(60, systolic=172, diastolic=112)]
    found = status(readings, 65)
    assert len(found.alerts) == 1
    (event,) = found.alerts
    assert event.kind == "vitals_reading" and event.severity == "critical"
    assert event.key == reading_key(60)
    assert event.rules == (
        "systolic above 160 mmHg",
        "diastolic above 110 mmHg",
        "systolic rose 45 mmHg over the pre-dose reading",
        "systolic rose 45 mmHg over the recent readings",
    )
    assert event.message == (
        "Blood pressure 172/112 mmHg at 60 min: systolic above 160 mmHg, diastolic above 110 mmHg, "
        "systolic rose 45 mmHg over the pre-dose reading, "
        "systolic rose 45 mmHg over the recent readings."
    )


def test_one_acknowledgement_clears_the_whole_event():
    readings = [reading(0), reading(30), reading(60, systolic=172, diastolic=112)]
    assert len(status(readings, 65).active) == 1
    acknowledged = status(readings, 65, acknowledgements={reading_key(60): ACK})
    assert acknowledged.active == ()
    assert acknowledged.decision is not None
    assert "active_alert" not in {r.code for r in acknowledged.decision.reasons}


def test_texts_are_words_with_units_never_keys_or_fractions_of_a_minute():
    # Entered with seconds (an API client): 120.367 min after the dose.
    readings = [
        reading(-10),
        reading(30.2, pulse=118),
        reading(120.367, systolic=175, temperature=38.6),
    ]
    found = status(readings, 140.9)
    texts = [a.message for a in found.alerts] + list(found.decision.messages)
    assert texts, "this session raises alerts and refuses the dose"
    for text in texts:
        assert ".367" not in text and ".9 min" not in text and ".2 min" not in text
        assert not re.search(r"/systolic|t:\d|above_threshold|missed_reading", text)
    pulse, missed_60, missed_90, late = found.alerts
    assert pulse.message == "Pulse 118 bpm at 30 min: pulse above 110 bpm."
    assert missed_60.kind == missed_90.kind == "missed_reading"
    assert missed_60.message.startswith("The reading scheduled at 60 min is missing")
    assert late.message.startswith(
        "Blood pressure 175/80 mmHg, temperature 38.6 °C at 120 min: systolic above 160 mmHg, "
        "temperature above 38 °C"
    )


def test_the_decision_uses_the_time_it_is_asked_for_not_a_clock():
    readings = [reading(0), reading(30), reading(60), reading(90), reading(120)]
    early = status(readings[:3], 80)
    inside, late = status(readings[:4], 100), status(readings, 151)
    assert early.supplemental == "blocked" and early.window_opens_in == 10
    assert [r.code for r in early.decision.reasons] == ["before_window"]
    assert "wait 10 min" in early.decision.messages[0]
    assert inside.supplemental == "allowed" and inside.window_closes_in == 50
    assert late.supplemental == "blocked"
    assert {r.code for r in late.decision.reasons} >= {"after_window"}
    # The same readings at the same minute give the same answer, whenever they are checked.
    assert status(readings[:4], 100) == inside


def test_the_next_reading_is_the_first_not_taken_and_not_yet_missed():
    readings = [reading(0), reading(30)]
    assert status(readings, 40).next_reading_min == 60
    assert status(readings, 40).next_reading_in == 20
    # At 69 min the 60-min reading is due (inside its 10-min grace): still the next one.
    assert status(readings, 69).next_reading_min == 60
    # At 71 min it is missed (an alert) and the next is the 90-min reading.
    later = status(readings, 71)
    assert later.next_reading_min == 90
    assert [a.kind for a in later.active] == ["missed_reading"]
    done = [reading(t) for t in SCHEDULE]
    assert status(done, 125).next_reading_min is None


def test_a_given_supplemental_dose_is_given_not_blocked():
    readings = [reading(0), reading(30), reading(60), reading(90)]
    assert status(readings, 100, supplemental_given=True).supplemental == "given"
    no_window = session_status(readings, schedule_min=SCHEDULE, now_min=100)
    assert no_window.decision is None and no_window.supplemental == "none"
