"""QS: every instrument's items and scores, one record per item or score per form.

Item records carry the answer's label as collected (QSORRES) and its code (QSSTRESC,
QSSTRESN); unanswered items have QSSTAT ``NOT DONE``. Totals and subscales are records too,
marked derived (QSDRVFL ``Y``). Test codes and names come from :mod:`terms`: item wording
appears only where the instrument's licence allows it. The treatment guesses (``arm_guesses``)
are QS records of the ``ARM GUESS`` category, one per respondent (QSEVAL, QSEVALID).

Built column-wise: a QS domain of 10,000 participants has about nine million records, so
every text column is a categorical made from small lookup tables and integer codes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from attune.instruments import get_instrument
from attune.interop.cdisc.context import Trial
from attune.interop.cdisc.model import Dataset, Variable
from attune.interop.cdisc.sdtm import (
    EPOCH_VAR,
    STUDYID,
    USUBJID,
    VISIT,
    VISITNUM,
    domain_var,
    seq_var,
)
from attune.interop.cdisc.terms import (
    EVALUATOR,
    item_code,
    item_test,
    qs_category,
    score_code,
    score_test,
    short_code,
)

_SCORE_KINDS = ("total", "subscale")
GUESS_LABELS = {"active": "ACTIVE", "inactive": "INACTIVE", "dont_know": "DON'T KNOW"}
GUESS_EVALUATOR = {
    "participant": "STUDY SUBJECT",
    "rater": "INDEPENDENT ASSESSOR",
    "therapist": "HEALTH CARE PROFESSIONAL",
    "coordinator": "OTHER",
}


def _categorical(codes: np.ndarray[Any, Any], labels: Sequence[object]) -> pd.Categorical:
    """Values ``labels[code]`` as a categorical (labels may repeat; None is missing)."""
    uniques = pd.Index(pd.unique(pd.Series([x for x in labels if x is not None], dtype=object)))
    mapping = np.array(
        [uniques.get_loc(x) if x is not None else -1 for x in labels] + [-1], dtype=np.int64
    )
    codes = np.where(codes < 0, len(labels), codes)
    return pd.Categorical.from_codes(mapping[codes], categories=uniques)


class _Tests:
    """The QS tests met in the data: one row per (instrument, item) or (instrument, score)."""

    def __init__(self) -> None:
        self.keys: dict[tuple[str, str], int] = {}
        self.rows: list[dict[str, str]] = []
        self.codes: set[str] = set()

    def add(self, instrument_id: str, what: str) -> int:
        key = (instrument_id, what)
        if key not in self.keys:
            instrument = get_instrument(instrument_id)
            if what.startswith("item:"):
                number = int(what[5:])
                code, test = item_code(instrument, number), item_test(instrument, number)
            else:
                code, test = score_code(instrument, what), score_test(instrument, what)
            if code in self.codes:  # a cut subscale name met another: make it unique
                code = short_code(code, self.codes)
            self.codes.add(code)
            self.keys[key] = len(self.rows)
            self.rows.append(
                {
                    "QSTESTCD": code,
                    "QSTEST": test,
                    "QSCAT": qs_category(instrument),
                    "QSEVAL": EVALUATOR.get(instrument.respondent, ""),
                    "instrument": instrument_id,
                }
            )
        return self.keys[key]


def build_qs(trial: Trial) -> Dataset | None:
    dataset = trial.dataset
    people = pd.Index(trial.people["participant_id"].astype(object).to_numpy())
    visits = pd.Index(trial.visit_table["visit_id"].to_numpy())
    tests = _Tests()
    parts: list[dict[str, np.ndarray]] = []
    results: dict[str, int] = {}

    def result_code(text: str) -> int:
        if text not in results:
            results[text] = len(results)
        return results[text]

    # items ---------------------------------------------------------------------------------
    answers = dataset.item_responses
    if not answers.empty:
        instrument = answers["instrument"].astype(object).to_numpy()
        item = answers["item"].astype(int).to_numpy()
        inst_codes, inst_uniques = pd.factorize(instrument)
        value = answers["value"].astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan)
        key = inst_codes.astype(np.int64) * 100_000 + item
        ukeys, key_inverse = np.unique(key, return_inverse=True)
        test_of_key = np.array(
            [tests.add(str(inst_uniques[k // 100_000]), f"item:{k % 100_000}") for k in ukeys]
        )
        # answer labels: one per (instrument, item, code)
        vcode = np.where(np.isnan(value), -1, value).astype(np.int64)
        key2 = key_inverse.astype(np.int64) * 1000 + (vcode + 1)
        ukeys2, inverse2 = np.unique(key2, return_inverse=True)
        orres_of = np.empty(len(ukeys2), dtype=np.int64)
        stresc_of = np.empty(len(ukeys2), dtype=np.int64)
        for j, k in enumerate(ukeys2):
            code = int(k % 1000) - 1
            if code < 0:
                orres_of[j] = stresc_of[j] = -1
                continue
            raw = int(ukeys[k // 1000])
            definition = get_instrument(str(inst_uniques[raw // 100_000]))
            labels = {
                option.code: option.label
                for option in definition.response_sets[definition.item(raw % 100_000).responses]
            }
            orres_of[j] = result_code(str(labels.get(code, code)).upper())
            stresc_of[j] = result_code(str(code))
        parts.append(
            {
                "pid": people.get_indexer(answers["participant_id"].astype(object)),
                "visit": visits.get_indexer(answers["visit_id"].astype(object)),
                "test": test_of_key[key_inverse],
                "orres": orres_of[inverse2],
                "stresc": stresc_of[inverse2],
                "stresn": value,
                "derived": np.zeros(len(answers), dtype=bool),
                "order": item.astype(np.int64),
                "eval": np.full(len(answers), -1, dtype=np.int64),
                "evalid": np.full(len(answers), -1, dtype=np.int64),
            }
        )
    # scores --------------------------------------------------------------------------------
    scores = dataset.scores
    scores = scores[scores["kind"].astype(object).isin(_SCORE_KINDS)]
    if not scores.empty:
        name = scores["name"].astype(object).to_numpy()
        instrument = scores["instrument"].astype(object).to_numpy()
        pair_codes, pair_uniques = pd.factorize(pd.Series(instrument + "|" + name))
        test_of_pair = np.array(
            [tests.add(*str(pair).split("|", 1)) for pair in pair_uniques], dtype=np.int64
        )
        text = scores["value"].astype(object)
        text_codes, text_uniques = pd.factorize(text)
        numbers = pd.to_numeric(pd.Series(text_uniques, dtype=object), errors="coerce")
        res_of = np.array(
            [result_code(f"{n:g}") if pd.notna(n) else -1 for n in numbers] + [-1], dtype=np.int64
        )
        num_of = np.append(numbers.to_numpy(dtype=np.float64), np.nan)
        text_codes = np.where(text_codes < 0, len(text_uniques), text_codes)
        parts.append(
            {
                "pid": people.get_indexer(scores["participant_id"].astype(object)),
                "visit": visits.get_indexer(scores["visit_id"].astype(object)),
                "test": test_of_pair[pair_codes],
                "orres": res_of[text_codes],
                "stresc": res_of[text_codes],
                "stresn": num_of[text_codes],
                "derived": np.ones(len(scores), dtype=bool),
                "order": 10_000 + pair_codes.astype(np.int64),
                "eval": np.full(len(scores), -1, dtype=np.int64),
                "evalid": np.full(len(scores), -1, dtype=np.int64),
            }
        )
    # treatment guesses ----------------------------------------------------------------------
    guesses = dataset.arm_guesses
    evaluators: list[str] = []
    evaluator_ids: list[str] = []
    if not guesses.empty:
        respondent = guesses["respondent"].astype(object).map(GUESS_EVALUATOR).fillna("OTHER")
        ev_codes, ev_uniques = pd.factorize(respondent)
        id_codes, id_uniques = pd.factorize(guesses["respondent_id"].astype(object).str.upper())
        evaluators, evaluator_ids = [str(x) for x in ev_uniques], [str(x) for x in id_uniques]
        for position, (column, test_code, test_name) in enumerate(
            (
                ("guess", "ARMGUESS", "Treatment Guess"),
                ("confidence", "ARMGCONF", "Confidence in Treatment Guess"),
            )
        ):
            test_index = len(tests.rows)
            tests.keys[("arm_guess", column)] = test_index
            tests.rows.append(
                {
                    "QSTESTCD": test_code,
                    "QSTEST": test_name,
                    "QSCAT": "ARM GUESS",
                    "QSEVAL": "",
                    "instrument": "arm_guess",
                }
            )
            given = guesses[column]
            if column == "guess":
                answers_text = given.map(GUESS_LABELS)
                stresn = np.full(len(given), np.nan)
            else:
                answers_text = given.astype("Float64").map(
                    lambda v: f"{v:g}" if pd.notna(v) else None
                )
                stresn = given.astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan)
            res = np.array(
                [result_code(x) if isinstance(x, str) else -1 for x in answers_text], dtype=np.int64
            )
            parts.append(
                {
                    "pid": people.get_indexer(guesses["participant_id"].astype(object)),
                    "visit": visits.get_indexer(guesses["visit_id"].astype(object)),
                    "test": np.full(len(guesses), test_index, dtype=np.int64),
                    "orres": res,
                    "stresc": res,
                    "stresn": stresn,
                    "derived": np.zeros(len(guesses), dtype=bool),
                    "order": id_codes.astype(np.int64) * 2 + position,
                    "eval": ev_codes.astype(np.int64),
                    "evalid": id_codes.astype(np.int64),
                }
            )
    if not parts:
        return None
    data = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    if (data["pid"] < 0).any() or (data["visit"] < 0).any():
        keep = (data["pid"] >= 0) & (data["visit"] >= 0)
        trial.warnings.append(
            f"QS: {int((~keep).sum())} records of unknown participants or visits left out"
        )
        data = {k: v[keep] for k, v in data.items()}
    category_rank, _ = pd.factorize(pd.Series([r["QSCAT"] for r in tests.rows]))
    order = np.lexsort((data["order"], category_rank[data["test"]], data["visit"], data["pid"]))
    data = {k: v[order] for k, v in data.items()}
    n = len(order)
    pid = data["pid"]
    starts = np.r_[0, np.flatnonzero(np.diff(pid)) + 1]
    counts = np.diff(np.r_[starts, n])
    seq = np.arange(n) - np.repeat(starts, counts) + 1

    test_table = pd.DataFrame(tests.rows)
    result_labels = list(results)
    participant_ids = list(people)
    frame = pd.DataFrame(
        {
            "STUDYID": pd.Categorical.from_codes(
                np.zeros(n, dtype=np.int64), pd.Index([trial.study_id])
            ),
            "DOMAIN": pd.Categorical.from_codes(np.zeros(n, dtype=np.int64), pd.Index(["QS"])),
            "USUBJID": _categorical(pid, [f"{trial.study_id}-{p}" for p in participant_ids]),
            "QSSEQ": seq.astype(np.float64),
            "QSTESTCD": _categorical(data["test"], list(test_table["QSTESTCD"])),
            "QSTEST": _categorical(data["test"], list(test_table["QSTEST"])),
            "QSCAT": _categorical(data["test"], list(test_table["QSCAT"])),
            "QSORRES": _categorical(data["orres"], result_labels),
            "QSSTRESC": _categorical(data["stresc"], result_labels),
            "QSSTRESN": data["stresn"],
            "QSSTAT": pd.Categorical.from_codes(
                np.where(data["orres"] < 0, 0, -1), pd.Index(["NOT DONE"])
            ),
            "QSDRVFL": pd.Categorical.from_codes(np.where(data["derived"], 0, -1), pd.Index(["Y"])),
        }
    )
    # evaluator: the instrument's respondent, or for a treatment guess the one who guessed
    eval_labels = [r["QSEVAL"] or None for r in tests.rows] + list(evaluators)
    eval_codes = np.where(data["eval"] >= 0, len(tests.rows) + data["eval"], data["test"])
    frame["QSEVAL"] = _categorical(eval_codes, eval_labels)
    frame["QSEVALID"] = _categorical(data["evalid"], list(evaluator_ids) or [None])
    table = trial.visit_table
    frame["VISITNUM"] = table["VISITNUM"].to_numpy(dtype=np.float64)[data["visit"]]
    frame["VISIT"] = _categorical(data["visit"], list(table["VISIT"]))
    frame["EPOCH"] = _categorical(data["visit"], list(table["EPOCH"]))
    # dates: the visit's actual date, per (participant, visit)
    held = trial.visit_dates
    pv = pid.astype(np.int64) * len(visits) + data["visit"]
    held_keys = people.get_indexer(held.index.get_level_values(0)).astype(np.int64) * len(
        visits
    ) + visits.get_indexer(held.index.get_level_values(1))
    lookup = pd.Series(np.arange(len(held)), index=held_keys)
    lookup = lookup[~lookup.index.duplicated()]
    where = lookup.reindex(pv).to_numpy()
    found = ~np.isnan(where)
    where_i = np.where(found, where, 0).astype(np.int64)
    dates = pd.to_datetime(pd.Series(held.to_numpy()))
    date_text = dates.dt.strftime("%Y-%m-%d").to_numpy(dtype=object)
    date_codes, date_uniques = pd.factorize(pd.Series(date_text))
    codes = np.where(found, date_codes[where_i] if len(date_codes) else -1, -1)
    frame["QSDTC"] = pd.Categorical.from_codes(codes, categories=pd.Index(date_uniques))
    first = trial.first_dose.dt.normalize().reindex(participant_ids)
    start_days = (first - pd.Timestamp("1970-01-01")).dt.days.to_numpy(
        dtype=np.float64, na_value=np.nan
    )
    visit_days = ((dates - pd.Timestamp("1970-01-01")).dt.days).to_numpy(dtype=np.float64)
    day = (
        np.where(found, visit_days[where_i] if len(visit_days) else np.nan, np.nan)
        - start_days[pid]
    )
    frame["QSDY"] = np.where(day >= 0, day + 1, day)
    variables = [
        STUDYID,
        domain_var("QS"),
        USUBJID,
        seq_var("QS"),
        Variable(
            "QSTESTCD", "Question Short Name", core="Req", origin="Assigned", codelist="QSTESTCD"
        ),
        Variable("QSTEST", "Question Name", core="Req", origin="Assigned", codelist="QSTEST"),
        Variable("QSCAT", "Category of Question", core="Req", origin="Assigned", codelist="QSCAT"),
        Variable("QSORRES", "Finding in Original Units", core="Exp"),
        Variable(
            "QSSTRESC", "Character Result/Finding in Std Format", core="Exp", origin="Derived"
        ),
        Variable(
            "QSSTRESN", "Numeric Finding in Standard Units", "float", core="Exp", origin="Derived"
        ),
        Variable("QSSTAT", "Completion Status", core="Perm", origin="Derived", codelist="ND"),
        Variable("QSDRVFL", "Derived Flag", core="Perm", origin="Derived", codelist="NY"),
        Variable("QSEVAL", "Evaluator", core="Perm", origin="Assigned"),
        Variable("QSEVALID", "Evaluator Identifier", core="Perm", origin="Assigned"),
        VISITNUM,
        VISIT,
        EPOCH_VAR,
        Variable("QSDTC", "Date/Time of Finding", core="Exp", origin="Derived"),
        Variable("QSDY", "Study Day of Finding", "integer", core="Perm", origin="Derived"),
    ]
    result = Dataset(
        "QS",
        "Questionnaires",
        "FINDINGS",
        "One record per questionnaire per question per time point per visit per subject",
        ("STUDYID", "USUBJID", "QSCAT", "QSTESTCD", "VISITNUM"),
        variables,
        frame,
    )
    result.tests = test_table  # type: ignore[attr-defined]
    return result
