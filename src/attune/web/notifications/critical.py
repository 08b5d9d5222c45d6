"""A critical safety alert, by e-mail to the study's on-call contacts.

The e-mail says who (participant code, site), what kind of alert and when, and where to read it:
not the alert's text nor any value (they stay behind the login, where only roles that read the
participant's forms see them), and nothing about the arm (the alert row holds none; the kind and
time are what every blinded member of the team already sees on the study page).
"""

from __future__ import annotations

from django.conf import settings

from attune.web.alerts.models import SafetyAlert
from attune.web.notifications.models import ContactKind
from attune.web.notifications.services import notify_contacts

KIND_WORDS = {
    "suicidality": "suicidality screen",
    "incomplete_screen": "incomplete suicidality screen",
    "above_threshold": "vital sign above its threshold",
    "vitals_reading": "vital signs during a session",
    "rise_in_window": "rise in vital signs",
    "rise_over_baseline": "rise over baseline vital signs",
    "missed_reading": "missed vital-sign reading",
    "no_baseline": "no baseline vital signs",
    "serious_adverse_event": "serious adverse event",
    "therapist_presence_gap": "therapist presence gap",
}


def page_of(study_code: str, participant_code: str) -> str:
    """The participant's page, as a full address when ``ATTUNE_SITE_URL`` is set."""
    base = str(getattr(settings, "ATTUNE_SITE_URL", "") or "").rstrip("/")
    return f"{base}/s/{study_code}/p/{participant_code}/"


def notify_critical(alert: SafetyAlert) -> None:
    """Queue the e-mail for a newly raised alert, if it is critical (nothing otherwise)."""
    if alert.severity != "critical":
        return
    participant = alert.participant
    study = participant.study
    what = KIND_WORDS.get(alert.kind, alert.kind.replace("_", " "))
    raised = f"{alert.raised_at:%Y-%m-%d %H:%M} UTC" if alert.raised_at else "just now"
    notify_contacts(
        study,
        ContactKind.ON_CALL,
        kind="critical_alert",
        subject=f"Critical safety alert: {participant.code} ({study.code})",
        body=(
            f"A critical safety alert was raised in study {study.code}.\n\n"
            f"Participant: {participant.code}\n"
            f"Site: {participant.site.code} ({participant.site.name})\n"
            f"Alert: {what}\n"
            f"Raised: {raised}\n\n"
            f"Read it and acknowledge it in Attune: {page_of(study.code, participant.code)}\n\n"
            "You receive this because you are an on-call contact of the study.\n"
        ),
    )
