"""Kits of study drug: the kit list, shipments, blinded dispensing, and the accountability register.

Blinding rules, kept here so that no page or API answer has to remember them:

- Only :func:`upload_kit_list` / :func:`generate_kit_list` write a kit's arm, and only
  :func:`dispense` reads it (to pick a kit of the participant's arm). No audit event, ledger line,
  message or refusal names an arm or depends on one.
- The kit dispensed is drawn **at random** among the site's available kits of the participant's arm,
  not the lowest number: with "lowest number first" the kits skipped over would be known to belong
  to the other arm, and the next participant's kit would say whether they share an arm.
- Dispensing is refused, with one message for everyone, when *any* arm has no kit left at the site:
  a refusal that depended on the participant's own arm ("no kit of your arm") would tell everyone
  who saw it which arm that participant is in. The site learns only that it needs a shipment.
- Shipments take the kit list in its order (blocks balanced between arms when generated), so a data
  manager ships balanced stock without seeing an arm.

Accountability: every movement of a kit at a site is a line of the site's register
(:class:`~attune.web.kits.models.LedgerEntry`, append-only) and an audit event. The balance
(:func:`attune.web.kits.selectors.balance`) is computed from the register; a reconciliation
compares staff's count with it and raises a :class:`DiscrepancyAlert` on any difference.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import secrets
from collections.abc import Iterable
from datetime import date
from typing import Any

import numpy as np
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from attune.web.audit.chain import record
from attune.web.dosing.models import Dose
from attune.web.errors import InvalidInput, NotAllowed, WrongState
from attune.web.kits.models import (
    Condition,
    DiscrepancyAlert,
    Dispensation,
    Kit,
    KitListVersion,
    KitStatus,
    LedgerEntry,
    Movement,
    Reconciliation,
    Shipment,
)
from attune.web.locks import require_unlocked
from attune.web.notifications.models import ContactKind
from attune.web.notifications.services import notify_contacts
from attune.web.participants.models import Participant, Status
from attune.web.studies.access import can, require
from attune.web.studies.models import Site, Study
from attune.web.studies.roles import Capability
from attune.web.validation import REASON_TEXT, SHORT_TEXT, check_date, clean_text

C = Capability
KIT_NUMBER = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,31}")
SHIPMENT_NUMBER = re.compile(r"SH-[0-9]{3,12}")
#: the most kits one upload or generation may add, and one shipment may carry
MOST_KITS = 5_000
MOST_IN_SHIPMENT = 500
#: the largest kit list file accepted (about 40 bytes a line)
MOST_BYTES = 400_000
#: kits in the pharmacy's custody: what a count of the shelves should find
IN_CUSTODY = (KitStatus.AVAILABLE, KitStatus.QUARANTINED, KitStatus.RETURNED)
NO_STOCK = (
    "no kit can be dispensed at site {site} now: the site's stock is too low to dispense "
    "blind (every arm needs a kit at the site); ask the data manager for a shipment"
)


def _audit(
    actor: User,
    action: str,
    *,
    study: Study,
    object_id: object,
    changes: dict[str, Any],
    site: Site | None = None,
    participant: Participant | None = None,
    model: str = "kits.kit",
    reason: str = "",
) -> None:
    record(
        actor.get_username(),
        action,
        model=model,
        object_id=object_id,
        study=study.code,
        site=site,
        participant=participant,
        changes=changes,
        reason=reason,
    )


def kit_number_problem(number: str) -> str | None:
    if not KIT_NUMBER.fullmatch(number):
        return "a kit number is 1-32 letters, digits and dashes, starting with a letter or digit"
    return None


def dispenses_kits(site: Site) -> bool:
    """A site that has received kits dispenses them, and its doses take the kit dispensed. Before
    its first receipt (older data, a site not yet supplied) a dose keeps its typed kit number."""
    return LedgerEntry.objects.filter(site=site).exists()


# --- the kit list (the unblinded statistician) ----------------------------------------------------


def parse_kit_list(text: str, arms: Iterable[str]) -> list[tuple[str, str]]:
    """``kit,arm`` rows (a header line first) as (number, arm) pairs; every problem is refused
    with its line number, never a stack trace."""
    if len(text) > MOST_BYTES:
        raise InvalidInput({"file": f"at most {MOST_BYTES} characters"})
    clean_text("file", text, MOST_BYTES, required="the kit list is empty")
    known = set(arms)
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    header = [cell.strip().lower() for cell in rows[0]] if rows else []
    if header[:2] not in (["kit", "arm"], ["kit_number", "arm"]):
        raise InvalidInput({"file": "the first line must be the header: kit,arm"})
    found: list[tuple[str, str]] = []
    seen: set[str] = set()
    for line, row in enumerate(rows[1:], start=2):
        if not row or not "".join(row).strip():
            continue
        if len(row) != 2:
            raise InvalidInput({"file": f"line {line}: two values expected (kit,arm)"})
        number, arm = row[0].strip(), row[1].strip()
        problem = kit_number_problem(number)
        if problem is not None:
            raise InvalidInput({"file": f"line {line}: {problem}"})
        if arm not in known:
            raise InvalidInput(
                {"file": f"line {line}: not an arm of the protocol ({', '.join(sorted(known))})"}
            )
        if number in seen:
            raise InvalidInput({"file": f"line {line}: kit {number} is listed twice"})
        seen.add(number)
        found.append((number, arm))
    if not found:
        raise InvalidInput({"file": "no kit in the list"})
    if len(found) > MOST_KITS:
        raise InvalidInput({"file": f"at most {MOST_KITS} kits at a time"})
    return found


def _add_kits(
    actor: User, study: Study, kits: list[tuple[str, str]], source: str
) -> KitListVersion:
    require(actor, study, C.MANAGE_KIT_LIST)
    taken = set(
        Kit.objects.filter(study=study, number__in=[n for n, _ in kits]).values_list(
            "number", flat=True
        )
    )
    if taken:
        raise InvalidInput({"file": f"kit {sorted(taken)[0]} is in the kit list already"})
    start = Kit.objects.filter(study=study).aggregate(Max("position"))["position__max"] or 0
    Kit.objects.bulk_create(
        Kit(study=study, number=number, arm=arm, position=start + i)
        for i, (number, arm) in enumerate(kits, start=1)
    )
    fingerprint = hashlib.sha256("\n".join(f"{n},{a}" for n, a in kits).encode("utf-8")).hexdigest()
    version = KitListVersion.objects.create(
        study=study,
        source=source,
        count=len(kits),
        sha256=fingerprint,
        first_kit=kits[0][0],
        last_kit=kits[-1][0],
        made_by=actor,
    )
    # The count and a fingerprint of the list: enough to prove later which list was used, and
    # nothing a blinded reader of the trail could learn an arm from.
    _audit(
        actor,
        "upload_kit_list" if source == "uploaded" else "generate_kit_list",
        study=study,
        model="kits.kitlistversion",
        object_id=version.pk,
        changes={
            "kits": len(kits),
            "first": kits[0][0],
            "last": kits[-1][0],
            "sha256": fingerprint,
            "arms": "(blinded)",
        },
    )
    return version


@transaction.atomic
def upload_kit_list(actor: User, study: Study, text: str) -> KitListVersion:
    """Add the kits of a ``kit,arm`` CSV file to the study's list."""
    require(actor, study, C.MANAGE_KIT_LIST)
    return _add_kits(
        actor, study, parse_kit_list(text, (a.id for a in study.protocol.arms)), "uploaded"
    )


