"""Checking a dataset read as text: types, ranges, keys, links between tables, scores.

Every check runs over whole columns; each kind of problem is reported for its first
``MAX_ROWS_PER_PROBLEM`` rows, then summarised with the number of further rows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from attune.dataset.errors import DatasetProblem
from attune.dataset.schema import ID_PATTERN, TABLE_ORDER, TABLES, Column, Table

MAX_ROWS_PER_PROBLEM = 10
Mask = npt.NDArray[np.bool_]


class _LazyText:
    """Cell texts fetched only for the rows a message needs."""

    def __init__(self, text: pd.Series) -> None:
        self.text = text

    def __getitem__(self, i: int) -> object:
        return self.text.iloc[i]


class Collector:
    def __init__(self, problems: list[DatasetProblem]) -> None:
        self.problems = problems

    def file(self, file: str, message: str, column: str | None = None) -> None:
        self.problems.append(DatasetProblem(file, None, column, message))

    def rows(
        self,
        file: str,
        mask: Mask | pd.Series,
        column: str | None,
        message: Callable[[int], str] | str,
    ) -> None:
        """Report the rows where ``mask`` is true (positions; reported 1-based)."""
        where = np.flatnonzero(np.asarray(mask, dtype=bool))
        for position in where[:MAX_ROWS_PER_PROBLEM]:
            text = message(int(position)) if callable(message) else message
            self.problems.append(DatasetProblem(file, int(position) + 1, column, text))
        if where.size > MAX_ROWS_PER_PROBLEM:
            sample = message(int(where[0])) if callable(message) else message
            self.problems.append(
                DatasetProblem(
                    file,
                    None,
                    column,
                    f"... and {where.size - MAX_ROWS_PER_PROBLEM} more rows with the same kind of "
                    f"problem as row {int(where[0]) + 1} ({sample})",
                )
            )


def _present(series: pd.Series) -> Mask:
    return series.notna().to_numpy(dtype=bool)


def _to_numbers(text: pd.Series) -> pd.Series:
    """Numbers as Float64 (NA where not a number): Arrow's parser first, pandas' when it fails."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        parsed = pc.cast(pa.array(text.astype("string[pyarrow]")), pa.float64())
        return pd.Series(pd.array(parsed.to_pandas(types_mapper=pd.ArrowDtype)).astype("Float64"))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, TypeError):
        return pd.to_numeric(text, errors="coerce").astype("Float64")


def _as_category(raw: pd.Series) -> tuple[npt.NDArray[np.int64], pd.Index]:
    """Codes (-1 = empty) and the distinct stripped texts: checks then run per distinct value."""
    cat = raw.astype("category")
    cats = pd.Index(cat.cat.categories.astype(str)).str.strip()
    codes: npt.NDArray[np.int64] = np.asarray(cat.cat.codes, dtype=np.int64)
    if cats.has_duplicates or (cats == "").any():  # values differing only by spaces, or blanks
        remap, uniques = pd.factorize(cats)
        blank = np.asarray(pd.Index(uniques) == "", dtype=bool)
        remap = np.where(blank[remap], -1, remap)
        codes = np.where(codes >= 0, remap[np.maximum(codes, 0)], -1).astype(np.int64)
        cats = pd.Index(uniques)
    return codes, cats


