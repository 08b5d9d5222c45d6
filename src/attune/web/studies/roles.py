"""Roles and what each may do: the one table every permission check reads.

Blinding is a capability like any other: only ``see_arm`` reveals a participant's treatment arm,
and only the unblinded statistician has it. Raters never have ``read_therapy_notes``,
``read_therapist_forms`` or ``read_adverse_events`` (a drug's typical adverse events reveal the arm
to an independent rater as surely as a label would).
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    COORDINATOR = "coordinator"
    THERAPIST = "therapist"
    RATER = "rater"
    DATA_MANAGER = "data_manager"
    STATISTICIAN = "statistician"
    MONITOR = "monitor"
    ADMINISTRATOR = "administrator"
    PRINCIPAL_INVESTIGATOR = "principal_investigator"
    ADHERENCE_RATER = "adherence_rater"
    ETHICS_CONTACT = "ethics_contact"


class Capability(StrEnum):
    SEE_ARM = "see_arm"
    SCREEN_AND_ENROL = "screen_and_enrol"
    RECORD_VISITS = "record_visits"
    READ_PARTICIPANT_FORMS = "read_participant_forms"
    ENTER_PARTICIPANT_FORMS = "enter_participant_forms"
    READ_RATER_FORMS = "read_rater_forms"
    WRITE_RATER_FORMS = "write_rater_forms"
    READ_THERAPIST_FORMS = "read_therapist_forms"
    WRITE_THERAPIST_FORMS = "write_therapist_forms"
    READ_THERAPY_NOTES = "read_therapy_notes"
    WRITE_THERAPY_NOTES = "write_therapy_notes"
    ISSUE_EPRO_LINKS = "issue_epro_links"
    ACKNOWLEDGE_ALERTS = "acknowledge_alerts"
    ADMINISTER_DOSES = "administer_doses"
    RECORD_ADVERSE_EVENTS = "record_adverse_events"
    READ_ADVERSE_EVENTS = "read_adverse_events"
    RECORD_DEVIATIONS = "record_deviations"
    READ_DEVIATIONS = "read_deviations"
    CORRECT_DATA = "correct_data"
    EXPORT_BLINDED = "export_blinded"
    EXPORT_UNBLINDED = "export_unblinded"
    READ_AUDIT = "read_audit"
    MANAGE_MEMBERS = "manage_members"
    OVERRIDE_PROTOCOL_ORDER = "override_protocol_order"
    # therapist fidelity and conduct (attune.web.fidelity)
    ASSIGN_DYADS = "assign_dyads"
    ATTEST_PRESENCE = "attest_presence"
    REGISTER_RECORDINGS = "register_recordings"
    READ_RECORDINGS = "read_recordings"
    RATE_ADHERENCE = "rate_adherence"
    READ_ADHERENCE = "read_adherence"
    READ_CONCERNS = "read_concerns"
    # data management (issue 13): queries, source verification, locks
    RAISE_QUERIES = "raise_queries"
    ANSWER_QUERIES = "answer_queries"
    VERIFY_SOURCE = "verify_source"
    LOCK_DATA = "lock_data"
    UNLOCK_DATA = "unlock_data"
    # consent
    MANAGE_CONSENT_DOCUMENTS = "manage_consent_documents"
    RECORD_CONSENT = "record_consent"
    READ_CONSENT = "read_consent"
    # concomitant medications and the coding of terms
    RECORD_MEDICATIONS = "record_medications"
    READ_MEDICATIONS = "read_medications"
    CODE_TERMS = "code_terms"
    # kits of study drug, their accountability, and emergency unblinding
    MANAGE_KIT_LIST = "manage_kit_list"
    SHIP_KITS = "ship_kits"
    DISPENSE_KITS = "dispense_kits"
    ACCOUNT_KITS = "account_kits"
    READ_ACCOUNTABILITY = "read_accountability"
    EMERGENCY_UNBLIND = "emergency_unblind"
    # the study's notification contacts and failed sends
    MANAGE_NOTIFICATIONS = "manage_notifications"


C = Capability
CAPABILITIES: dict[Role, frozenset[Capability]] = {
    Role.COORDINATOR: frozenset(
        {
            C.ANSWER_QUERIES,
            C.RECORD_CONSENT,
            C.READ_CONSENT,
            C.RECORD_MEDICATIONS,
            C.READ_MEDICATIONS,
            C.DISPENSE_KITS,
            C.ACCOUNT_KITS,
            C.READ_ACCOUNTABILITY,
            C.SCREEN_AND_ENROL,
            C.RECORD_VISITS,
            C.READ_PARTICIPANT_FORMS,
            C.ENTER_PARTICIPANT_FORMS,
            C.ISSUE_EPRO_LINKS,
            C.ACKNOWLEDGE_ALERTS,
            C.RECORD_ADVERSE_EVENTS,
            C.READ_ADVERSE_EVENTS,
            C.RECORD_DEVIATIONS,
            C.READ_DEVIATIONS,
            C.ASSIGN_DYADS,
            C.REGISTER_RECORDINGS,
            C.READ_RECORDINGS,
        }
    ),
    Role.THERAPIST: frozenset(
        {
            C.ANSWER_QUERIES,
            C.RECORD_MEDICATIONS,
            C.READ_MEDICATIONS,
            C.DISPENSE_KITS,
            C.ATTEST_PRESENCE,
            C.REGISTER_RECORDINGS,
            C.READ_RECORDINGS,
            C.READ_PARTICIPANT_FORMS,
            C.READ_THERAPIST_FORMS,
            C.WRITE_THERAPIST_FORMS,
            C.READ_THERAPY_NOTES,
            C.WRITE_THERAPY_NOTES,
            C.RECORD_VISITS,
            C.ACKNOWLEDGE_ALERTS,
            C.ADMINISTER_DOSES,
            C.RECORD_ADVERSE_EVENTS,
            C.READ_ADVERSE_EVENTS,
        }
    ),
    Role.RATER: frozenset({C.READ_RATER_FORMS, C.WRITE_RATER_FORMS, C.ANSWER_QUERIES}),
    Role.DATA_MANAGER: frozenset(
        {
            C.RAISE_QUERIES,
            C.LOCK_DATA,
            C.UNLOCK_DATA,
            C.READ_CONSENT,
            C.READ_MEDICATIONS,
            C.CODE_TERMS,
            C.SHIP_KITS,
            C.READ_ACCOUNTABILITY,
            C.MANAGE_CONSENT_DOCUMENTS,
            C.READ_RECORDINGS,
            C.READ_ADHERENCE,
            C.READ_PARTICIPANT_FORMS,
            C.READ_RATER_FORMS,
            C.READ_THERAPIST_FORMS,
            C.CORRECT_DATA,
            C.EXPORT_BLINDED,
            C.READ_AUDIT,
            C.READ_ADVERSE_EVENTS,
            C.RECORD_DEVIATIONS,
            C.READ_DEVIATIONS,
        }
    ),
    Role.STATISTICIAN: frozenset(
        {
            C.READ_ADHERENCE,
            C.SEE_ARM,
            C.READ_PARTICIPANT_FORMS,
            C.READ_RATER_FORMS,
            C.READ_ADVERSE_EVENTS,
            C.READ_DEVIATIONS,
            C.EXPORT_BLINDED,
            C.EXPORT_UNBLINDED,
            # The audit trail (its CSV is one of the statistician's downloads): it tells them
            # nothing they do not already know, and data integrity is part of their analysis.
            C.READ_AUDIT,
            # uploads the blinded kit list (kit number -> arm): an unblinded act
            C.MANAGE_KIT_LIST,
        }
    ),
    Role.MONITOR: frozenset(
        {
            C.RAISE_QUERIES,
            C.VERIFY_SOURCE,
            C.READ_CONSENT,
            C.READ_MEDICATIONS,
            C.READ_ACCOUNTABILITY,
            C.READ_RECORDINGS,
            C.READ_ADHERENCE,
            C.READ_PARTICIPANT_FORMS,
            C.READ_RATER_FORMS,
            C.READ_THERAPIST_FORMS,
            C.READ_AUDIT,
            C.READ_ADVERSE_EVENTS,
            C.READ_DEVIATIONS,
        }
    ),
    Role.ADMINISTRATOR: frozenset({C.MANAGE_MEMBERS, C.READ_AUDIT, C.MANAGE_NOTIFICATIONS}),
    # Responsible for the site's participants: does what the coordinator and the therapists do
    # (a physician may dose), reads the clinical record and the audit trail, and alone may let a
    # step go ahead out of the protocol's order, with a reason that becomes a deviation. Blinded:
    # a PI never sees the arm, and never rates outcomes (the clinical course unblinds a rater).
    Role.PRINCIPAL_INVESTIGATOR: frozenset(
        {
            C.ANSWER_QUERIES,
            C.RECORD_CONSENT,
            C.READ_CONSENT,
            C.RECORD_MEDICATIONS,
            C.READ_MEDICATIONS,
            C.DISPENSE_KITS,
            C.ACCOUNT_KITS,
            C.READ_ACCOUNTABILITY,
            C.EMERGENCY_UNBLIND,
            C.SCREEN_AND_ENROL,
            C.RECORD_VISITS,
            C.READ_PARTICIPANT_FORMS,
            C.ENTER_PARTICIPANT_FORMS,
            C.READ_THERAPIST_FORMS,
            C.WRITE_THERAPIST_FORMS,
            C.READ_THERAPY_NOTES,
            C.ISSUE_EPRO_LINKS,
            C.ACKNOWLEDGE_ALERTS,
            C.ADMINISTER_DOSES,
            C.RECORD_ADVERSE_EVENTS,
            C.READ_ADVERSE_EVENTS,
            C.RECORD_DEVIATIONS,
            C.READ_DEVIATIONS,
            C.READ_AUDIT,
            C.OVERRIDE_PROTOCOL_ORDER,
            C.ASSIGN_DYADS,
            C.ATTEST_PRESENCE,
            C.REGISTER_RECORDINGS,
            C.READ_RECORDINGS,
            C.READ_ADHERENCE,
        }
    ),
    # Scores sampled recorded sessions on the adherence scale: independent of the dyads it rates,
    # blind to the arm and to outcome (no participant or rater forms, no clinical course).
    Role.ADHERENCE_RATER: frozenset({C.RATE_ADHERENCE, C.READ_RECORDINGS}),
    # Receives participants' confidential concern reports; treats nobody, so no therapist (whom a
    # concern may be about) and no outcome rater (a concern may speak of the drug's effects) reads them.
    Role.ETHICS_CONTACT: frozenset({C.READ_CONCERNS}),
}


#: Capabilities that reveal the treatment arm: roles holding any of them are "unblinded".
UNBLINDING = frozenset({C.SEE_ARM, C.EXPORT_UNBLINDED, C.MANAGE_KIT_LIST})

#: Capabilities that show the clinical course (adverse events, therapy, the therapists' forms, the
#: audit trail that records them). An independent rater must hold none of them: a drug's typical
#: effects reveal the arm as surely as a label would.
CLINICAL_COURSE = frozenset(
    {
        C.READ_ADVERSE_EVENTS,
        C.READ_THERAPY_NOTES,
        C.READ_THERAPIST_FORMS,
        C.READ_AUDIT,
        # a participant's concern may describe what the session (and so the drug) did
        C.READ_CONCERNS,
    }
)

#: Capabilities that show outcomes: an adherence rater holds none of them (nor the clinical course),
#: so that knowing how a participant fared cannot colour the rating of their therapists.
OUTCOMES = frozenset(
    {C.READ_PARTICIPANT_FORMS, C.READ_RATER_FORMS, C.EXPORT_BLINDED, C.READ_ADHERENCE}
)

#: Capabilities of the people a concern may be about: they never read concerns.
TREATING = frozenset({C.WRITE_THERAPY_NOTES, C.ADMINISTER_DOSES, C.ATTEST_PRESENCE})


def reveals_arm(role: Role) -> bool:
    return bool(CAPABILITIES[role] & UNBLINDING)


def is_independent_rater(role: Role) -> bool:
    """A role that rates outcomes blind to everything but the participant's answers."""
    return C.WRITE_RATER_FORMS in CAPABILITIES[role] and not (CAPABILITIES[role] & CLINICAL_COURSE)


