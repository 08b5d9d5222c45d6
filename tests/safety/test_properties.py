"""Properties over random sessions: no alert is lost to input order, and no high value goes unseen."""

from hypothesis import given, settings
from hypothesis import strategies as st

from attune.safety import VitalsReading, check_session, reading_schedule

readings = st.lists(
    st.builds(
        lambda time, sys_, dia_gap, pulse, temp: VitalsReading(
            time, sys_, sys_ - dia_gap, pulse, temp
        ),
        time=st.integers(-60, 480),
        sys_=st.integers(80, 250),
        dia_gap=st.integers(50, 60),
        pulse=st.integers(40, 180),
        temp=st.floats(35.0, 41.0, allow_nan=False).map(lambda t: round(t, 1)),
    ),
    max_size=25,
    unique_by=lambda reading: reading.time,
)


@settings(max_examples=150, deadline=None)
@given(readings, st.randoms())
def test_alerts_do_not_depend_on_input_order(series, random):
    shuffled = list(series)
    random.shuffle(shuffled)
    now = 500
    assert check_session(series, schedule_min=reading_schedule(), now_min=now) == check_session(
        shuffled, schedule_min=reading_schedule(), now_min=now
    )


@settings(max_examples=150, deadline=None)
@given(readings)
def test_every_value_over_a_default_limit_has_its_alert(series):
    alerts = check_session(series, schedule_min=(), now_min=500)
    flagged = {(a.time, a.subject) for a in alerts if a.kind == "above_threshold"}
    limits = {"systolic": 160, "diastolic": 110, "pulse": 110, "temperature": 38.0}
    expected = {
        (r.time, vital) for r in series for vital, limit in limits.items() if r.value(vital) > limit
    }
    assert flagged == expected