def _convert_column(
    column: Column, raw: pd.Series, file: str, out: Collector
) -> tuple[pd.Series, Mask]:
    """The typed column and the mask of cells that hold a valid value."""
    name = column.name
    bad: Mask
    if column.type in ("id", "choice", "text"):
        codes, cats = _as_category(raw)
        given = codes >= 0
        if not column.nullable:
            out.rows(file, ~given, name, "missing value (the column is required)")

        def shown(i: int) -> str:
            return repr(str(cats[codes[i]]))

        if column.type == "id":
            ok_cat = np.asarray([*cats.str.fullmatch(ID_PATTERN), True], dtype=bool)
            bad = given & ~ok_cat[codes]
            out.rows(
                file,
                bad,
                name,
                lambda i: f"{shown(i)} is not an identifier (letters, digits, _ . -)",
            )
        elif column.type == "choice":
            ok_cat = np.asarray([*cats.isin(column.choices), True], dtype=bool)
            bad = given & ~ok_cat[codes]
            allowed = ", ".join(column.choices)
            out.rows(file, bad, name, lambda i: f"{shown(i)} is not one of {allowed}")
        else:
            bad = np.zeros(len(codes), dtype=bool)
        kept = np.where(bad, -1, codes)
        typed: pd.Series = pd.Series(pd.Categorical.from_codes(kept, categories=cats))
        if column.type == "text" or len(codes) < 100_000:
            typed = typed.astype(object).where(kept >= 0, None)
        return typed, given & ~bad
    if column.type in ("int", "float"):
        text = raw  # read with empty cells as missing; the number parser ignores spaces
        given = _present(raw) & (raw != "").fillna(False).to_numpy(dtype=bool)
    else:
        text = raw.astype("string").str.strip()
        text = text.mask(text == "")
        given = _present(text)
    if not column.nullable:
        out.rows(file, ~given, name, "missing value (the column is required)")
    values = _LazyText(text)
    if column.type in ("date", "datetime"):
        form = "%Y-%m-%d" if column.type == "date" else "%Y-%m-%dT%H:%M"
        typed = pd.to_datetime(text, format=form, errors="coerce")
        bad = given & typed.isna().to_numpy()
        shape = "YYYY-MM-DD" if column.type == "date" else "YYYY-MM-DDTHH:MM"
        out.rows(file, bad, name, lambda i: f"{values[i]!r} is not a {column.type} ({shape})")
    elif column.type in ("int", "float"):
        numbers = _to_numbers(raw.where(pd.Series(given, index=raw.index)))
        number_ok = numbers.notna().to_numpy(dtype=bool).copy()
        if column.type == "int":
            whole = (numbers.fillna(0) % 1 == 0).to_numpy(dtype=bool)
            number_ok &= whole
        bad = given & ~number_ok
        kind = "an integer" if column.type == "int" else "a number"
        out.rows(file, bad, name, lambda i: f"{values[i]!r} is not {kind}")
        filled = numbers.fillna(np.nan).to_numpy(dtype=float)
        low = column.min if column.min is not None else -np.inf
        high = column.max if column.max is not None else np.inf
        with np.errstate(invalid="ignore"):
            out_of_range = given & ~bad & ((filled < low) | (filled > high))
        out.rows(
            file,
            out_of_range,
            name,
            lambda i: f"{values[i]} is out of range ({column.min:g} to {column.max:g})",
        )
        bad = bad | out_of_range
        typed = numbers.mask(pd.Series(bad, index=numbers.index))
        if column.type == "int":
            typed = typed.astype("Int64")
    else:  # bool
        lowered = text.str.lower()
        mapped = lowered.map({"true": True, "false": False}).astype("boolean")
        bad = given & mapped.isna().to_numpy()
        out.rows(file, bad, name, lambda i: f"{values[i]!r} is not true or false")
        typed = mapped
    return typed.reset_index(drop=True), given & ~bad


def _convert_table(
    spec: Table,
    raw: pd.DataFrame,
    file: str,
    blinded: bool,
    extra_allowed: list[str],
    out: Collector,
) -> tuple[pd.DataFrame, dict[str, Mask]]:
    expected = spec.column_names(blinded)
    frame = raw.reset_index(drop=True)
    for name in frame.columns:
        if name in expected or (spec.open_columns and name in extra_allowed):
            continue
        if blinded and name in {c.name for c in spec.columns if c.unblinded_only}:
            out.file(file, "a blinded dataset must not have this column (it reveals the arm)", name)
        else:
            out.file(file, "unknown column", name)
    typed: dict[str, Any] = {}
    valid: dict[str, Mask] = {}
    n = len(frame)
    for name in expected:
        column = spec.column(name)
        if name not in frame and column.added_in and column.nullable:
            typed[name] = pd.Series([None] * n, dtype=object)  # written before the column existed
            valid[name] = np.zeros(n, dtype=bool)
            continue
        if name not in frame:
            if not column.nullable:  # a nullable column added later may be absent (older folders)
                out.file(file, "missing required column", name)
            typed[name] = pd.Series([None] * n, dtype=object)
            valid[name] = np.zeros(n, dtype=bool)
            continue
        typed[name], valid[name] = _convert_column(column, frame[name], file, out)
    for name in extra_allowed:
        if spec.open_columns and name in frame:
            typed[name] = frame[name].astype(object).where(frame[name].notna(), None)
            valid[name] = _present(frame[name])
    return pd.DataFrame(typed), valid


