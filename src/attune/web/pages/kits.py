"""Pages of kits and drug accountability, and of emergency unblinding.

Thin views over :mod:`attune.web.kits` and :mod:`attune.web.unblinding`. Nothing rendered here reads
a kit's arm except the statistician's kit list; the arm of an emergency unblinding is rendered only
in the answer to the investigator's confirmed POST (never on a GET, so a GET never writes and the
page a colleague opens afterwards shows who, when and why, not the arm).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from attune.web.errors import InvalidInput, NotAllowed
from attune.web.kits import selectors, services
from attune.web.kits.models import Condition, DiscrepancyAlert, Shipment
from attune.web.pages.views import REFUSALS, _user
from attune.web.studies.access import access_for
from attune.web.studies.roles import Capability
from attune.web.unblinding import services as unblinding
from attune.web.unblinding.models import EmergencyUnblinding
from attune.web.validation import parse_date, parse_int

C = Capability
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _numbers(text: str) -> list[str]:
    """Kit numbers typed one per line or separated by commas or spaces."""
    return [n for n in text.replace(",", " ").split() if n][:10_001]


def _form(request: HttpRequest, *names: str) -> dict[str, str]:
    return {name: request.POST.get(name, "") for name in ("action", *names)}


@login_required
def overview(request: HttpRequest, study: str) -> HttpResponse:
    """The study's kits: the statistician's list, the data manager's shipments, each site's
    receipts and a link to each register the user may read."""
    here = access_for(request, study)
    found, user = here.study, _user(request)
    managing = here.can(C.MANAGE_KIT_LIST)
    ship_sites = selectors.accountability_sites(user, found, C.SHIP_KITS)
    read_sites = selectors.accountability_sites(user, found, C.READ_ACCOUNTABILITY)
    receive_sites = {s.pk for s in selectors.accountability_sites(user, found, C.ACCOUNT_KITS)}
    receive_sites |= {s.pk for s in ship_sites}
    if not (managing or ship_sites or read_sites):
        raise NotAllowed("your role does not handle kits")
    values: dict[str, str] = {}
    errors: dict[str, str] = {}
    if request.method == "POST":
        values = _form(
            request,
            "count",
            "prefix",
            "site",
            "shipped_on",
            "kits",
            "shipment",
            "received_on",
            "condition",
            "damaged",
            "note",
        )
        try:
            action = values["action"]
            if action == "upload":
                upload = request.FILES.get("file")
                if upload is None:
                    raise InvalidInput({"file": "choose the kit list file (CSV: kit,arm)"})
                if upload.size is None or upload.size > services.MOST_BYTES:
                    raise InvalidInput({"file": f"at most {services.MOST_BYTES} bytes"})
                try:
                    text = upload.read().decode("utf-8")
                except UnicodeDecodeError:
                    raise InvalidInput({"file": "the file must be UTF-8 text (CSV)"}) from None
                version = services.upload_kit_list(user, found, text)
                messages.success(request, f"{version.count} kits added to the kit list.")
            elif action == "generate":
                count = parse_int(values["count"], "count", minimum=1, maximum=services.MOST_KITS)
                version = services.generate_kit_list(user, found, count, values["prefix"] or "K")
                messages.success(
                    request,
                    f"{version.count} kits generated ({version.first_kit} to {version.last_kit}).",
                )
            elif action == "ship":
                site = next((s for s in ship_sites if s.code == values["site"]), None)
                if site is None:
                    raise InvalidInput({"site": "choose a site"})
                named = _numbers(values["kits"])
                wanted: int | None = (
                    None
                    if named
                    else parse_int(
                        values["count"], "count", minimum=1, maximum=services.MOST_IN_SHIPMENT
                    )
                )
                sent = services.ship_kits(
                    user,
                    site,
                    shipped_on=parse_date(values["shipped_on"], "shipped_on"),
                    kits=named or None,
                    count=wanted,
                )
                messages.success(
                    request, f"Shipment {sent.number} of {sent.kits.count()} kits sent."
                )
            elif action == "receive":
                receiving = (
                    Shipment.objects.filter(
                        study=found, number=values["shipment"], site_id__in=receive_sites
                    ).first()
                    if services.SHIPMENT_NUMBER.fullmatch(values["shipment"])
                    else None
                )
                if receiving is None:
                    raise InvalidInput({"shipment": "no such shipment to your site"})
                services.receive_shipment(
                    user,
                    receiving,
                    received_on=parse_date(values["received_on"], "received_on"),
                    condition=values["condition"],
                    damaged=_numbers(values["damaged"]),
                    note=values["note"],
                )
                messages.success(request, f"Shipment {receiving.number} received.")
            else:
                raise InvalidInput({"action": "choose what to do"})
            return redirect("pages:kits", found.code)
        except InvalidInput as error:
            errors = error.errors
        except REFUSALS as error:
            errors = {"form": str(error)}
    context: dict[str, Any] = {
        "study": found,
        "managing": managing,
        "kit_list": list(selectors.kit_list_with_arms(user, found)) if managing else [],
        "ship_sites": ship_sites,
        "read_sites": [(s, selectors.balance(s)) for s in read_sites],
        "depot": selectors.depot_count(found),
        "shipments": list(selectors.shipments(user, found)) if (ship_sites or read_sites) else [],
        "receive_sites": receive_sites,
        "conditions": Condition.choices,
        "values": values,
        "errors": errors,
        "today": timezone.localdate().isoformat(),
    }
    return render(request, "kits/overview.html", context, status=422 if errors else 200)


@login_required
def accountability(request: HttpRequest, study: str, site: str) -> HttpResponse:
    """A site's drug accountability: balance, register, reconciliation, alerts, return and
    destruction. Printable (the forms are hidden in print)."""
    here = access_for(request, study)
    found, user = here.study, _user(request)
    where = selectors.readable_site(user, found, site)
    accounting = here.can(C.ACCOUNT_KITS, where)
    values: dict[str, str] = {}
    errors: dict[str, str] = {}
    if request.method == "POST":
        values = _form(
            request, "counted", "kits", "note", "kit", "on", "witness", "alert", "explanation"
        )
        try:
            if not accounting:
                raise NotAllowed("your role reads this register; it does not write in it")
            action = values["action"]
            on = parse_date(values["on"], "on") if values["on"].strip() else None
            if action == "reconcile":
                counted = parse_int(values["counted"], "counted", minimum=0, maximum=100_000)
                done = services.reconcile(
                    user,
                    where,
                    counted=counted,
                    kits=_numbers(values["kits"]) or None,
                    note=values["note"],
                )
                if done.matches:
                    messages.success(request, f"The count matches the register ({done.expected}).")
                else:
                    messages.error(request, done.alert.message)
            elif action == "return":
                kit = services.return_kit(
                    user, found, values["kit"].strip(), on=on, note=values["note"]
                )
                messages.success(request, f"Kit {kit.number} returned to the pharmacy.")
            elif action == "destroy":
                kit = services.destroy_kit(
                    user,
                    found,
                    values["kit"].strip(),
                    witness=values["witness"],
                    on=on,
                    note=values["note"],
                )
                messages.success(request, f"Kit {kit.number} destroyed.")
            elif action == "resolve":
                alert_id = parse_int(values["alert"], "alert", minimum=1)
                alert = DiscrepancyAlert.objects.filter(pk=alert_id, site=where).first()
                if alert is None:
                    raise InvalidInput({"alert": "no such alert at this site"})
                services.resolve_alert(user, alert, values["explanation"])
                messages.success(request, "The discrepancy is explained.")
            else:
                raise InvalidInput({"action": "choose what to do"})
            return redirect("pages:accountability", found.code, where.code)
        except InvalidInput as error:
            errors = error.errors
        except REFUSALS as error:
            errors = {"form": str(error)}
    lines = list(selectors.register(where))
    running = 0
    rows = []
    for entry in lines:
        running += {"received": 1, "dispensed": -1, "returned": 1, "destroyed": -1}.get(
            entry.movement, 0
        )
        rows.append((entry, running))
    context = {
        "study": found,
        "site": where,
        "balance": selectors.balance(where),
        "rows": rows,
        "kits": list(selectors.site_kits(where)),
        "reconciliations": list(selectors.reconciliations(where)[:20]),
        "alerts": list(selectors.alerts(where)),
        "accounting": accounting,
        "values": values,
        "errors": errors,
        "printed_at": timezone.localtime(),
    }
    return render(request, "kits/accountability.html", context, status=422 if errors else 200)


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


@login_required
def accountability_csv(request: HttpRequest, study: str, site: str) -> StreamingHttpResponse:
    """The site's register as CSV, every line, oldest first (for the inspector's file)."""
    here = access_for(request, study)
    where = selectors.readable_site(_user(request), here.study, site)

    def lines() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(
            ["line", "date", "kit", "movement", "participant", "visit", "reference", "note",
             "recorded_by", "recorded_at"]
        )  # fmt: skip
        for entry in selectors.register(where):
            writer.writerow(
                [
                    entry.line,
                    entry.on.isoformat(),
                    _cell(entry.kit.number),
                    entry.movement,
                    _cell(entry.participant.code if entry.participant else ""),
                    _cell(entry.visit_id),
                    _cell(entry.reference),
                    _cell(entry.note),
                    _cell(entry.recorded_by.get_username()),
                    entry.recorded_at.isoformat(),
                ]
            )
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
        yield buffer.getvalue()

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    name = f"{here.study.code}-{where.code}-drug-accountability.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@login_required
def participant_kits(request: HttpRequest, study: str, code: str) -> HttpResponse:
    """A participant's kits: dispense one for a dosing session (the number only), return one."""
    here = access_for(request, study)
    found, user = here.study, _user(request)
    person = here.participant(code)
    selectors.require_kit_reader(user, person)
    sessions = found.protocol.visits_of("experimental")
    values: dict[str, str] = {}
    errors: dict[str, str] = {}
    if request.method == "POST":
        values = _form(request, "visit_id", "kit", "note")
        try:
            if values["action"] == "dispense":
                given = services.dispense(user, person, values["visit_id"])
                messages.success(
                    request, f"Kit {given.kit.number} dispensed to {person.code}: take that kit."
                )
            elif values["action"] == "return":
                kit = services.return_kit(user, found, values["kit"].strip(), note=values["note"])
                messages.success(request, f"Kit {kit.number} returned to the pharmacy.")
            else:
                raise InvalidInput({"action": "choose what to do"})
            return redirect("pages:participant_kits", found.code, person.code)
        except InvalidInput as error:
            errors = error.errors
        except REFUSALS as error:
            errors = {"form": str(error)}
    context = {
        "study": found,
        "participant": person,
        "sessions": sessions,
        "dispensations": list(selectors.dispensations_of(person)),
        "may_dispense": here.can(C.DISPENSE_KITS, person.site),
        "may_return": here.can(C.ACCOUNT_KITS, person.site),
        "values": values,
        "errors": errors,
    }
    return render(request, "kits/participant.html", context, status=422 if errors else 200)