def _kit_block(study: Study, block_number: int) -> list[str]:
    """Twice the allocation ratio, shuffled by a generator seeded from the study's secret seed:
    reproducible by the unblinded team, unpredictable to everyone else (as randomisation is)."""
    arms = study.protocol.arms
    material = f"{study.randomisation_seed}|kits|{block_number}".encode()
    rng = np.random.default_rng(int.from_bytes(hashlib.sha256(material).digest()[:8], "big"))
    block = [arm.id for arm in arms for _ in range(arm.ratio * 2)]
    rng.shuffle(block)
    return block


@transaction.atomic
def generate_kit_list(actor: User, study: Study, count: int, prefix: str = "K") -> KitListVersion:
    """``count`` new kits numbered after the last (``K-0001`` ...), their arms in permuted blocks
    drawn from the study's seed. Blocks continue where the last generation stopped."""
    require(actor, study, C.MANAGE_KIT_LIST)
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MOST_KITS:
        raise InvalidInput({"count": f"a whole number of kits from 1 to {MOST_KITS}"})
    prefix = clean_text("prefix", prefix, 8, required="a prefix such as K")
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9]{0,7}", prefix):
        raise InvalidInput({"prefix": "1-8 letters and digits, starting with a letter"})
    generated = KitListVersion.objects.filter(study=study, source="generated")
    already = sum(v.count for v in generated)
    block_size = len(_kit_block(study, 0))
    arms: list[str] = []
    block_number = already // block_size
    arms = _kit_block(study, block_number)[already % block_size :]
    while len(arms) < count:
        block_number += 1
        arms += _kit_block(study, block_number)
    taken = set(Kit.objects.filter(study=study).values_list("number", flat=True))
    kits: list[tuple[str, str]] = []
    serial = already
    for arm in arms[:count]:
        serial += 1
        number = f"{prefix}-{serial:04d}"
        while number in taken:
            serial += 1
            number = f"{prefix}-{serial:04d}"
        kits.append((number, arm))
    return _add_kits(actor, study, kits, "generated")