def _empty(spec: Table, blinded: bool) -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series([], dtype=object) for name in spec.column_names(blinded)})


def _duplicates(spec: Table, frame: pd.DataFrame, file: str, out: Collector) -> None:
    key = list(spec.key)
    if frame.empty or any(k not in frame for k in key):
        return
    dup = frame.duplicated(subset=key, keep="first").to_numpy()
    if dup.any():
        keys = frame[key].astype(str)
        first = keys.reset_index().drop_duplicates(subset=key, keep="first")
        first_row = {tuple(r[1:]): int(r[0]) + 1 for r in first.itertuples(index=False)}
        rows = keys.to_numpy()

        def message(i: int) -> str:
            value = tuple(rows[i])
            return (
                f"duplicate {'/'.join(key)} {'/'.join(value)} (first at row {first_row.get(value)})"
            )

        out.rows(file, dup, ",".join(key), message)


def _membership(
    file: str, frame: pd.DataFrame, column: str, allowed: set[str], what: str, out: Collector
) -> None:
    values = frame[column]
    given = _present(values)
    unknown = given & ~values.isin(list(allowed)).to_numpy(dtype=bool)
    data = values.to_numpy(dtype=object)
    out.rows(file, unknown, column, lambda i: f"unknown {what} {data[i]!r}")


def _before_1_2(metadata: dict[str, Any]) -> bool:
    return str(metadata.get("format_version", "")) in ("1.0", "1.1")


def validate_tables(
    raw: dict[str, pd.DataFrame | None],
    files: dict[str, str],
    metadata: dict[str, Any],
    protocol: Any,
    problems: list[DatasetProblem],
) -> dict[str, pd.DataFrame]:
    from attune.instruments import get_instrument
    from attune.instruments.errors import UnknownInstrumentError

    out = Collector(problems)
    blinded = metadata.get("blinded") is True
    strat = [s for s in metadata.get("stratification", []) if isinstance(s, str)]
    protocol = _resolve_protocol(metadata, protocol, out)

    typed: dict[str, pd.DataFrame] = {}
    valid: dict[str, dict[str, Mask]] = {}
    for name in TABLE_ORDER:
        spec = TABLES[name]
        frame = raw.get(name)
        if frame is None:
            typed[name] = _empty(spec, blinded)
            valid[name] = {c: np.zeros(0, dtype=bool) for c in typed[name].columns}
            continue
        if blinded and name == "doses" and _before_1_2(metadata) and "amount" in frame:
            # Blinded datasets before format 1.2 carried dose amounts, which in protocols with
            # arm-specific doses reveal the arm: they are read without them.
            frame = frame.drop(columns=["amount"])
        typed[name], valid[name] = _convert_table(spec, frame, files[name], blinded, strat, out)
        _duplicates(spec, typed[name], files[name], out)

    people = typed["participants"]
    pfile = files["participants"]
    known_people = set(people["participant_id"].dropna().astype(str))
    for name in TABLE_ORDER:
        if TABLES[name].child and "participant_id" in typed[name]:
            _membership(
                files[name], typed[name], "participant_id", known_people, "participant", out
            )

    if protocol is not None:
        visit_ids = set(protocol.visit_ids)
        for name, column in (
            ("participants", "discontinued_visit"),
            ("visits", "visit_id"),
            ("item_responses", "visit_id"),
            ("scores", "visit_id"),
            ("doses", "visit_id"),
            ("vitals", "visit_id"),
            ("adverse_events", "visit_id"),
            ("deviations", "visit_id"),
        ):
            _membership(files[name], typed[name], column, visit_ids, "visit", out)
        if not blinded and "arm" in people:
            arms = {arm.id for arm in protocol.arms}
            _membership(pfile, people, "arm", arms, "arm", out)

    _check_participants(people, pfile, blinded, out)
    _check_visits(typed["visits"], files["visits"], protocol, out)
    _check_children_visits(typed, files, out)
    _check_doses(typed, files, protocol, blinded, out)
    ae = typed["adverse_events"]
    if not ae.empty:
        early = (ae["resolved_date"] < ae["onset_date"]).fillna(False).to_numpy(dtype=bool)
        out.rows(files["adverse_events"], early, "resolved_date", "resolved before its onset")

    items = typed["item_responses"]
    item_ok = _check_items(
        items,
        files["item_responses"],
        valid["item_responses"],
        out,
        get_instrument,
        UnknownInstrumentError,
    )
    _check_scores(typed, files, item_ok, out)
    return typed


