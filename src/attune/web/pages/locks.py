"""Pages of locks: the study's lock state and its locks (freeze, database lock, the two-person
unlock), and one participant's locks (the participant and each form).

Thin views over :mod:`attune.web.locks.services`; a refusal comes back on the page with what was
typed and the reason beside its field.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from attune.web.errors import InvalidInput, NotAllowed
from attune.web.forms.models import FormRecord
from attune.web.forms.selectors import forms_of
from attune.web.locks import selectors, services
from attune.web.locks.checks import describe
from attune.web.locks.models import DataLock, Scope, UnlockRequest
from attune.web.pages.views import REFUSALS, _user
from attune.web.studies.access import access_for
from attune.web.studies.roles import Capability
from attune.web.validation import parse_int

C = Capability
FIELDS = ("action", "reason", "note", "lock", "request", "form")


def _chosen_lock(found: Any, value: str, site_ids: set[int] | None) -> DataLock:
    number = parse_int(value, "lock", message="choose a lock")
    lock = DataLock.objects.filter(study=found, pk=number).select_related("participant").first()
    if lock is None or (
        site_ids is not None
        and lock.participant is not None
        and lock.participant.site_id not in site_ids
    ):
        raise InvalidInput({"lock": "no such lock"})
    lock.study = found
    return lock


@login_required
def study_locks(request: HttpRequest, study: str) -> HttpResponse:
    """The study's lock state for every member; the data manager's freeze, lock and unlock."""
    here = access_for(request, study)
    found, user = here.study, _user(request)
    site_ids = here.site_ids()
    values: dict[str, str] = {}
    errors: dict[str, str] = {}
    if request.method == "POST":
        values = {k: str(request.POST.get(k, ""))[:4000] for k in FIELDS}
        action = values["action"]
        try:
            if action == "freeze":
                services.freeze_study(user, found, values["reason"])
                messages.success(request, f"{found.code} is frozen for the interim analysis.")
            elif action == "lock_database":
                services.lock_database(user, found, values["reason"])
                messages.success(request, f"The database of {found.code} is locked.")
            elif action == "unlock":
                services.unlock(
                    user, _chosen_lock(found, values["lock"], site_ids), values["reason"]
                )
                messages.success(request, "The lock is lifted.")
            elif action == "request_unlock":
                services.request_unlock(
                    user, _chosen_lock(found, values["lock"], site_ids), values["reason"]
                )
                messages.success(
                    request, "Your request is recorded: a second data manager must approve it."
                )
            elif action in ("approve", "reject"):
                number = parse_int(values["request"], "request", message="choose a request")
                pending = UnlockRequest.objects.filter(lock__study=found, pk=number).first()
                if pending is None:
                    raise InvalidInput({"request": "no such request"})
                if action == "approve":
                    services.approve_unlock(user, pending, values["note"])
                    messages.success(request, "Approved: the database lock is lifted.")
                else:
                    services.reject_unlock(user, pending, values["note"])
                    messages.success(request, "The request is closed: the lock stays.")
            else:
                raise InvalidInput({"action": "choose what to do"})
            return redirect("pages:locks", found.code)
        except InvalidInput as error:
            errors = error.errors
            messages.error(request, str(error))
        except REFUSALS as error:
            errors = {"form": str(error)}
    state = selectors.lock_state(found)
    in_force = selectors.study_locks(found)
    context = {
        "study": found,
        "state": state,
        "in_force": [(lock, describe(lock)) for lock in in_force],
        "history": selectors.history(found, site_ids),
        "pending": selectors.pending_requests(found),
        "may_lock": here.can_everywhere(C.LOCK_DATA),
        "may_unlock": here.can_everywhere(C.UNLOCK_DATA),
        "frozen": any(lock.scope == Scope.FREEZE for lock in in_force),
        "locked": any(lock.scope == Scope.DATABASE for lock in in_force),
        "values": values,
        "errors": errors,
        "user_name": user.get_username(),
    }
    return render(request, "locks/study.html", context, status=422 if errors else 200)


@login_required
def participant_locks(request: HttpRequest, study: str, code: str) -> HttpResponse:
    """Lock or unlock one participant's data, or one of their forms (data manager)."""
    here = access_for(request, study)
    found, user = here.study, _user(request)
    person = here.participant(code)
    may_lock = here.can(C.LOCK_DATA, person.site)
    may_unlock = here.can(C.UNLOCK_DATA, person.site)
    if not (may_lock or may_unlock):
        raise NotAllowed("your role does not lock data")
    readable = {form.pk: form for form in forms_of(user, person)}
    values: dict[str, str] = {}
    errors: dict[str, str] = {}
    if request.method == "POST":
        values = {k: str(request.POST.get(k, ""))[:4000] for k in FIELDS}
        action = values["action"]
        try:
            if action == "lock_participant":
                services.lock_participant(user, person, values["reason"])
                messages.success(request, f"{person.code}'s data is locked.")
            elif action == "lock_form":
                number = parse_int(values["form"], "form", message="choose a form")
                form: FormRecord | None = readable.get(number)
                if form is None:
                    raise InvalidInput({"form": "no such form"})
                form.participant = person
                services.lock_form(user, form, values["reason"])
                messages.success(request, f"The form {form} is locked.")
            elif action == "unlock":
                lock = _chosen_lock(found, values["lock"], {person.site_id})
                if lock.participant_id != person.pk:
                    raise InvalidInput({"lock": "no such lock"})
                services.unlock(user, lock, values["reason"])
                messages.success(request, "The lock is lifted.")
            else:
                raise InvalidInput({"action": "choose what to do"})
            return redirect("pages:participant_locks", found.code, person.code)
        except InvalidInput as error:
            errors = error.errors
            messages.error(request, str(error))
        except REFUSALS as error:
            errors = {"form": str(error)}
    form_locks = selectors.form_locks(person)
    context = {
        "study": found,
        "participant": person,
        "participant_lock": selectors.participant_lock(person),
        "study_locks": [describe(lock) for lock in selectors.study_locks(found)],
        "forms": [
            (form, form_locks.get(form.pk)) for form in readable.values() if form.pk is not None
        ],
        "may_lock": may_lock,
        "may_unlock": may_unlock,
        "values": values,
        "errors": errors,
    }
    return render(request, "locks/participant.html", context, status=422 if errors else 200)