# --- shipments (the data manager) and their receipt (the site) ------------------------------------


def _kits_named(study: Study, numbers: Iterable[str], field: str) -> list[Kit]:
    wanted: list[str] = []
    for raw in numbers:
        number = clean_text(field, raw, 64)
        if not number:
            continue
        problem = kit_number_problem(number)
        if problem is not None:
            raise InvalidInput({field: f"{number[:40]!r}: {problem}"})
        if number not in wanted:
            wanted.append(number)
    found = {k.number: k for k in Kit.objects.filter(study=study, number__in=wanted)}
    unknown = [n for n in wanted if n not in found]
    if unknown:
        raise InvalidInput({field: f"no kit {unknown[0]} in the kit list"})
    return [found[n] for n in wanted]


@transaction.atomic
def ship_kits(
    actor: User,
    site: Site,
    *,
    shipped_on: date,
    kits: list[str] | None = None,
    count: int | None = None,
) -> Shipment:
    """Send kits from the depot to ``site``: the kits named, or the next ``count`` of the list."""
    study = site.study
    require(actor, study, C.SHIP_KITS, site)
    check_date("shipped_on", shipped_on)
    if bool(kits) == (count is not None):
        raise InvalidInput({"kits": "name the kits, or give how many of the list to ship"})
    if count is not None:
        if (
            isinstance(count, bool)
            or not isinstance(count, int)
            or not 1 <= count <= MOST_IN_SHIPMENT
        ):
            raise InvalidInput({"count": f"a whole number from 1 to {MOST_IN_SHIPMENT}"})
        chosen = list(
            Kit.objects.select_for_update()
            .filter(study=study, status=KitStatus.AT_DEPOT)
            .order_by("position")[:count]
        )
        if len(chosen) < count:
            raise WrongState(f"only {len(chosen)} kits are left at the depot")
    else:
        assert kits is not None
        if len(kits) > MOST_IN_SHIPMENT:
            raise InvalidInput({"kits": f"at most {MOST_IN_SHIPMENT} kits in a shipment"})
        chosen = _kits_named(study, kits, "kits")
        if not chosen:
            raise InvalidInput({"kits": "name at least one kit"})
        gone = [k.number for k in chosen if k.status != KitStatus.AT_DEPOT]
        if gone:
            raise WrongState(f"kit {gone[0]} has left the depot already")
    taken = Shipment.objects.filter(study=study).count()
    shipment = Shipment.objects.create(
        study=study,
        site=site,
        number=f"SH-{taken + 1:03d}",
        shipped_on=shipped_on,
        shipped_by=actor,
    )
    Kit.objects.filter(pk__in=[k.pk for k in chosen]).update(
        status=KitStatus.IN_TRANSIT, site=site, shipment=shipment
    )
    _audit(
        actor,
        "ship_kits",
        study=study,
        site=site,
        model="kits.shipment",
        object_id=shipment.number,
        changes={
            "site": site.code,
            "shipped_on": shipped_on,
            "kits": [k.number for k in chosen],
        },
    )
    return shipment