def _resolve_protocol(metadata: dict[str, Any], protocol: Any, out: Collector) -> Any:
    from attune.protocol import get_protocol
    from attune.protocol.sourcefile import SourceError

    info = metadata.get("protocol")
    if not isinstance(info, dict) or not isinstance(info.get("id"), str):
        out.file("dataset.json", "missing protocol id", "protocol")
        return protocol
    if protocol is None:
        try:
            protocol = get_protocol(info["id"])
        except SourceError:
            out.file(
                "dataset.json",
                f"protocol {info['id']!r} is not a shipped protocol; pass it to load_dataset",
                "protocol",
            )
            return None
    if protocol.id != info["id"]:
        out.file(
            "dataset.json",
            f"dataset is for protocol {info['id']!r}, not {protocol.id!r}",
            "protocol",
        )
    elif str(info.get("version")) != protocol.version:
        out.file(
            "dataset.json",
            f"dataset is for version {info.get('version')!r} of {protocol.id}, "
            f"the protocol given is version {protocol.version!r}",
            "protocol",
        )
    return protocol


def _check_participants(people: pd.DataFrame, file: str, blinded: bool, out: Collector) -> None:
    if people.empty:
        return
    status = people["status"].astype(object)
    failed = (status == "screen_failed").to_numpy(dtype=bool)
    # A discontinued participant may have left before randomisation (then without a date or arm).
    in_trial = status.isin(["randomised", "completed"]).to_numpy(dtype=bool)
    before_randomisation = status.isin(["screening", "screen_failed", "enrolled"]).to_numpy(
        dtype=bool
    )
    reason = _present(people["screen_fail_reason"])
    out.rows(file, failed & ~reason, "screen_fail_reason", "a screen failure needs a reason")
    out.rows(file, ~failed & reason, "screen_fail_reason", "only a screen failure has a reason")
    randomised = _present(people["randomised_on"])
    out.rows(
        file, before_randomisation & randomised, "randomised_on", "only for randomised participants"
    )
    out.rows(file, in_trial & ~randomised, "randomised_on", "missing for a randomised participant")
    if not blinded and "arm" in people:
        arm = _present(people["arm"])
        out.rows(file, before_randomisation & arm, "arm", "only randomised participants have one")
        out.rows(file, in_trial & ~arm, "arm", "missing for a randomised participant")
        out.rows(file, randomised & ~in_trial & ~arm, "arm", "missing for a randomised participant")
        out.rows(file, arm & ~randomised, "randomised_on", "missing for a participant with an arm")
    stopped = (status == "discontinued").to_numpy(dtype=bool)
    for column in ("discontinued_reason", "discontinued_visit"):
        given = _present(people[column])
        out.rows(file, stopped & ~given, column, "missing for a discontinued participant")
        out.rows(file, ~stopped & given, column, "only a discontinued participant has one")
    early = (people["randomised_on"] < people["enrolled_on"]).fillna(False).to_numpy(dtype=bool)
    out.rows(file, early, "randomised_on", "before the enrolment date")


