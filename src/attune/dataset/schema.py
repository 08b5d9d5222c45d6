"""The tables of a tidy trial dataset: their columns, types, allowed values and keys.

Each table is one CSV file (``<table>.csv``) with a header row. Every column has a type:

* ``id``: a short identifier (letters, digits, ``_ . -``), never empty;
* ``text``: free text;
* ``choice``: one of a fixed list of lower-case values;
* ``date``: ``YYYY-MM-DD``; ``datetime``: ``YYYY-MM-DDTHH:MM`` (local site time, no zone);
* ``int``/``float``: decimal numbers, with an allowed range;
* ``bool``: ``true``/``false``.

An empty cell is a missing value; it is allowed only in a ``nullable`` column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

ColumnType = Literal["id", "text", "choice", "date", "datetime", "int", "float", "bool"]

FORMAT_NAME = "attune-trial-dataset"
FORMAT_VERSION = "1.4"
METADATA_FILE = "dataset.json"

#: an ``id`` cell: what every reader of the format can use as a key, a file name part or a label
ID_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_.\-]*"
_ID = re.compile(ID_PATTERN)


def is_identifier(text: str) -> bool:
    """Whether ``text`` is an ``id`` of the format: the platform refuses participant codes that are
    not, at creation, so that every participant it holds can be exported."""
    return _ID.fullmatch(text) is not None


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType
    nullable: bool = False
    choices: tuple[str, ...] = ()
    min: float | None = None
    max: float | None = None
    #: absent from blinded datasets (it reveals the allocation)
    unblinded_only: bool = False
    description: str = ""
    #: the format version that added the column: older folders without it still read (as missing)
    added_in: str = ""


@dataclass(frozen=True)
class Table:
    name: str
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    #: ``participant_id`` must name a row of ``participants``
    child: bool = True
    #: extra columns allowed by the dataset's metadata (stratification factors)
    open_columns: bool = False
    extra: dict[str, str] = field(default_factory=dict)
    #: added after format 1.0: a folder written before it may lack the file (read as empty)
    optional: bool = False

    @property
    def file(self) -> str:
        return f"{self.name}.csv"

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)

    def column_names(self, blinded: bool) -> list[str]:
        return [c.name for c in self.columns if not (blinded and c.unblinded_only)]


PARTICIPANT_STATUS = (
    "screening",
    "screen_failed",
    "enrolled",
    "randomised",
    "completed",
    "discontinued",
)
VISIT_STATUS = ("completed", "missed", "cancelled", "scheduled")
SEX = ("female", "male", "other")
RACE = (
    "american_indian_or_alaska_native",
    "asian",
    "black_or_african_american",
    "native_hawaiian_or_pacific_islander",
    "white",
    "multiple",
    "other",
    "not_reported",
)
DISCONTINUATION_REASONS = (
    "adverse_event",
    "withdrew_consent",
    "lost_to_follow_up",
    "lack_of_efficacy",
    "investigator_decision",
    "other",
)
SCORE_KINDS = ("total", "subscale", "flag", "band")
DOSE_KINDS = ("initial", "supplemental")
PRODUCTS = ("active", "placebo")
SEVERITY = ("mild", "moderate", "severe")
CAUSALITY = ("not_related", "unlikely", "possible", "probable", "definite")
ACTION_TAKEN = (
    "dose_not_changed",
    "supplemental_dose_withheld",
    "session_stopped",
    "drug_withdrawn",
    "not_applicable",
    "unknown",
)
OUTCOME = (
    "recovered",
    "recovering",
    "not_recovered",
    "recovered_with_sequelae",
    "fatal",
    "unknown",
)
EXPECTEDNESS = ("expected", "unexpected")
ROUTES = (
    "oral",
    "sublingual",
    "intravenous",
    "intramuscular",
    "subcutaneous",
    "transdermal",
    "inhaled",
    "topical",
    "nasal",
    "rectal",
    "other",
)


def _later(name: str, kind: ColumnType, description: str = "", **more: object) -> Column:
    """A column added in format 1.4 (issue 13): nullable, so older folders still read."""
    return Column(name, kind, nullable=True, added_in="1.4", description=description, **more)  # type: ignore[arg-type]


RESPONDENTS = ("participant", "therapist", "rater", "coordinator")
#: "inactive" is a guess of placebo: the word "placebo" never appears in blinded files
GUESSES = ("active", "inactive", "dont_know")
DEVIATION_KINDS = ("visit_out_of_window", "visit_missed", "dose_out_of_window", "other")

_PID = Column("participant_id", "id", description="Participant identifier.")
_VISIT = Column("visit_id", "id", description="A visit id of the dataset's protocol.")

TABLES: dict[str, Table] = {
    table.name: table
    for table in (
        Table(
            "participants",
            "One row per person screened, screen failures included (for the CONSORT diagram).",
            (
                _PID,
                Column("site", "id", description="Site identifier."),
                Column(
                    "arm", "id", nullable=True, unblinded_only=True, description="Allocated arm."
                ),
                Column(
                    "age",
                    "int",
                    nullable=True,
                    min=0,
                    max=120,
                    description="Age in years at enrolment.",
                ),
                Column("sex", "choice", nullable=True, choices=SEX),
                Column("race", "choice", nullable=True, choices=RACE),
                Column("status", "choice", choices=PARTICIPANT_STATUS),
                Column(
                    "screen_fail_reason",
                    "text",
                    nullable=True,
                    description="Ids of the failed eligibility criteria, separated by ';'.",
                ),
                Column("enrolled_on", "date", description="Date of consent (enrolment)."),
                Column("randomised_on", "date", nullable=True),
                Column(
                    "discontinued_visit",
                    "id",
                    nullable=True,
                    description="The last visit attended before discontinuation.",
                ),
                Column(
                    "discontinued_reason", "choice", nullable=True, choices=DISCONTINUATION_REASONS
                ),
                Column(
                    "dyad",
                    "id",
                    nullable=True,
                    added_in="1.3",
                    description="The participant's therapist dyad (an id, never a name).",
                ),
                Column(
                    "emergency_unblinded_on",
                    "date",
                    nullable=True,
                    added_in="1.4",
                    description="The day the participant's arm was revealed for a medical "
                    "emergency (emergency unblinding); empty: never.",
                ),
            ),
            key=("participant_id",),
            child=False,
            open_columns=True,
        ),
        Table(
            "visits",
            "One row per scheduled visit of a participant.",
            (
                _PID,
                _VISIT,
                Column("target_date", "date"),
                Column("window_start", "date"),
                Column("window_end", "date"),
                Column("actual_date", "date", nullable=True, description="Empty when not held."),
                Column("status", "choice", choices=VISIT_STATUS),
            ),
            key=("participant_id", "visit_id"),
        ),
        Table(
            "item_responses",
            "One row per item of each form completed at a visit.",
            (
                _PID,
                _VISIT,
                Column("instrument", "id", description="Instrument id (attune.instruments)."),
                Column("item", "int", min=1, max=1000, description="Item number."),
                Column(
                    "value", "int", nullable=True, description="Answer code; empty = unanswered."
                ),
            ),
            key=("participant_id", "visit_id", "instrument", "item"),
        ),
        Table(
            "scores",
            "Scores computed by attune.instruments from item_responses (never typed by hand).",
            (
                _PID,
                _VISIT,
                Column("instrument", "id"),
                Column("kind", "choice", choices=SCORE_KINDS),
                Column("name", "id", description="Score, subscale, flag or 'band'."),
                Column(
                    "value",
                    "text",
                    nullable=True,
                    description="Number (total, subscale), true/false (flag) or band name; empty = undecided.",
                ),
            ),
            key=("participant_id", "visit_id", "instrument", "kind", "name"),
        ),
        Table(
            "doses",
            "One row per dose given in a dosing session.",
            (
                _PID,
                _VISIT,
                Column("kind", "choice", choices=DOSE_KINDS),
                Column(
                    "amount",
                    "float",
                    min=0,
                    max=100000,
                    unblinded_only=True,
                    description="Nominal amount; only in unblinded datasets, since in some "
                    "protocols the amount is the arm.",
                ),
                Column("unit", "choice", choices=("mg", "ug")),
                Column("time", "datetime"),
                Column(
                    "product",
                    "choice",
                    choices=PRODUCTS,
                    unblinded_only=True,
                    description="Active drug or inactive placebo.",
                ),
            ),
            key=("participant_id", "visit_id", "kind"),
        ),
        Table(
            "vitals",
            "One row per vital-sign reading in a dosing session.",
            (
                _PID,
                _VISIT,
                Column(
                    "minutes",
                    "int",
                    min=-1440,
                    max=1440,
                    description="Scheduled minutes after the initial dose (negative: before).",
                ),
                Column("time", "datetime"),
                Column("systolic", "int", nullable=True, min=40, max=300, description="mmHg"),
                Column("diastolic", "int", nullable=True, min=20, max=200, description="mmHg"),
                Column("pulse", "int", nullable=True, min=20, max=250, description="beats/min"),
                Column(
                    "temperature", "float", nullable=True, min=30, max=45, description="degrees C"
                ),
            ),
            key=("participant_id", "visit_id", "minutes"),
        ),
        Table(
            "adverse_events",
            "One row per adverse event.",
            (
                _PID,
                Column("ae_id", "id"),
                Column("term", "text"),
                Column("onset_date", "date"),
                Column("resolved_date", "date", nullable=True),
                Column("severity", "choice", choices=SEVERITY),
                Column("serious", "bool"),
                Column("treatment_emergent", "bool"),
                Column(
                    "visit_id",
                    "id",
                    nullable=True,
                    description="The visit (dosing session) the event is related to in time.",
                ),
                Column(
                    "solicited",
                    "bool",
                    nullable=True,
                    description=(
                        "True: found by the protocol's solicited-AE checklist; false: reported "
                        "spontaneously; empty: not recorded (datasets before format 1.3)."
                    ),
                ),
                _later(
                    "causality_drug", "choice", "Relatedness to the study drug.", choices=CAUSALITY
                ),
                _later(
                    "causality_therapy", "choice", "Relatedness to the therapy.", choices=CAUSALITY
                ),
                _later("action_taken", "choice", "With the study drug.", choices=ACTION_TAKEN),
                _later("outcome", "choice", choices=OUTCOME),
                _later("expectedness", "choice", choices=EXPECTEDNESS),
                _later(
                    "sae_criteria",
                    "text",
                    "ICH E2A criteria met, separated by ';' (death, life_threatening, "
                    "hospitalisation, disability, congenital_anomaly, important_medical_event).",
                ),
                _later(
                    "sae_reported_late", "bool", "The SAE report reached the sponsor after 24 h."
                ),
                _later("meddra_llt_code", "int", "MedDRA lowest level term code.", min=1),
                _later("meddra_llt", "text", "MedDRA lowest level term."),
                _later("meddra_pt_code", "int", "MedDRA preferred term code.", min=1),
                _later("meddra_pt", "text", "MedDRA preferred term (empty: not coded)."),
                _later("meddra_soc_code", "int", "MedDRA primary system organ class code.", min=1),
                _later("meddra_soc", "text", "MedDRA primary system organ class."),
                _later("meddra_version", "text", "The MedDRA release the term was coded with."),
            ),
            key=("participant_id", "ae_id"),
        ),
        Table(
            "deviations",
            "One row per protocol deviation.",
            (
                _PID,
                Column("deviation_id", "id"),
                Column("visit_id", "id", nullable=True),
                Column("kind", "choice", choices=DEVIATION_KINDS),
                Column("description", "text"),
            ),
            key=("participant_id", "deviation_id"),
        ),
        Table(
            "arm_guesses",
            "One row per treatment-guess form (instrument arm_guess) per respondent: several "
            "people guess at one visit, so guesses have their own table. A guess is not the arm "
            "(blinded datasets keep it); whether it was right is never stored.",
            (
                _PID,
                _VISIT,
                Column("respondent", "choice", choices=RESPONDENTS, description="Who answered."),
                Column(
                    "respondent_id",
                    "id",
                    description="One respondent of that type (e.g. therapist_1, therapist_2).",
                ),
                Column("guess", "choice", nullable=True, choices=GUESSES),
                Column("confidence", "int", nullable=True, min=1, max=5, description="1-5."),
            ),
            key=("participant_id", "visit_id", "respondent_id"),
            optional=True,
        ),
        Table(
            "queries",
            "One row per data query (raised by a monitor, a data manager or a data-quality rule "
            "of the protocol, format 1.4), with its status and how long it was open. Only the queries the "
            "exporting user may read.",
            (
                _PID,
                Column("query_id", "id", description="The platform's number of the query."),
                Column("visit_id", "id", nullable=True),
                Column("instrument", "id", nullable=True, description="For a query on a form."),
                Column("item", "int", nullable=True, min=1, description="For a query on an item."),
                Column("target", "choice", choices=("field", "form", "visit", "participant")),
                Column("origin", "choice", choices=("manual", "rule")),
                Column("rule_id", "id", nullable=True, description="The protocol's rule."),
                Column("status", "choice", choices=("open", "answered", "closed")),
                Column("raised_on", "date"),
                Column("closed_on", "date", nullable=True),
                Column("days_open", "int", min=0, description="Until closed, or until the export."),
                Column("text", "text"),
            ),
            key=("participant_id", "query_id"),
            optional=True,
        ),
        Table(
            "medications",
            "One row per concomitant medication (format 1.4), coded to the drug dictionary when "
            "it has been.",
            (
                _PID,
                Column("medication_id", "id"),
                Column("name", "text", description="As recorded (the verbatim name)."),
                Column("dose", "text", nullable=True),
                Column("route", "choice", choices=ROUTES),
                Column("indication", "text", nullable=True),
                Column("start_date", "date", nullable=True),
                Column("stop_date", "date", nullable=True, description="Empty: still taken."),
                Column(
                    "taper_class",
                    "id",
                    nullable=True,
                    description="The protocol's medication_taper class, if any.",
                ),
                Column("drug_code", "id", nullable=True),
                Column("drug_name", "text", nullable=True),
                Column("atc_code", "id", nullable=True),
                Column("dictionary_version", "text", nullable=True),
            ),
            key=("participant_id", "medication_id"),
            optional=True,
        ),
    )
}

TABLE_ORDER = tuple(TABLES)