def _next_line(site: Site) -> int:
    last = LedgerEntry.objects.filter(site=site).aggregate(Max("line"))["line__max"]
    return 1 + (last or 0)


def _ledger(
    actor: User,
    kit: Kit,
    movement: Movement,
    on: date,
    *,
    participant: Participant | None = None,
    visit_id: str = "",
    reference: str = "",
    note: str = "",
) -> LedgerEntry:
    """One line of the site's register and its audit event (call inside the transaction)."""
    assert kit.site is not None
    Site.objects.select_for_update().filter(pk=kit.site.pk).first()  # one writer per register
    entry = LedgerEntry.objects.create(
        study=kit.study,
        site=kit.site,
        line=_next_line(kit.site),
        kit=kit,
        movement=movement,
        on=on,
        recorded_by=actor,
        participant=participant,
        visit_id=visit_id,
        reference=reference,
        note=note,
    )
    _audit(
        actor,
        f"kit_{movement}",
        study=kit.study,
        site=kit.site,
        participant=participant,
        object_id=kit.number,
        changes={
            "kit": kit.number,
            "site": kit.site.code,
            "line": entry.line,
            "on": on,
            **({"participant": participant.code, "visit": visit_id} if participant else {}),
            **({"reference": reference} if reference else {}),
        },
        reason=note,
    )
    return entry


@transaction.atomic
def receive_shipment(
    actor: User,
    shipment: Shipment,
    *,
    received_on: date,
    condition: str,
    damaged: list[str] | None = None,
    note: str = "",
) -> Shipment:
    """The site receives a shipment: every kit enters the register; damaged kits (or all, after a
    temperature excursion) are quarantined, never dispensed."""
    site, study = shipment.site, shipment.study
    if not (can(actor, study, C.ACCOUNT_KITS, site) or can(actor, study, C.SHIP_KITS, site)):
        raise NotAllowed(f"your role in {study.code} does not allow receiving kits at {site.code}")
    require_shipment = Shipment.objects.select_for_update().get(pk=shipment.pk)
    if require_shipment.received_on is not None:
        raise WrongState(f"shipment {shipment.number} was received already")
    check_date("received_on", received_on)
    if received_on < shipment.shipped_on:
        raise InvalidInput({"received_on": "a shipment is received after it was shipped"})
    if condition not in Condition.values:
        raise InvalidInput({"condition": f"one of {', '.join(Condition.values)}"})
    note = clean_text("note", note, REASON_TEXT)
    kits = list(shipment.kits.order_by("position"))
    broken = _kits_named(study, damaged or [], "damaged")
    outside = [k.number for k in broken if k.shipment_id != shipment.pk]
    if outside:
        raise InvalidInput({"damaged": f"kit {outside[0]} is not in shipment {shipment.number}"})
    if condition == Condition.INTACT and broken:
        raise InvalidInput({"condition": "damaged kits are listed: the shipment is not intact"})
    if condition == Condition.DAMAGED and not broken:
        raise InvalidInput({"damaged": "list the kit numbers that arrived damaged"})
    if condition == Condition.TEMPERATURE:
        broken = kits
        if not note:
            raise InvalidInput({"note": "say what the temperature logger showed"})
    quarantined = {k.pk for k in broken}
    for kit in kits:
        _ledger(actor, kit, Movement.RECEIVED, received_on, reference=shipment.number)
        if kit.pk in quarantined:
            _ledger(
                actor, kit, Movement.QUARANTINED, received_on, reference=shipment.number, note=note
            )
        kit.status = KitStatus.QUARANTINED if kit.pk in quarantined else KitStatus.AVAILABLE
        kit.save(update_fields=["status"])
    shipment.received_on = received_on
    shipment.received_by = actor
    shipment.condition = condition
    shipment.condition_note = note
    shipment.save(update_fields=["received_on", "received_by", "condition", "condition_note"])
    _audit(
        actor,
        "receive_shipment",
        study=study,
        site=site,
        model="kits.shipment",
        object_id=shipment.number,
        changes={
            "received_on": received_on,
            "condition": condition,
            "kits": len(kits),
            "quarantined": sorted(k.number for k in broken),
        },
        reason=note,
    )
    return shipment