def _check_visits(visits: pd.DataFrame, file: str, protocol: Any, out: Collector) -> None:
    if visits.empty:
        return
    order = (visits["window_start"] > visits["target_date"]) | (
        visits["target_date"] > visits["window_end"]
    )
    out.rows(
        file,
        order.fillna(False).to_numpy(dtype=bool),
        "target_date",
        "must lie inside window_start .. window_end",
    )
    held = _present(visits["actual_date"])
    completed = (visits["status"] == "completed").to_numpy(dtype=bool)
    out.rows(file, completed & ~held, "actual_date", "missing for a completed visit")
    out.rows(file, ~completed & held, "actual_date", "given for a visit that was not held")
    if protocol is not None:
        before = {v.id: v.window.before for v in protocol.visits}
        after = {v.id: v.window.after for v in protocol.visits}
        ids = visits["visit_id"]
        lead = (visits["target_date"] - visits["window_start"]).dt.days
        lag = (visits["window_end"] - visits["target_date"]).dt.days
        wrong = (lead != ids.map(before)) | (lag != ids.map(after))
        wrong = wrong.fillna(False) & ids.isin(list(before))
        data = ids.to_numpy(dtype=object)
        out.rows(
            file,
            wrong.to_numpy(dtype=bool),
            "window_start",
            lambda i: (
                f"the window is not the protocol's for {data[i]} "
                f"(-{before[data[i]]}/+{after[data[i]]} days)"
            ),
        )


def _visit_index(frame: pd.DataFrame) -> pd.MultiIndex:
    return pd.MultiIndex.from_arrays(
        [frame["participant_id"].astype(object), frame["visit_id"].astype(object)]
    )


def _check_children_visits(
    typed: dict[str, pd.DataFrame], files: dict[str, str], out: Collector
) -> None:
    visits = typed["visits"]
    if visits.empty:
        return
    held = _visit_index(visits[(visits["status"] == "completed").to_numpy(dtype=bool)])
    for name in ("item_responses", "doses", "vitals"):
        frame = typed[name]
        if frame.empty:
            continue
        keys = _visit_index(frame)
        ok = frame["participant_id"].notna() & frame["visit_id"].notna()
        missing = ok.to_numpy(dtype=bool) & ~keys.isin(held)
        pairs = np.array(
            [f"{p}\x1f{v}" for p, v in keys[np.flatnonzero(missing)[:MAX_ROWS_PER_PROBLEM]]],
            dtype=object,
        )
        lookup = dict(zip(np.flatnonzero(missing)[:MAX_ROWS_PER_PROBLEM], pairs, strict=True))
        message = _no_visit_lookup(lookup)
        out.rows(files[name], missing, "visit_id", message)


def _no_visit_lookup(lookup: dict[int, str]) -> Callable[[int], str]:
    def message(i: int) -> str:
        if i not in lookup:
            return "no completed visit of this participant in visits"
        participant, visit = lookup[i].split("\x1f")
        return f"no completed visit {visit} of participant {participant} in visits"

    return message


def _check_doses(
    typed: dict[str, pd.DataFrame],
    files: dict[str, str],
    protocol: Any,
    blinded: bool,
    out: Collector,
) -> None:
    doses = typed["doses"]
    if doses.empty or protocol is None:
        return
    file = files["doses"]
    sessions = set(protocol.dosing.sessions) if protocol.dosing else set()
    not_session = _present(doses["visit_id"]) & ~doses["visit_id"].isin(list(sessions)).to_numpy(
        dtype=bool
    )
    out.rows(
        file, not_session, "visit_id", "doses are given only in the protocol's dosing sessions"
    )
    if blinded or "product" not in doses or protocol.dosing is None:
        return
    people = typed["participants"]
    if "arm" not in people:
        return
    arm_of = dict(zip(people["participant_id"].astype(str), people["arm"], strict=True))
    placebo = set(protocol.dosing.placebo_arms)
    arms = doses["participant_id"].astype(str).map(arm_of)
    expected = np.where(arms.isin(list(placebo)), "placebo", "active")
    wrong = _present(doses["product"]) & arms.notna().to_numpy(dtype=bool)
    wrong &= doses["product"].to_numpy(dtype=object) != expected
    out.rows(
        file, wrong, "product", lambda i: f"does not match the participant's arm ({arms.iloc[i]})"
    )


