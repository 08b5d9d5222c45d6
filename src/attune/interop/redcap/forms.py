"""The REDCap forms of an Attune study: the data dictionary rows.

Each instrument becomes a form whose items are radio (or dropdown) fields ``<instrument>_<item>``
with the instrument's own codes, its skip rule as branching logic and its total and subscales as
calculated fields. The tidy tables with one row per participant or visit become the forms
``participant`` and ``visit``; those with several rows per visit become repeating forms (doses,
vital signs, treatment guesses; adverse events and deviations in a study-log event). Field names
of those forms are fixed here: the importer reads them back by the same names.
"""

from __future__ import annotations

from dataclasses import dataclass

from attune.dataset.schema import (
    DEVIATION_KINDS,
    DISCONTINUATION_REASONS,
    DOSE_KINDS,
    PARTICIPANT_STATUS,
    PRODUCTS,
    RACE,
    RESPONDENTS,
    SEVERITY,
    SEX,
    VISIT_STATUS,
)
from attune.instruments import Instrument
from attune.interop.redcap.model import Field, format_choices
from attune.interop.redcap.names import NameBook

RECORD_ID = "record_id"
PARTICIPANT_FORM = "participant"
VISIT_FORM = "visit"
DOSE_FORM = "dose"
VITALS_FORM = "vital_signs"
GUESS_FORM = "arm_guesses"
AE_FORM = "adverse_event"
DEVIATION_FORM = "deviation"
LOG_EVENT = "study_log"
#: instruments kept in their own tidy table rather than item_responses
TABLE_INSTRUMENTS = frozenset({"arm_guess"})


@dataclass(frozen=True)
class Column:
    """A REDCap field that holds one column of a tidy table."""

    field: str
    column: str
    kind: str  # text, int, float, date, datetime, bool, choice, multi


#: (form, tidy table, fields): the forms that carry tidy tables other than item responses
TABLE_FORMS: dict[str, tuple[str, tuple[Column, ...]]] = {
    PARTICIPANT_FORM: (
        "participants",
        (
            Column("site", "site", "text"),
            Column("arm", "arm", "choice"),
            Column("age", "age", "int"),
            Column("sex", "sex", "choice"),
            Column("race", "race", "choice"),
            Column("status", "status", "choice"),
            Column("screen_fail_reason", "screen_fail_reason", "multi"),
            Column("enrolled_on", "enrolled_on", "date"),
            Column("randomised_on", "randomised_on", "date"),
            Column("discontinued_visit", "discontinued_visit", "choice"),
            Column("discontinued_reason", "discontinued_reason", "choice"),
            Column("dyad", "dyad", "text"),
        ),
    ),
    VISIT_FORM: (
        "visits",
        (
            Column("visit_target_date", "target_date", "date"),
            Column("visit_window_start", "window_start", "date"),
            Column("visit_window_end", "window_end", "date"),
            Column("visit_actual_date", "actual_date", "date"),
            Column("visit_status", "status", "choice"),
        ),
    ),
    DOSE_FORM: (
        "doses",
        (
            Column("dose_kind", "kind", "choice"),
            Column("dose_amount", "amount", "float"),
            Column("dose_unit", "unit", "choice"),
            Column("dose_time", "time", "datetime"),
            Column("dose_product", "product", "choice"),
        ),
    ),
    VITALS_FORM: (
        "vitals",
        (
            Column("vs_minutes", "minutes", "int"),
            Column("vs_time", "time", "datetime"),
            Column("vs_systolic", "systolic", "int"),
            Column("vs_diastolic", "diastolic", "int"),
            Column("vs_pulse", "pulse", "int"),
            Column("vs_temperature", "temperature", "float"),
        ),
    ),
    GUESS_FORM: (
        "arm_guesses",
        (
            Column("ag_respondent", "respondent", "choice"),
            Column("ag_respondent_id", "respondent_id", "text"),
            Column("ag_guess", "guess", "choice"),
            Column("ag_confidence", "confidence", "int"),
        ),
    ),
    AE_FORM: (
        "adverse_events",
        (
            Column("ae_id", "ae_id", "text"),
            Column("ae_term", "term", "text"),
            Column("ae_onset_date", "onset_date", "date"),
            Column("ae_resolved_date", "resolved_date", "date"),
            Column("ae_severity", "severity", "choice"),
            Column("ae_serious", "serious", "bool"),
            Column("ae_treatment_emergent", "treatment_emergent", "bool"),
            Column("ae_visit", "visit_id", "choice"),
            Column("ae_solicited", "solicited", "bool"),
        ),
    ),
    DEVIATION_FORM: (
        "deviations",
        (
            Column("dev_id", "deviation_id", "text"),
            Column("dev_visit", "visit_id", "choice"),
            Column("dev_kind", "kind", "choice"),
            Column("dev_description", "description", "text"),
        ),
    ),
}
REPEATING_FORMS = (DOSE_FORM, VITALS_FORM, GUESS_FORM, AE_FORM, DEVIATION_FORM)
FORM_LABELS = {
    PARTICIPANT_FORM: "Participant",
    VISIT_FORM: "Visit",
    DOSE_FORM: "Dose",
    VITALS_FORM: "Vital signs",
    GUESS_FORM: "Treatment guesses",
    AE_FORM: "Adverse event",
    DEVIATION_FORM: "Protocol deviation",
}