# --- dispensing, administration, return and destruction (the site) --------------------------------


def _dosing_session(participant: Participant, visit_id: str) -> None:
    protocol = participant.study.protocol
    if visit_id not in protocol.visit_ids or protocol.visit(visit_id).kind != "experimental":
        raise InvalidInput({"visit_id": f"{visit_id[:64]!r} is not a dosing session"})
    if participant.status != Status.RANDOMISED:
        raise WrongState(
            f"{participant.code} is {participant.status}: kits are dispensed to randomised "
            "participants"
        )


def current_dispensation(participant: Participant, visit_id: str) -> Dispensation | None:
    """The kit of a session that is still in use (dispensed or administered, not returned)."""
    return (
        Dispensation.objects.filter(
            participant=participant,
            visit_id=visit_id,
            kit__status__in=[KitStatus.DISPENSED, KitStatus.ADMINISTERED],
        )
        .select_related("kit")
        .first()
    )


@transaction.atomic
def dispense(actor: User, participant: Participant, visit_id: str) -> Dispensation:
    """Give the participant a kit of their arm for the session; the answer is the kit's number.

    A kit returned unused can be replaced (a second dispensation for the session)."""
    study, site = participant.study, participant.site
    require(actor, study, C.DISPENSE_KITS, site)
    require_unlocked(participant)
    _dosing_session(participant, visit_id)
    Participant.objects.select_for_update().filter(pk=participant.pk).first()
    held = current_dispensation(participant, visit_id)
    if held is not None:
        raise WrongState(
            f"kit {held.kit.number} is dispensed to {participant.code} for this session already"
        )
    stock = list(
        Kit.objects.select_for_update().filter(study=study, site=site, status=KitStatus.AVAILABLE)
    )
    arms = {arm.id for arm in study.protocol.arms}
    if any(not any(k.arm == arm for k in stock) for arm in arms):
        # the same words whichever arm ran out, and for every participant of the site
        raise WrongState(NO_STOCK.format(site=site.code))
    arm = participant.allocation.arm  # read here, never shown
    kit = secrets.SystemRandom().choice([k for k in stock if k.arm == arm])
    now = timezone.now()
    dispensation = Dispensation.objects.create(
        participant=participant,
        visit_id=visit_id,
        kit=kit,
        dispensed_by=actor,
        dispensed_at=now,
    )
    kit.status = KitStatus.DISPENSED
    kit.save(update_fields=["status"])
    _ledger(
        actor,
        kit,
        Movement.DISPENSED,
        timezone.localdate(),
        participant=participant,
        visit_id=visit_id,
    )
    return dispensation