def is_adherence_rater(role: Role) -> bool:
    return C.RATE_ADHERENCE in CAPABILITIES[role]


def _fidelity_problem(roles: set[Role]) -> str | None:
    """The adherence rater sees neither outcomes nor the clinical course (and rates no therapist
    it works beside); the ethics contact is never one of the people a concern may be about."""
    rater = next((r for r in roles if is_adherence_rater(r)), None)
    if rater is not None:
        seeing = sorted(
            r.value.replace("_", " ")
            for r in roles - {rater}
            if CAPABILITIES[r] & (OUTCOMES | CLINICAL_COURSE | TREATING)
        )
        if seeing:
            return (
                f"an adherence rater must stay blind to outcomes and the clinical course and "
                f"independent of the therapists; as {seeing[0]} they would not be, so the two "
                "roles cannot be combined in the same study"
            )
    if any(C.READ_CONCERNS in CAPABILITIES[r] for r in roles):
        treating = sorted(r.value.replace("_", " ") for r in roles if CAPABILITIES[r] & TREATING)
        if treating:
            return (
                f"the ethics contact reads concerns that may be about the therapists; as "
                f"{treating[0]} they would read concerns about themselves, so the two roles "
                "cannot be combined in the same study"
            )
    return None


def combination_problem(held: set[Role], new: Role) -> str | None:
    """Why one person may not hold ``new`` beside the roles ``held`` in the same study, or None.

    Knowledge travels with the person, not with the site: the rules apply across the whole study.
    """
    others = held - {new}
    if not others:
        return None
    if reveals_arm(new) or any(reveals_arm(role) for role in others):
        unblinded = new if reveals_arm(new) else next(r for r in others if reveals_arm(r))
        return (
            f"the {unblinded.value.replace('_', ' ')} role reveals treatment arms, so it is held "
            "alone: one person cannot be unblinded and hold a blinded role in the same study"
        )
    rater = (
        new
        if is_independent_rater(new)
        else next((r for r in others if is_independent_rater(r)), None)
    )
    if rater is not None:
        seeing = [r for r in ({new} | others) if CAPABILITIES[r] & CLINICAL_COURSE]
        if seeing:
            return (
                f"an independent {rater.value} must stay blind to the clinical course; as "
                f"{seeing[0].value.replace('_', ' ')} they would see it, so the two roles cannot "
                "be combined in the same study"
            )
    return _fidelity_problem({new} | others)