def _pairs(values: tuple[str, ...] | list[str]) -> list[tuple[str, str]]:
    return [(value, value.replace("_", " ").capitalize()) for value in values]


def _date(name: str, form: str, label: str, *, required: bool = False) -> Field:
    return Field(name, form, "text", label, validation="date_ymd", required="y" if required else "")


def table_fields(
    *,
    visits: list[str],
    arms: list[tuple[str, str]] | None,
    strata: list[str],
    criteria: list[tuple[str, str]],
) -> list[Field]:
    """The fields of the participant, visit and repeating forms (``arms`` None: blinded, so no
    arm, dose amount or product field at all)."""
    p, v = PARTICIPANT_FORM, VISIT_FORM
    blinded = arms is None
    fields = [
        Field(RECORD_ID, p, "text", "Participant ID", required="y"),
        Field("site", p, "text", "Site", required="y"),
    ]
    if arms is not None:
        fields.append(Field("arm", p, "dropdown", "Allocated arm", choices=format_choices(arms)))
    fields += [
        Field(f"strat_{factor}", p, "text", f"Stratification factor {factor}") for factor in strata
    ]
    fields += [
        Field(
            "age",
            p,
            "text",
            "Age at enrolment (years)",
            validation="integer",
            validation_min="0",
            validation_max="120",
        ),
        Field("sex", p, "radio", "Sex", choices=format_choices(_pairs(SEX))),
        Field("race", p, "dropdown", "Race", choices=format_choices(_pairs(RACE))),
        Field(
            "status",
            p,
            "dropdown",
            "Participant status",
            choices=format_choices(_pairs(PARTICIPANT_STATUS)),
            required="y",
        ),
    ]
    if criteria:
        fields.append(
            Field(
                "screen_fail_reason",
                p,
                "checkbox",
                "Eligibility criteria failed",
                choices=format_choices(criteria),
                branching="[status] = 'screen_failed'",
            )
        )
    else:
        fields.append(
            Field(
                "screen_fail_reason",
                p,
                "text",
                "Eligibility criteria failed (ids separated by ;)",
                branching="[status] = 'screen_failed'",
            )
        )
    fields += [
        _date("enrolled_on", p, "Date of consent (enrolment)", required=True),
        _date("randomised_on", p, "Date of randomisation"),
        Field(
            "discontinued_visit",
            p,
            "dropdown",
            "Last visit attended",
            choices=format_choices([(visit, visit) for visit in visits]),
            branching="[status] = 'discontinued'",
        ),
        Field(
            "discontinued_reason",
            p,
            "dropdown",
            "Reason for discontinuation",
            choices=format_choices(_pairs(DISCONTINUATION_REASONS)),
            branching="[status] = 'discontinued'",
        ),
        Field("dyad", p, "text", "Therapist dyad (an id, never a name)"),
        _date("visit_target_date", v, "Target date", required=True),
        _date("visit_window_start", v, "Window opens", required=True),
        _date("visit_window_end", v, "Window closes", required=True),
        _date("visit_actual_date", v, "Date held"),
        Field(
            "visit_status",
            v,
            "dropdown",
            "Visit status",
            choices=format_choices(_pairs(VISIT_STATUS)),
            required="y",
        ),
        Field("dose_kind", DOSE_FORM, "radio", "Dose", choices=format_choices(_pairs(DOSE_KINDS))),
    ]
    if not blinded:
        fields.append(
            Field(
                "dose_amount",
                DOSE_FORM,
                "text",
                "Nominal amount",
                validation="number",
                validation_min="0",
                validation_max="100000",
            )
        )
    fields += [
        Field(
            "dose_unit",
            DOSE_FORM,
            "radio",
            "Unit",
            choices=format_choices([("mg", "mg"), ("ug", "ug")]),
        ),
        Field("dose_time", DOSE_FORM, "text", "Time given", validation="datetime_ymd"),
    ]
    if not blinded:
        fields.append(
            Field(
                "dose_product",
                DOSE_FORM,
                "radio",
                "Product",
                choices=format_choices(_pairs(PRODUCTS)),
            )
        )
    vs = VITALS_FORM

    def integer(name: str, label: str, low: int, high: int) -> Field:
        return Field(
            name,
            vs,
            "text",
            label,
            validation="integer",
            validation_min=str(low),
            validation_max=str(high),
        )

    fields += [
        integer("vs_minutes", "Minutes after the initial dose (scheduled)", -1440, 1440),
        Field("vs_time", vs, "text", "Time of the reading", validation="datetime_ymd"),
        integer("vs_systolic", "Systolic blood pressure (mmHg)", 40, 300),
        integer("vs_diastolic", "Diastolic blood pressure (mmHg)", 20, 200),
        integer("vs_pulse", "Pulse (beats per minute)", 20, 250),
        Field(
            "vs_temperature",
            vs,
            "text",
            "Temperature (degrees C)",
            validation="number",
            validation_min="30",
            validation_max="45",
        ),
        Field(
            "ag_respondent",
            GUESS_FORM,
            "radio",
            "Respondent",
            choices=format_choices(_pairs(RESPONDENTS)),
        ),
        Field("ag_respondent_id", GUESS_FORM, "text", "Respondent (numbered, never named)"),
        Field(
            "ag_guess",
            GUESS_FORM,
            "radio",
            "Guess of the treatment",
            choices=format_choices(
                [
                    ("active", "Active drug"),
                    ("inactive", "Inactive (no drug)"),
                    ("dont_know", "Don't know"),
                ]
            ),
        ),
        Field(
            "ag_confidence",
            GUESS_FORM,
            "radio",
            "Confidence in the guess",
            choices=format_choices([(str(n), str(n)) for n in range(1, 6)]),
        ),
        Field("ae_id", AE_FORM, "text", "Adverse event id"),
        Field("ae_term", AE_FORM, "text", "Term"),
        _date("ae_onset_date", AE_FORM, "Onset"),
        _date("ae_resolved_date", AE_FORM, "Resolved (empty if ongoing)"),
        Field(
            "ae_severity", AE_FORM, "radio", "Severity", choices=format_choices(_pairs(SEVERITY))
        ),
        Field("ae_serious", AE_FORM, "yesno", "Serious"),
        Field("ae_treatment_emergent", AE_FORM, "yesno", "Treatment-emergent"),
        Field(
            "ae_visit",
            AE_FORM,
            "dropdown",
            "Dosing session the event follows",
            choices=format_choices([(visit, visit) for visit in visits]),
        ),
        Field("ae_solicited", AE_FORM, "yesno", "Found by the solicited-AE checklist"),
        Field("dev_id", DEVIATION_FORM, "text", "Deviation id"),
        Field(
            "dev_visit",
            DEVIATION_FORM,
            "dropdown",
            "Visit",
            choices=format_choices([(visit, visit) for visit in visits]),
        ),
        Field(
            "dev_kind",
            DEVIATION_FORM,
            "dropdown",
            "Kind",
            choices=format_choices(_pairs(DEVIATION_KINDS)),
        ),
        Field("dev_description", DEVIATION_FORM, "notes", "Description"),
    ]
    return fields