def administer_kit(actor: User, dose: Dose) -> None:
    """Called by :mod:`attune.web.dosing` for every dose: at a site that dispenses kits, the dose's
    kit must be the one dispensed to the participant for the session, and the first dose from it
    marks it administered. Elsewhere the typed kit number stands (see :func:`dispenses_kits`)."""
    participant = dose.participant
    if not dispenses_kits(participant.site):
        return
    held = current_dispensation(participant, dose.visit_id)
    if held is None:
        raise InvalidInput(
            {
                "kit": f"no kit is dispensed to {participant.code} for this session: dispense one first"
            }
        )
    if held.kit.number != dose.kit:
        raise InvalidInput(
            {"kit": f"kit {held.kit.number} was dispensed to {participant.code} for this session"}
        )
    if held.kit.status == KitStatus.ADMINISTERED:
        return  # the supplemental dose comes from the same kit
    held.dose = dose
    held.save(update_fields=["dose"])
    held.kit.status = KitStatus.ADMINISTERED
    held.kit.save(update_fields=["status"])
    _ledger(
        actor,
        held.kit,
        Movement.ADMINISTERED,
        timezone.localdate(dose.given_at),
        participant=participant,
        visit_id=dose.visit_id,
        reference=f"{dose.kind} dose",
    )


def _site_kit(actor: User, study: Study, number: str) -> Kit:
    problem = kit_number_problem(number)
    kit = (
        None
        if problem
        else Kit.objects.filter(study=study, number=number).select_related("site").first()
    )
    if kit is None or kit.site is None or not can(actor, study, C.ACCOUNT_KITS, kit.site):
        # the same answer for a kit that does not exist and one at a site the user does not work at
        raise NotAllowed(f"no kit {number[:40]} at a site where you account for kits")
    kit.study = study
    return kit


def _on(on: date | None) -> date:
    return check_date("on", on or timezone.localdate())


@transaction.atomic
def return_kit(
    actor: User, study: Study, number: str, *, on: date | None = None, note: str = ""
) -> Kit:
    """A dispensed kit (used or not) comes back to the pharmacy."""
    kit = _site_kit(actor, study, number)
    day = _on(on)
    note = clean_text("note", note, REASON_TEXT)
    if kit.status not in (KitStatus.DISPENSED, KitStatus.ADMINISTERED):
        raise WrongState(
            f"kit {kit.number} is {kit.get_status_display()}: only a dispensed kit is returned"
        )
    dispensation = Dispensation.objects.select_related("participant").get(kit=kit)
    person = dispensation.participant
    require_unlocked(person)
    kit.status = KitStatus.RETURNED
    kit.save(update_fields=["status"])
    _ledger(
        actor,
        kit,
        Movement.RETURNED,
        day,
        participant=person,
        visit_id=dispensation.visit_id,
        note=note,
    )
    return kit


@transaction.atomic
def destroy_kit(
    actor: User, study: Study, number: str, *, witness: str, on: date | None = None, note: str = ""
) -> Kit:
    """A kit in the pharmacy (returned, quarantined, or unused and no longer wanted) is destroyed,
    in front of a witness (a controlled substance's destruction is witnessed)."""
    kit = _site_kit(actor, study, number)
    day = _on(on)
    witness = clean_text(
        "witness", witness, SHORT_TEXT, required="name the witness of the destruction"
    )
    note = clean_text("note", note, REASON_TEXT)
    if kit.status not in IN_CUSTODY:
        raise WrongState(
            f"kit {kit.number} is {kit.get_status_display()}: only a kit in the pharmacy is destroyed"
        )
    kit.status = KitStatus.DESTROYED
    kit.save(update_fields=["status"])
    _ledger(actor, kit, Movement.DESTROYED, day, reference=f"witness: {witness}", note=note)
    return kit


# --- reconciliation and the discrepancy alert -----------------------------------------------------


