"""Loading dictionaries and coding terms.

Auto-coding: an adverse event's verbatim term is matched, case- and whitespace-insensitively, first
to a preferred term's name (``exact``: coded to the PT's own LLT), then to a current lowest level
term (``synonym``: the LLT and its PT). A medication's name is matched to a drug's preferred name
(``exact``) or a synonym (``synonym``). Anything else waits on the coder's worklist. A change of the
verbatim term throws the old code away and codes the new term afresh (audited as a recode).
"""

from __future__ import annotations

from pathlib import Path

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from attune.web.adverse_events.models import AdverseEvent
from attune.web.audit.chain import record
from attune.web.coding.dictionaries import DrugEntry, Meddra, normalise, read_drugs, read_meddra
from attune.web.coding.models import (
    AdverseEventCoding,
    CodingMethod,
    CodingStatus,
    DictionaryKind,
    DictionaryRelease,
    Drug,
    DrugName,
    MeddraHlgt,
    MeddraHlt,
    MeddraLlt,
    MeddraPath,
    MeddraPt,
    MeddraSoc,
    MedicationCoding,
)
from attune.web.errors import InvalidInput, WrongState
from attune.web.locks import require_unlocked
from attune.web.locks.selectors import locks_holding
from attune.web.medications.models import ConcomitantMedication
from attune.web.participants.models import Participant
from attune.web.studies.access import require
from attune.web.studies.roles import Capability
from attune.web.validation import is_whole_number, parse_int

SYSTEM = "system"


def release_of(kind: DictionaryKind) -> DictionaryRelease | None:
    return DictionaryRelease.objects.filter(kind=kind).first()


# --- loading ----------------------------------------------------------------------------------------


@transaction.atomic
def load_meddra(folder: Path, *, loaded_by: str) -> DictionaryRelease:
    """Replace the MedDRA tables with the release in ``folder``, then auto-code what waits."""
    meddra = read_meddra(folder)
    _store_meddra(meddra)
    counts = {
        "soc": len(meddra.socs),
        "hlgt": len(meddra.hlgts),
        "hlt": len(meddra.hlts),
        "pt": len(meddra.pts),
        "llt": len(meddra.llts),
    }
    release = DictionaryRelease.objects.create(
        kind=DictionaryKind.MEDDRA,
        version=meddra.version,
        source=str(folder)[:500],
        counts=counts,
        loaded_by=loaded_by,
    )
    record(
        loaded_by,
        "load_dictionary",
        model="coding.dictionaryrelease",
        object_id=release.pk,
        changes={"kind": [None, "meddra"], "version": [None, meddra.version], "counts": counts},
    )
    code_pending_events()
    return release


def _store_meddra(meddra: Meddra) -> None:
    MeddraPath.objects.all().delete()
    MeddraLlt.objects.all().delete()
    MeddraPt.objects.all().delete()
    MeddraHlt.objects.all().delete()
    MeddraHlgt.objects.all().delete()
    MeddraSoc.objects.all().delete()
    MeddraSoc.objects.bulk_create(
        MeddraSoc(code=c, name=n, abbrev=a) for c, (n, a) in meddra.socs.items()
    )
    MeddraHlgt.objects.bulk_create(MeddraHlgt(code=c, name=n) for c, n in meddra.hlgts.items())
    MeddraHlt.objects.bulk_create(MeddraHlt(code=c, name=n) for c, n in meddra.hlts.items())
    MeddraPt.objects.bulk_create(
        MeddraPt(code=c, name=n, key=normalise(n)[:100], primary_soc_id=s)
        for c, (n, s) in meddra.pts.items()
    )
    MeddraLlt.objects.bulk_create(
        MeddraLlt(code=c, name=n, key=normalise(n)[:100], pt_id=p, current=cur)
        for c, (n, p, cur) in meddra.llts.items()
    )
    MeddraPath.objects.bulk_create(
        MeddraPath(pt_id=p, hlt_id=h, hlgt_id=g, soc_id=s, primary=primary)
        for p, h, g, s, primary in meddra.paths
    )


@transaction.atomic
def load_drugs(path: Path, *, version: str, loaded_by: str) -> DictionaryRelease:
    """Replace the drug dictionary with ``path``'s, then auto-code what waits."""
    entries = read_drugs(path)
    _store_drugs(entries)
    version = (version or path.stem)[:64]
    counts = {"drugs": len(entries), "names": sum(1 + len(e.synonyms) for e in entries)}
    release = DictionaryRelease.objects.create(
        kind=DictionaryKind.DRUGS,
        version=version,
        source=str(path)[:500],
        counts=counts,
        loaded_by=loaded_by,
    )
    record(
        loaded_by,
        "load_dictionary",
        model="coding.dictionaryrelease",
        object_id=release.pk,
        changes={"kind": [None, "drugs"], "version": [None, version], "counts": counts},
    )
    code_pending_medications()
    return release