def _check_items(
    items: pd.DataFrame,
    file: str,
    valid: dict[str, Mask],
    out: Collector,
    get_instrument: Any,
    unknown_error: Any,
) -> Mask:
    """Unknown instruments, unknown items and refused codes; returns the rows fit for scoring."""
    n = len(items)
    ok = np.ones(n, dtype=bool)
    for column in ("participant_id", "visit_id", "instrument", "item"):
        ok &= valid.get(column, np.zeros(n, dtype=bool))
    ok &= valid.get("value", np.zeros(n, dtype=bool)) | ~_present(items["value"])
    if n == 0:
        return ok
    instruments = items["instrument"].astype("category")
    instrument_codes = instruments.cat.codes.to_numpy()
    number = items["item"].astype("Float64").fillna(-1).to_numpy(dtype=float).astype(np.int64)
    value = items["value"].astype("Float64").fillna(-1).to_numpy(dtype=float).astype(np.int64)
    has_value = _present(items["value"])
    for position, instrument_id in enumerate(instruments.cat.categories):
        rows = instrument_codes == position
        try:
            definition = get_instrument(str(instrument_id))
        except unknown_error:
            out.rows(file, rows, "instrument", f"unknown instrument {instrument_id!r}")
            ok &= ~rows
            continue
        top = max(definition.item_numbers)
        known = np.zeros(top + 2, dtype=bool)
        known[list(definition.item_numbers)] = True
        slot = np.clip(number, 0, top + 1)
        bad_item = rows & valid.get("item", rows) & ~known[slot]
        span = _ranges(definition.item_numbers)

        def unknown_item(i: int, d: Any = definition, s: str = span) -> str:
            return f"{d.id} has no item {number[i]} (items {s})"

        out.rows(file, bad_item, "item", unknown_item)
        ok &= ~bad_item
        max_code = max(max(definition.codes_for(k)) for k in definition.item_numbers)
        allowed = np.zeros((top + 2, max_code + 2), dtype=bool)
        for k in definition.item_numbers:
            allowed[k, list(definition.codes_for(k))] = True
        check = rows & ~bad_item & has_value & valid.get("value", rows)
        code = np.clip(value, 0, max_code + 1)
        bad_code = check & ~allowed[slot, code] | (check & (value < 0))

        def refused(i: int, d: Any = definition) -> str:
            allowed_codes = _ranges(d.codes_for(int(number[i])))
            return f"{value[i]} is not an allowed answer to {d.id} item {number[i]} (allowed {allowed_codes})"

        out.rows(
            file,
            bad_code,
            "value",
            refused,
        )
        ok &= ~bad_code
    return ok


def _ranges(numbers: tuple[int, ...] | list[int]) -> str:
    values = sorted(numbers)
    parts: list[str] = []
    start = prev = values[0]
    for v in [*values[1:], None]:
        if v is not None and v == prev + 1:
            prev = v
            continue
        parts.append(f"{start}" if start == prev else f"{start}-{prev}")
        if v is not None:
            start = prev = v
    return ", ".join(parts)


