"""A protocol's monitoring numbers are what the safety rules use."""

from attune.protocol import get_protocol
from attune.safety import VitalsReading, check_vitals, may_give_supplemental_dose


def test_mapp_supplemental_window_is_the_protocols_90_to_120_minutes():
    settings = get_protocol("mapp").supplemental_dose_settings()
    decide = lambda minute: may_give_supplemental_dose(  # noqa: E731
        now_min=minute, alerts=[], contraindications=[], already_given=False, settings=settings
    )
    assert decide(90).allowed
    assert decide(120).allowed
    assert not decide(121).allowed  # inside the safety module's own default 90-150, not MAPP2's
    assert not decide(89).allowed


def test_no_supplemental_settings_without_a_supplemental_dose():
    assert get_protocol("psilocybin_single").supplemental_dose_settings() is None


def test_each_protocols_vital_thresholds_decide_the_alerts():
    reading = VitalsReading(time=90, systolic=170, diastolic=95, pulse=115, temperature=37.0)
    mapp = check_vitals(reading, get_protocol("mapp").vitals.thresholds)
    assert sorted(alert.kind for alert in mapp) == [
        "above_threshold",
        "above_threshold",
    ]  # SBP, pulse
    psilocybin = check_vitals(reading, get_protocol("psilocybin_single").vitals.thresholds)
    assert psilocybin == ()  # its limits are systolic 180 and pulse 120