def _store_drugs(entries: list[DrugEntry]) -> None:
    DrugName.objects.all().delete()
    Drug.objects.all().delete()
    Drug.objects.bulk_create(
        Drug(code=e.code, name=e.name, atc_code=e.atc_code, atc_text=e.atc_text) for e in entries
    )
    DrugName.objects.bulk_create(
        DrugName(drug_id=e.code, name=name, key=normalise(name)[:200], preferred=name == e.name)
        for e in entries
        for name in dict.fromkeys((e.name, *e.synonyms))
    )


def code_pending_events() -> None:
    """Auto-code every term still waiting, and every event that never had a coding (imported);
    a locked participant's terms wait for the lock to be lifted."""
    for event in AdverseEvent.objects.filter(coding__isnull=True).select_related("participant"):
        if not locks_holding(event.participant):
            code_adverse_event(event)
    for coding in AdverseEventCoding.objects.filter(status=CodingStatus.UNCODED).select_related(
        "adverse_event__participant"
    ):
        if not locks_holding(coding.adverse_event.participant):
            _auto_code_event(coding)


def code_pending_medications() -> None:
    for medication in ConcomitantMedication.objects.filter(coding__isnull=True).select_related(
        "participant"
    ):
        if not locks_holding(medication.participant):
            code_medication(medication)
    for coding in MedicationCoding.objects.filter(status=CodingStatus.UNCODED).select_related(
        "medication__participant"
    ):
        if not locks_holding(coding.medication.participant):
            _auto_code_medication(coding)


# --- matching ---------------------------------------------------------------------------------------


def _primary_soc(pt: MeddraPt) -> MeddraSoc:
    path = MeddraPath.objects.filter(pt=pt, primary=True).select_related("soc").first()
    return path.soc if path is not None else pt.primary_soc


def match_meddra(term: str) -> tuple[MeddraLlt, str] | None:
    """The LLT a verbatim term codes to, and how (``exact`` PT name or ``synonym`` LLT name)."""
    key = normalise(term)
    if not key:
        return None
    pt = MeddraPt.objects.filter(key=key).first()
    if pt is not None:
        own = MeddraLlt.objects.filter(code=pt.code).first()
        llt = own or MeddraLlt.objects.filter(pt=pt, key=key).first()
        if llt is not None:
            return llt, CodingMethod.EXACT
    llt = MeddraLlt.objects.filter(key=key, current=True).select_related("pt").first()
    return (llt, CodingMethod.SYNONYM) if llt is not None else None


def match_drug(name: str) -> tuple[Drug, str] | None:
    key = normalise(name)
    if not key:
        return None
    found = DrugName.objects.filter(key=key).select_related("drug").order_by("-preferred").first()
    if found is None:
        return None
    return found.drug, CodingMethod.EXACT if found.preferred else CodingMethod.SYNONYM


def _set_meddra(coding: AdverseEventCoding, llt: MeddraLlt, method: str, by: str) -> None:
    pt = llt.pt
    soc = _primary_soc(pt)
    release = release_of(DictionaryKind.MEDDRA)
    coding.status = CodingStatus.CODED
    coding.method = method
    coding.llt_code, coding.llt_name = llt.code, llt.name
    coding.pt_code, coding.pt_name = pt.code, pt.name
    coding.soc_code, coding.soc_name = soc.code, soc.name
    coding.release = release.version if release else ""
    coding.coded_by, coding.coded_at = by, timezone.now()


def _clear(coding: AdverseEventCoding | MedicationCoding) -> None:
    coding.status, coding.method, coding.coded_by, coding.coded_at = (
        CodingStatus.UNCODED,
        "",
        "",
        None,
    )
    coding.release = ""
    if isinstance(coding, AdverseEventCoding):
        coding.llt_code = coding.pt_code = coding.soc_code = None
        coding.llt_name = coding.pt_name = coding.soc_name = ""
    else:
        coding.drug_code = coding.drug_name = coding.atc_code = coding.atc_text = ""


def _audit(
    action: str, by: str, participant: Participant, what: str, changes: dict[str, list[object]]
) -> None:
    record(
        by,
        action,
        model="coding.coding",
        object_id=f"{participant.code}/{what}",
        study=participant.study.code,
        participant=participant,
        changes=changes,
    )


def _auto_code_event(coding: AdverseEventCoding) -> None:
    found = match_meddra(coding.verbatim)
    if found is None:
        return
    llt, method = found
    _set_meddra(coding, llt, method, SYSTEM)
    coding.save()
    event = coding.adverse_event
    _audit(
        "code_term",
        SYSTEM,
        event.participant,
        event.number,
        {
            "verbatim": [None, coding.verbatim],
            "llt": [None, f"{llt.code} {llt.name}"],
            "method": [None, method],
        },
    )


def code_adverse_event(event: AdverseEvent, *, recode: bool = False) -> AdverseEventCoding:
    """Code ``event``'s term (on recording it, and again when the term changes): automatically
    when the dictionary has it, else it waits on the worklist."""
    coding = AdverseEventCoding.objects.filter(adverse_event=event).first()
    if coding is not None and coding.verbatim == event.term and not recode:
        return coding
    if coding is None:
        coding = AdverseEventCoding(adverse_event=event)
    elif coding.verbatim != event.term:
        old = f"{coding.llt_code} {coding.llt_name}" if coding.llt_code else None
        _audit(
            "recode_term",
            SYSTEM,
            event.participant,
            event.number,
            {"verbatim": [coding.verbatim, event.term], "llt": [old, None]},
        )
    elif coding.status == CodingStatus.CODED:
        return coding
    coding.verbatim = event.term
    _clear(coding)
    coding.save()
    _auto_code_event(coding)
    return coding