def _joint_codes(
    columns: list[tuple[pd.Series, pd.Series]],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """One integer key per row of two tables, equal exactly when all key columns are equal
    (-1 where any is missing)."""
    left_key = np.zeros(len(columns[0][0]), dtype=np.int64)
    right_key = np.zeros(len(columns[0][1]), dtype=np.int64)
    left_bad = np.zeros(left_key.size, dtype=bool)
    right_bad = np.zeros(right_key.size, dtype=bool)
    for left, right in columns:
        a = left.astype(str).where(left.notna()).astype("category")
        b = right.astype(str).where(right.notna()).astype("category")
        cats = pd.Index(a.cat.categories).union(pd.Index(b.cat.categories))
        code_a = np.asarray(pd.Categorical(a, categories=cats).codes, dtype=np.int64)
        code_b = np.asarray(pd.Categorical(b, categories=cats).codes, dtype=np.int64)
        left_bad |= code_a < 0
        right_bad |= code_b < 0
        left_key = left_key * (len(cats) + 1) + code_a
        right_key = right_key * (len(cats) + 1) + code_b
    return np.where(left_bad, -1, left_key), np.where(right_bad, -1, right_key)


def _canonical(series: pd.Series) -> npt.NDArray[np.object_]:
    """Score values as canonical text (numbers without trailing zeros, words lower-case)."""
    from attune.dataset.scoring import format_number

    cat = series.astype("category")
    texts = pd.Index(cat.cat.categories.astype(str)).str.strip().str.lower()
    numbers = np.asarray(pd.to_numeric(texts, errors="coerce"), dtype=float)
    canon = [
        t if np.isnan(n) else format_number(float(n)) for t, n in zip(texts, numbers, strict=True)
    ]
    canon = [None if c == "" else c for c in canon]
    lookup = np.array([*canon, None], dtype=object)
    result: npt.NDArray[np.object_] = lookup[cat.cat.codes.to_numpy()]
    return result


def _check_scores(
    typed: dict[str, pd.DataFrame], files: dict[str, str], item_ok: Mask, out: Collector
) -> None:
    """Stored scores must equal a re-scoring of the item responses."""
    from attune.dataset.scoring import score_item_responses

    items = typed["item_responses"]
    stored = typed["scores"].reset_index(drop=True)
    file = files["scores"]
    key = ["participant_id", "visit_id", "instrument", "kind", "name"]
    if any(k not in stored for k in [*key, "value"]):
        return
    usable = items[item_ok] if len(items) else items
    expected = score_item_responses(usable) if len(usable) else None
    if expected is None or expected.empty:
        expected = pd.DataFrame({k: pd.Series([], dtype=object) for k in [*key, "value"]})
    expected = expected.reset_index(drop=True)
    s_key, e_key = _joint_codes([(stored[k], expected[k]) for k in key])
    position = np.asarray(pd.Index(e_key).get_indexer(pd.Index(s_key)), dtype=np.int64)
    position[s_key < 0] = -1
    # forms with a refused or unreadable answer cannot be re-scored: their scores are left alone
    skipped = np.zeros(len(stored), dtype=bool)
    if len(items) and (~item_ok).any():
        form = ["participant_id", "visit_id", "instrument"]
        bad = items[~item_ok]
        stored_form, bad_form = _joint_codes([(stored[k], bad[k]) for k in form])
        skipped = np.isin(stored_form, bad_form[bad_form >= 0])

    def label(frame: pd.DataFrame, i: int) -> str:
        parts = ["participant_id", "visit_id", "instrument", "name"]
        return "/".join(str(frame[k].iloc[i]) for k in parts)

    extra = (position < 0) & ~skipped
    out.rows(
        file,
        extra,
        "name",
        lambda i: f"no such score from re-scoring item_responses ({label(stored, i)})",
    )
    matched = position >= 0
    stored_value = _canonical(stored["value"])
    expected_value = _canonical(expected["value"])
    other = np.full(len(stored), None, dtype=object)
    other[matched] = expected_value[position[matched]]
    same = (pd.Series(stored_value).fillna("\x00") == pd.Series(other).fillna("\x00")).to_numpy(
        dtype=bool
    )
    differs = matched & ~same & ~skipped
    out.rows(
        file,
        differs,
        "value",
        lambda i: (
            f"stored {_show(stored_value[i])}, re-scoring item_responses gives "
            f"{_show(other[i])} ({label(stored, i)})"
        ),
    )
    found = np.zeros(len(expected), dtype=bool)
    found[position[matched]] = True
    absent = np.flatnonzero(~found)
    for i in absent[:MAX_ROWS_PER_PROBLEM]:
        out.file(file, f"missing score {label(expected, int(i))} (computed from item_responses)")
    if absent.size > MAX_ROWS_PER_PROBLEM:
        out.file(file, f"... and {absent.size - MAX_ROWS_PER_PROBLEM} more missing scores")


def _show(value: object) -> str:
    return (
        "(empty)" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)
    )
