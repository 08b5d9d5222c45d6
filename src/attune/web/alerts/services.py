"""Raising alerts from saved forms, and acknowledging them."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from attune.instruments import get_instrument, score
from attune.safety import Alert, check_suicidality
from attune.safety.suicidality import SCREENS
from attune.web.alerts.models import SafetyAlert
from attune.web.audit.chain import record
from attune.web.errors import WrongState
from attune.web.forms.models import FormRecord, FormStatus
from attune.web.notifications.critical import notify_critical
from attune.web.participants.models import Participant
from attune.web.studies.access import User as AnyUser
from attune.web.studies.access import can, require, visible_sites
from attune.web.studies.models import Site, Study
from attune.web.studies.roles import Capability
from attune.web.validation import REASON_TEXT, clean_text


def raise_for_form(form: FormRecord) -> list[SafetyAlert]:
    """Alerts of a saved suicidality screen (C-SSRS, PHQ-9, BDI-II), stored once each.

    On a draft only decided findings are raised: a positive answer must reach the team even if the
    form is never finished, but "incomplete" is not news while someone is still answering. Once the
    form is submitted or signed, an undecided screen is raised as incomplete too.
    """
    if form.instrument not in SCREENS:
        return []
    result = score(form.instrument, {int(k): v for k, v in form.answers.items()})
    protocol = form.participant.study.protocol
    try:
        visit = protocol.visit(form.visit_id).label.split(" (")[0]
    except KeyError:  # a visit the protocol no longer has
        visit = form.visit_id
    alerts = check_suicidality(
        result,
        form_id=str(form.pk),
        settings=protocol.suicidality,
        # People read the alert: the form by what it is and where, not by its database id.
        form_label=f"{get_instrument(form.instrument).abbreviation} at {visit}",
    )
    if form.status == FormStatus.DRAFT:
        alerts = tuple(alert for alert in alerts if alert.kind != "incomplete_screen")
    return store_alerts(form.participant, alerts, form=form)


def store_alerts(
    participant: Participant,
    alerts: Iterable[Alert],
    *,
    key_prefix: str = "",
    message_prefix: str = "",
    form: FormRecord | None = None,
    key_of: Callable[[Alert], str] | None = None,
) -> list[SafetyAlert]:
    """Store each active alert of :mod:`attune.safety` once (by its stable key); return the new ones.

    ``key_of`` gives the stored key where the safety key alone is not stable (a dosing session keys
    a reading's event by the reading, whose minutes change once the initial dose is recorded)."""
    raised = []
    for alert in alerts:
        if alert.acknowledgement is not None:
            continue
        stored, created = SafetyAlert.objects.get_or_create(
            participant=participant,
            key=key_of(alert) if key_of is not None else f"{key_prefix}{alert.key}",
            defaults={
                "kind": alert.kind,
                "severity": alert.severity,
                "message": f"{message_prefix}{alert.message}",
                "form": form,
            },
        )
        if created:
            raised.append(stored)
            record(
                "system",
                "raise_alert",
                model="alerts.alert",
                object_id=stored.pk,
                study=participant.study.code,
                participant=participant,
                changes={
                    "participant": participant.code,
                    "severity": alert.severity,
                    "kind": alert.kind,
                },
            )
            notify_critical(stored)  # a critical one: by e-mail to the on-call contacts too
    return raised


@transaction.atomic
def acknowledge(actor: User, alert: SafetyAlert, note: str) -> SafetyAlert:
    participant = alert.participant
    require(actor, participant.study, Capability.ACKNOWLEDGE_ALERTS, participant.site)
    if alert.acknowledged_at is not None:
        raise WrongState(
            f"acknowledged already by {alert.acknowledged_by} at {alert.acknowledged_at:%Y-%m-%d %H:%M}"
        )
    clean_text("note", note, REASON_TEXT, required="say what was done about this alert")
    alert.acknowledged_by = actor
    alert.acknowledged_at = timezone.now()
    alert.note = note
    alert.save(update_fields=["acknowledged_by", "acknowledged_at", "note"])
    record(
        actor.get_username(),
        "acknowledge_alert",
        model="alerts.alert",
        object_id=alert.pk,
        study=participant.study.code,
        participant=participant,
        reason=note,
        changes={"participant": participant.code},
    )
    return alert


def open_alerts(
    user: AnyUser, study: Study, sites: Iterable[Site] | None = None
) -> QuerySet[SafetyAlert]:
    """Active alerts at the user's sites, for roles that may read participants' questionnaires.

    ``sites`` are the user's visible sites when the caller has read them already."""
    allowed = [
        site
        for site in (visible_sites(user, study) if sites is None else sites)
        if can(user, study, Capability.READ_PARTICIPANT_FORMS, site)
    ]
    return SafetyAlert.objects.filter(
        participant__study=study, participant__site__in=allowed, acknowledged_at__isnull=True
    ).select_related("participant")