def _auto_code_medication(coding: MedicationCoding) -> None:
    found = match_drug(coding.verbatim)
    if found is None:
        return
    drug, method = found
    _set_drug(coding, drug, method, SYSTEM)
    coding.save()
    medication = coding.medication
    _audit(
        "code_term",
        SYSTEM,
        medication.participant,
        medication.number,
        {
            "verbatim": [None, coding.verbatim],
            "drug": [None, f"{drug.code} {drug.name}"],
            "method": [None, method],
        },
    )


def _set_drug(coding: MedicationCoding, drug: Drug, method: str, by: str) -> None:
    release = release_of(DictionaryKind.DRUGS)
    coding.status, coding.method = CodingStatus.CODED, method
    coding.drug_code, coding.drug_name = drug.code, drug.name
    coding.atc_code, coding.atc_text = drug.atc_code, drug.atc_text
    coding.release = release.version if release else ""
    coding.coded_by, coding.coded_at = by, timezone.now()


def code_medication(medication: ConcomitantMedication) -> MedicationCoding:
    """Code a medication's name (on recording it, and again when the name changes)."""
    coding = MedicationCoding.objects.filter(medication=medication).first()
    if coding is not None and coding.verbatim == medication.name:
        return coding
    if coding is None:
        coding = MedicationCoding(medication=medication)
    else:
        old = f"{coding.drug_code} {coding.drug_name}" if coding.drug_code else None
        _audit(
            "recode_term",
            SYSTEM,
            medication.participant,
            medication.number,
            {"verbatim": [coding.verbatim, medication.name], "drug": [old, None]},
        )
    coding.verbatim = medication.name
    _clear(coding)
    coding.save()
    _auto_code_medication(coding)
    return coding


# --- the coder --------------------------------------------------------------------------------------


def _check_coder(actor: User, participant: Participant) -> None:
    require(actor, participant.study, Capability.CODE_TERMS, participant.site)
    require_unlocked(participant)


@transaction.atomic
def code_event_manually(
    actor: User, coding: AdverseEventCoding, llt_code: object
) -> AdverseEventCoding:
    """The coder picks the LLT for a term (from the worklist, or to correct an automatic code)."""
    event = coding.adverse_event
    _check_coder(actor, event.participant)
    raw = str(llt_code) if is_whole_number(llt_code) else llt_code
    code = parse_int(raw, "llt_code", message="choose a lowest level term by its code")
    llt = MeddraLlt.objects.filter(code=code).select_related("pt").first()
    if llt is None:
        raise InvalidInput({"llt_code": f"no lowest level term {code} in the loaded MedDRA"})
    if not llt.current:
        raise InvalidInput(
            {"llt_code": f"{llt.name} ({code}) is not current: choose a current LLT"}
        )
    coding = AdverseEventCoding.objects.select_for_update().get(pk=coding.pk)
    if coding.verbatim != event.term:
        raise WrongState("the term changed since the worklist was opened: reload it")
    old = f"{coding.llt_code} {coding.llt_name}" if coding.llt_code else None
    _set_meddra(coding, llt, CodingMethod.MANUAL, actor.get_username())
    coding.save()
    _audit(
        "code_term",
        actor.get_username(),
        event.participant,
        event.number,
        {
            "verbatim": [coding.verbatim, coding.verbatim],
            "llt": [old, f"{llt.code} {llt.name}"],
            "method": [None, "manual"],
        },
    )
    return coding


@transaction.atomic
def code_medication_manually(
    actor: User, coding: MedicationCoding, drug_code: object
) -> MedicationCoding:
    medication = coding.medication
    _check_coder(actor, medication.participant)
    if not isinstance(drug_code, str) or not drug_code.strip() or len(drug_code) > 32:
        raise InvalidInput({"drug_code": "choose a drug by its code"})
    drug = Drug.objects.filter(code=drug_code.strip()).first()
    if drug is None:
        raise InvalidInput(
            {"drug_code": f"no drug {drug_code.strip()[:32]!r} in the loaded dictionary"}
        )
    coding = MedicationCoding.objects.select_for_update().get(pk=coding.pk)
    if coding.verbatim != medication.name:
        raise WrongState("the medication's name changed since the worklist was opened: reload it")
    old = f"{coding.drug_code} {coding.drug_name}" if coding.drug_code else None
    _set_drug(coding, drug, CodingMethod.MANUAL, actor.get_username())
    coding.save()
    _audit(
        "code_term",
        actor.get_username(),
        medication.participant,
        medication.number,
        {
            "verbatim": [coding.verbatim, coding.verbatim],
            "drug": [old, f"{drug.code} {drug.name}"],
            "method": [None, "manual"],
        },
    )
    return coding