@transaction.atomic
def reconcile(
    actor: User, site: Site, *, counted: int, kits: list[str] | None = None, note: str = ""
) -> Reconciliation:
    """Staff count the kits in the pharmacy; any difference from the register raises an alert.

    With ``kits`` (the numbers on the shelf) the alert also names the kits missing or unexpected."""
    from attune.web.kits.selectors import balance

    study = site.study
    require(actor, study, C.ACCOUNT_KITS, site)
    if isinstance(counted, bool) or not isinstance(counted, int) or not 0 <= counted <= 100_000:
        raise InvalidInput({"counted": "the number of kits counted, from 0"})
    note = clean_text("note", note, REASON_TEXT)
    on_hand = balance(site).on_hand
    custody = set(
        Kit.objects.filter(study=study, site=site, status__in=IN_CUSTODY).values_list(
            "number", flat=True
        )
    )
    missing: list[str] = []
    unexpected: list[str] = []
    if kits:
        if len(kits) > 10_000:
            raise InvalidInput({"kits": "at most 10000 kit numbers"})
        named: list[str] = []
        for raw in kits:
            number = clean_text("kits", raw, 64)
            if number and number not in named:
                problem = kit_number_problem(number)
                if problem is not None:
                    raise InvalidInput({"kits": f"{number[:40]!r}: {problem}"})
                named.append(number)
        if len(named) != counted:
            raise InvalidInput({"counted": f"{len(named)} kit numbers listed, {counted} counted"})
        missing = sorted(custody - set(named))
        unexpected = sorted(set(named) - custody)
    reconciliation = Reconciliation.objects.create(
        site=site,
        counted=counted,
        expected=on_hand,
        missing=missing,
        unexpected=unexpected,
        counted_by=actor,
        note=note,
    )
    _audit(
        actor,
        "reconcile_kits",
        study=study,
        site=site,
        model="kits.reconciliation",
        object_id=reconciliation.pk,
        changes={
            "site": site.code,
            "counted": counted,
            "expected": on_hand,
            "missing": missing,
            "unexpected": unexpected,
        },
        reason=note,
    )
    if not reconciliation.matches:
        _raise_alert(study, site, reconciliation)
    return reconciliation


def _raise_alert(study: Study, site: Site, reconciliation: Reconciliation) -> DiscrepancyAlert:
    parts = [f"{reconciliation.counted} kits counted, the register says {reconciliation.expected}"]
    if reconciliation.missing:
        parts.append(f"missing: {', '.join(reconciliation.missing[:20])}")
    if reconciliation.unexpected:
        parts.append(f"not expected: {', '.join(reconciliation.unexpected[:20])}")
    message = f"Drug accountability discrepancy at site {site.code}: " + "; ".join(parts)
    alert = DiscrepancyAlert.objects.create(
        site=site, reconciliation=reconciliation, message=message
    )
    record(
        "system",
        "raise_alert",
        model="kits.discrepancyalert",
        object_id=alert.pk,
        study=study.code,
        site=site,
        changes={"kind": "kit_discrepancy", "severity": "critical", "message": message},
    )
    notify_contacts(
        study,
        ContactKind.DATA_MANAGEMENT,
        kind="kit_discrepancy",
        subject=f"[{study.code}] Drug accountability discrepancy at site {site.code}",
        body=(
            f"{message}.\n\nCounted by {reconciliation.counted_by.get_username()} at "
            f"{timezone.localtime(reconciliation.counted_at):%Y-%m-%d %H:%M}. "
            "Open the site's drug accountability page to see the register and explain it."
        ),
    )
    return alert


@transaction.atomic
def resolve_alert(actor: User, alert: DiscrepancyAlert, explanation: str) -> DiscrepancyAlert:
    site = alert.site
    require(actor, site.study, C.ACCOUNT_KITS, site)
    if alert.resolved_at is not None:
        raise WrongState("this discrepancy was explained already")
    explanation = clean_text(
        "explanation",
        explanation,
        REASON_TEXT,
        required="explain the discrepancy and what was done",
    )
    alert.resolved_by = actor
    alert.resolved_at = timezone.now()
    alert.resolution = explanation
    alert.save(update_fields=["resolved_by", "resolved_at", "resolution"])
    _audit(
        actor,
        "resolve_kit_discrepancy",
        study=site.study,
        site=site,
        model="kits.discrepancyalert",
        object_id=alert.pk,
        changes={"site": site.code},
        reason=explanation,
    )
    return alert
