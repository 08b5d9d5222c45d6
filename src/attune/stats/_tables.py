"""Private helpers shared by the secondary analyses: input checks, arm handling, plain-text tables.

Nothing here is public API; the analysis modules re-export :class:`StatsInputError`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd


class StatsInputError(ValueError):
    """The data or the arguments cannot be analysed; the message says why in user terms."""


def require_columns(df: pd.DataFrame, columns: Iterable[str]) -> None:
    """Raise :class:`StatsInputError` naming every column of ``columns`` missing from ``df``."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        available = ", ".join(map(str, df.columns))
        raise StatsInputError(f"column(s) not found: {', '.join(missing)} (available: {available})")


def numeric_column(df: pd.DataFrame, column: str) -> pd.Series:
    """``df[column]`` as float; blanks stay NaN, anything else non-numeric is an error."""
    raw = df[column]
    if pd.api.types.is_bool_dtype(raw):
        return raw.astype(float)
    converted = pd.to_numeric(raw, errors="coerce")
    bad = converted.isna() & raw.notna()
    if pd.api.types.is_object_dtype(raw) or pd.api.types.is_string_dtype(raw):
        bad &= raw.astype(str).str.strip() != ""
    if bool(bad.any()):
        first = raw[bad].iloc[0]
        raise StatsInputError(
            f"column {column!r} must be numeric; found {first!r} "
            f"({int(bad.sum())} non-numeric value(s))"
        )
    values = converted.astype(float)
    if bool(np.isinf(values).any()):
        raise StatsInputError(f"column {column!r} contains infinite values")
    return values


_TRUE = {"true", "t", "yes", "y", "1", "1.0"}
_FALSE = {"false", "f", "no", "n", "0", "0.0"}


def boolean_column(df: pd.DataFrame, column: str) -> pd.Series:
    """``df[column]`` as a nullable boolean (True/False/<NA>).

    Accepts booleans, 0/1 and the words true/false, yes/no (any case); blanks are missing.
    """
    out: list[bool | None] = []
    for value in df[column].tolist():
        if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
            out.append(None)  # pd.NA: a nullable boolean column, e.g. from Dataset.scores_wide
            continue
        if isinstance(value, bool | np.bool_):
            out.append(bool(value))
            continue
        text = str(value).strip().lower()
        if text == "" or text == "nan":
            out.append(None)
        elif text in _TRUE:
            out.append(True)
        elif text in _FALSE:
            out.append(False)
        else:
            raise StatsInputError(
                f"column {column!r} must be boolean (true/false, yes/no or 1/0); found {value!r}"
            )
    return pd.Series(out, index=df.index, dtype="boolean")


def resolve_arms(
    df: pd.DataFrame, arm: str, reference: str, treatment: str | None = None
) -> tuple[str, pd.Series]:
    """Check the arm column and return ``(treatment_level, labels)``.

    ``labels`` is the arm column as strings. The treatment level is ``treatment`` if given,
    otherwise the single level that is not ``reference``.
    """
    require_columns(df, [arm])
    if bool(df[arm].isna().any()):
        n_missing = int(df[arm].isna().sum())
        raise StatsInputError(f"arm column {arm!r} has {n_missing} missing value(s)")
    labels = df[arm].astype(str).str.strip()
    levels = sorted(set(labels))
    reference = str(reference)
    if reference not in levels:
        raise StatsInputError(
            f"reference arm {reference!r} not found in column {arm!r} (levels: {', '.join(levels)})"
        )
    others = [lv for lv in levels if lv != reference]
    if not others:
        raise StatsInputError(
            f"column {arm!r} has only one arm ({reference!r}); two arms are needed"
        )
    if treatment is None:
        if len(others) > 1:
            raise StatsInputError(
                f"column {arm!r} has more than two arms ({', '.join(levels)}); "
                "name the treatment arm"
            )
        return others[0], labels
    treatment = str(treatment)
    if treatment not in others:
        raise StatsInputError(
            f"treatment arm {treatment!r} not found in column {arm!r} (levels: {', '.join(levels)})"
        )
    return treatment, labels


def check_conf_level(conf_level: float) -> None:
    if not (isinstance(conf_level, int | float) and 0.0 < float(conf_level) < 1.0):
        raise StatsInputError(f"conf_level must be strictly between 0 and 1, got {conf_level!r}")


def json_safe(value: Any) -> Any:
    """Dataclasses, numpy scalars and tuples to plain JSON types; NaN and infinities to None."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: json_safe(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, str):
        return value
    if isinstance(value, Sequence | np.ndarray):
        return [json_safe(v) for v in value]
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        f = float(value)
        return f if math.isfinite(f) else None
    return value


def fmt(value: float | None, digits: int = 3) -> str:
    """A number for a text table: fixed decimals, ``-`` for missing, ``inf`` for infinity."""
    if value is None:
        return "-"
    f = float(value)
    if math.isnan(f):
        return "-"
    if math.isinf(f):
        return "inf" if f > 0 else "-inf"
    return f"{f:.{digits}f}"


def fmt_p(p: float | None) -> str:
    if p is None or math.isnan(float(p)):
        return "-"
    return "<0.0001" if p < 0.0001 else f"{p:.4f}"


def format_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain-text table with a rule under the header; columns padded to their widest cell."""
    widths = [len(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    lines = ["  ".join(h.ljust(widths[i]) for i, h in enumerate(headers)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    for row in rows:
        lines.append("  ".join(c.ljust(widths[i]) for i, c in enumerate(row)).rstrip())
    return "\n".join(lines)