def item_field_name(book: NameBook, instrument: Instrument, number: int) -> str:
    return book.name(instrument.id, str(number))


def instrument_fields(instrument: Instrument, book: NameBook | None = None) -> list[Field]:
    """One form for ``instrument``: its items (with the item text only where the licence allows
    it, else Attune's own short label), skip rules as branching logic, and its total and
    subscales as calculated fields (blank, as Attune's scores, when an item is unanswered)."""
    book = book or NameBook()
    form = instrument.id
    names = {
        item.number: item_field_name(book, instrument, item.number) for item in instrument.items
    }
    licence = instrument.licence
    fields: list[Field] = []
    for index, item in enumerate(instrument.items):
        options = instrument.response_sets[item.responses]
        label = item.text if (licence.item_text and item.text) else item.label
        branching = ""
        if item.asked_if is not None:
            branching = f"[{names[item.asked_if.item]}] = '{item.asked_if.equals}'"
        section = ""
        if index == 0:
            section = instrument.instructions or ""
        fields.append(
            Field(
                names[item.number],
                form,
                "radio" if len(options) <= 10 else "dropdown",
                f"{item.number}. {label}",
                choices=format_choices([(str(o.code), o.label) for o in options]),
                section=section,
                branching=branching,
                required="y" if item.required and item.asked_if is None else "",
                note="" if item.required else "optional",
            )
        )
    for score_name, score in instrument.scores.items():
        terms = " + ".join(f"[{names[number]}]" for number in score.items)
        equation = terms if score.method == "sum" else f"({terms}) / {len(score.items)}"
        what = "Total score" if score_name == "total" else f"Subscale {score_name}"
        fields.append(
            Field(
                book.name(instrument.id, score_name),
                form,
                "calc",
                f"{what} ({'mean' if score.method == 'mean' else 'sum'} of items; blank while an "
                "item is unanswered)",
                choices=equation,
                annotation="@READONLY",
            )
        )
    return fields