@login_required
def emergency_unblinding(request: HttpRequest, study: str, code: str) -> HttpResponse:
    """The participant's emergency unblindings (who, when, why) for everyone who sees them; the
    form and the arm for the principal investigator, the arm in the POST's answer only."""
    here = access_for(request, study)
    found, user = here.study, _user(request)
    person = here.participant(code)
    may_unblind = here.can(C.EMERGENCY_UNBLIND, person.site)
    values: dict[str, str] = {}
    errors: dict[str, str] = {}
    revealed = None
    if request.method == "POST":
        values = _form(request, "reason", "unblinding")
        password = request.POST.get("password", "")
        try:
            if values["action"] == "unblind":
                revealed = unblinding.emergency_unblind(
                    user, person, reason=values["reason"], password=password, request=request
                )
            elif values["action"] == "reveal":
                pk = parse_int(values["unblinding"], "unblinding", minimum=1)
                chosen = EmergencyUnblinding.objects.filter(pk=pk, participant=person).first()
                if chosen is None:
                    raise InvalidInput({"unblinding": "no such unblinding of this participant"})
                revealed = unblinding.reveal_again(user, chosen, password=password, request=request)
            else:
                raise InvalidInput({"action": "choose what to do"})
        except InvalidInput as error:
            errors = error.errors
        except REFUSALS as error:
            errors = {"form": str(error)}
    refusal = ""
    if may_unblind and revealed is None:
        try:
            unblinding.check_unblinding(user, person)
        except REFUSALS as error:
            refusal = str(error)
    context = {
        "study": found,
        "participant": person,
        "unblindings": list(unblinding.unblindings_of(person)),
        "may_unblind": may_unblind,
        "refusal": refusal,
        "revealed": revealed,
        "values": {k: v for k, v in values.items() if k != "password"},
        "errors": errors,
    }
    response = render(request, "unblinding/unblinding.html", context, status=422 if errors else 200)
    response["Cache-Control"] = "no-store"
    return response
