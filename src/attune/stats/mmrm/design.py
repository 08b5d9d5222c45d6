"""From a long DataFrame and an R-style formula to the arrays the engine needs.

Factors (string, categorical or boolean columns, and always the visit column) get treatment
coding with the reference level first, as R's ``contr.treatment`` and SAS's GLM coding (SAS
drops the *last* level; set ``reference`` to get the same estimates). The design is built with
formulaic; its model spec is kept so that reference grids (LS means) are coded identically.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from attune.stats.mmrm.errors import (
    DuplicateVisitError,
    EmptyVisitError,
    MMRMDataError,
    RankDeficientError,
)

if TYPE_CHECKING:  # pandas is imported by the functions that read a DataFrame (docs/mmrm.md)
    import pandas as pd

FloatArray = NDArray[np.float64]


def natural_key(value: object) -> tuple[Any, ...]:
    """Sort key that orders 'VIS2' before 'VIS10' and numbers numerically."""
    if isinstance(value, int | float | np.integer | np.floating):
        return (0, float(value), "")
    parts = re.split(r"(\d+)", str(value))
    return (1, 0.0, tuple((0, int(s), "") if s.isdigit() else (1, 0, s) for s in parts))


@dataclass(frozen=True)
class Term:
    """One model term: its label, the factor and numeric variables in it, its columns."""

    label: str
    factors: tuple[str, ...]
    numerics: tuple[str, ...]
    columns: tuple[int, ...]


@dataclass(frozen=True)
class Design:
    """The coded model: fixed-effects matrix, outcome, subject/visit/group codes, metadata."""

    x: FloatArray
    y: FloatArray
    column_names: tuple[str, ...]
    terms: tuple[Term, ...]
    subject_codes: NDArray[np.intp]
    visit_codes: NDArray[np.intp]
    group_of_subject: NDArray[np.intp]
    subject_levels: tuple[str, ...]
    visit_levels: tuple[str, ...]
    group_levels: tuple[str, ...]
    factor_levels: dict[str, tuple[str, ...]]
    numeric_means: dict[str, float]
    model_spec: Any
    outcome: str
    visit: str
    n_dropped: int


def _split_formula(formula: str) -> tuple[str, str]:
    if formula.count("~") != 1:
        raise MMRMDataError(f"formula {formula!r} must have the form 'outcome ~ terms'")
    lhs, rhs = (s.strip() for s in formula.split("~"))
    if not lhs or not rhs:
        raise MMRMDataError(f"formula {formula!r} must have the form 'outcome ~ terms'")
    return lhs, rhs


_NAME = re.compile(r"[A-Za-z_.][A-Za-z0-9_.]*|`[^`]+`")


def _rhs_variables(rhs: str) -> list[str]:
    names: list[str] = []
    for match in _NAME.finditer(rhs):
        if rhs[match.end() : match.end() + 1] == "(":  # a function such as log( or C(
            continue
        tok = match.group(0).strip("`")
        if tok not in names and not tok[0].isdigit():
            names.append(tok)
    return names


def _is_factor(series: pd.Series[Any]) -> bool:
    import pandas as pd

    return not pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)


_IDENT = re.compile(r"^[A-Za-z_.][A-Za-z0-9_.]*$")


@dataclass(frozen=True)
class FastSpec:
    """A parsed hierarchical formula: intercept flag and terms as ordered variable tuples.

    Used instead of formulaic (which costs tens of milliseconds per call) when the right-hand
    side uses only ``+``, ``*``, ``:``, ``0``/``1``/``-1`` and plain column names, and every
    factor in every term has its margin (the term without that factor) in the model, so all
    factors get treatment (reduced) coding. Column names and order match formulaic's.
    """

    intercept: bool
    terms: tuple[tuple[str, ...], ...]


def parse_fast(rhs: str) -> FastSpec | None:
    """Parse ``rhs`` for the fast path, or return None to use formulaic."""
    if any(ch in rhs for ch in "()^%/|`\"'~"):
        return None
    intercept = True
    terms: list[tuple[str, ...]] = []
    text = rhs.replace("-", "+-")
    for raw in text.split("+"):
        tok = raw.strip()
        if not tok:
            continue
        if tok in ("-1", "- 1", "-0", "0"):
            intercept = False
            continue
        if tok == "1":
            intercept = True
            continue
        if tok.startswith("-"):
            return None
        expanded: list[tuple[str, ...]] = [()]
        for part in tok.split("*"):
            names = tuple(n.strip() for n in part.split(":"))
            if not all(_IDENT.match(n) for n in names):
                return None
            expanded = expanded + [e + names for e in expanded]
        for t in expanded[1:]:
            uniq = tuple(dict.fromkeys(t))
            if not any(set(uniq) == set(u) for u in terms):
                terms.append(uniq)
    terms.sort(key=len)
    return FastSpec(intercept, tuple(terms))


def _fast_ok(spec: FastSpec, factors: set[str]) -> bool:
    present = [frozenset(t) for t in spec.terms]
    if spec.intercept:
        present.append(frozenset())
    for t in spec.terms:
        for v in t:
            if v in factors and frozenset(set(t) - {v}) not in present:
                return False
    return True


def encode_fast(
    spec: FastSpec,
    columns: dict[str, NDArray[Any]],
    factor_levels: dict[str, tuple[str, ...]],
    n: int,
) -> tuple[FloatArray, list[str], list[tuple[str, list[int]]]]:
    """Model matrix, column names and term -> columns for the fast path.

    ``columns`` holds level codes (int, reference = 0) for factors and floats for numerics.
    """
    blocks: list[FloatArray] = []
    names: list[str] = []
    term_idx: list[tuple[str, list[int]]] = []
    col = 0
    if spec.intercept:
        blocks.append(np.ones((n, 1)))
        names.append("Intercept")
        term_idx.append(("1", [0]))
        col = 1
    for term in spec.terms:
        mat = np.ones((n, 1))
        tnames = [""]
        for v in term:
            if v in factor_levels:
                levels = factor_levels[v]
                codes = columns[v]
                b = (codes[:, None] == np.arange(1, len(levels))[None, :]).astype(np.float64)
                vn = [f"{v}[T.{lv}]" for lv in levels[1:]]
            else:
                b = np.asarray(columns[v], dtype=np.float64)[:, None]
                vn = [v]
            mat = np.einsum("ni,nj->nij", b, mat).reshape(n, -1)
            tnames = [f"{a}:{c}" if a else c for c in vn for a in tnames]
        blocks.append(mat)
        names.extend(tnames)
        term_idx.append((":".join(term), list(range(col, col + mat.shape[1]))))
        col += mat.shape[1]
    x = np.concatenate(blocks, axis=1) if blocks else np.zeros((n, 0))
    return x, names, term_idx


def build_design(
    data: pd.DataFrame,
    formula: str,
    *,
    subject: str,
    visit: str,
    group: str | None,
    reference: dict[str, str] | None,
    visit_levels: Sequence[str] | None,
) -> Design:
    """Validate the data and code the model (see module docstring)."""
    import pandas as pd

    if not isinstance(data, pd.DataFrame):
        raise MMRMDataError("data must be a pandas DataFrame")
    outcome, rhs = _split_formula(formula)
    outcome = outcome.strip("`")
    reference = dict(reference or {})
    all_vars = _rhs_variables(rhs)
    rhs_vars = [v for v in all_vars if v in data.columns]
    unknown = [v for v in all_vars if v not in data.columns]
    missing_cols = [c for c in [outcome, subject, visit, *unknown] if c not in data.columns]
    if group is not None and group not in data.columns:
        missing_cols.append(group)
    if missing_cols:
        raise MMRMDataError(
            "column(s) not in the data: "
            + ", ".join(repr(c) for c in dict.fromkeys(missing_cols))
            + f"; available: {', '.join(map(str, data.columns))}"
        )
    for var in reference:
        if var not in data.columns:
            raise MMRMDataError(f"reference level given for unknown column {var!r}")
    cols = list(dict.fromkeys([outcome, subject, visit, *rhs_vars] + ([group] if group else [])))
    yser = data[outcome]
    if not pd.api.types.is_numeric_dtype(yser) or pd.api.types.is_bool_dtype(yser):
        raise MMRMDataError(f"outcome {outcome!r} must be numeric")
    keep = np.ones(len(data), dtype=bool)
    for c in cols:
        keep &= data[c].notna().to_numpy()
    n_dropped = int(len(data) - keep.sum())
    if not keep.any():
        raise MMRMDataError("no rows left after dropping rows with missing values")
    df = data.loc[keep, cols] if n_dropped else data.loc[:, cols]

    # ---- visits
    vis_raw = df[visit]
    if visit_levels is None:
        all_vis = pd.unique(data[visit].dropna().astype(str))
        vlevels = sorted(all_vis.tolist(), key=natural_key)
    else:
        vlevels = [str(v) for v in visit_levels]
        if len(set(vlevels)) != len(vlevels):
            raise MMRMDataError("visit_levels contains duplicates")
    visit_codes = np.asarray(pd.Index(vlevels).get_indexer(vis_raw.astype(str)), dtype=np.intp)
    if np.any(visit_codes < 0):
        extra = sorted(set(vis_raw.astype(str)[visit_codes < 0]), key=natural_key)
        raise MMRMDataError(
            f"visit value(s) {', '.join(extra)} of column {visit!r} are not in visit_levels"
        )
    present = np.bincount(visit_codes, minlength=len(vlevels))
    empty = [v for v, c in zip(vlevels, present, strict=True) if c == 0]
    if empty:
        raise EmptyVisitError(
            f"visit(s) {', '.join(empty)} have no non-missing {outcome!r} value, so their "
            "variance cannot be estimated; drop them from visit_levels or from the data"
        )

    # ---- subjects and duplicates
    subj_codes, subj_levels = pd.factorize(df[subject], sort=False)
    subj_codes = np.asarray(subj_codes, dtype=np.intp)
    key = subj_codes * len(vlevels) + visit_codes
    counts = np.bincount(key, minlength=len(subj_levels) * len(vlevels))
    if np.any(counts > 1):
        bad = int(np.flatnonzero(counts > 1)[0])
        raise DuplicateVisitError(
            f"subject {subj_levels[bad // len(vlevels)]!s} has more than one row at visit "
            f"{vlevels[bad % len(vlevels)]} ({int((counts[counts > 1]).sum())} rows at "
            "duplicated subject-visits in total); each subject may have at most one outcome "
            "per visit"
        )

    # ---- factors and their reference levels
    factor_levels: dict[str, tuple[str, ...]] = {}
    numeric_means: dict[str, float] = {}
    encoded: dict[str, NDArray[Any]] = {}
    for var in rhs_vars:
        if var == visit:
            levels = list(vlevels)
        elif _is_factor(df[var]):
            levels = sorted(pd.unique(df[var].astype(str)).tolist(), key=natural_key)
        else:
            encoded[var] = df[var].to_numpy(dtype=np.float64)
            numeric_means[var] = float(encoded[var].mean())
            if var in reference:
                raise MMRMDataError(f"column {var!r} is numeric; a reference level needs a factor")
            continue
        if var in reference:
            ref = str(reference[var])
            if ref not in levels:
                raise MMRMDataError(
                    f"reference level {ref!r} is not a level of {var!r} "
                    f"(levels: {', '.join(levels)})"
                )
            levels.remove(ref)
            levels.insert(0, ref)
        factor_levels[var] = tuple(levels)
        if var == visit:
            order = np.array([vlevels.index(lv) for lv in levels])
            inv = np.empty_like(order)
            inv[order] = np.arange(len(order))
            encoded[var] = inv[visit_codes]
        else:
            encoded[var] = np.asarray(
                pd.Categorical(df[var].astype(str), categories=levels).codes, dtype=np.intp
            )

    # ---- design matrix
    fast = parse_fast(rhs)
    spec: Any
    if fast is not None and _fast_ok(fast, set(factor_levels)):
        missing_terms = [v for t in fast.terms for v in t if v not in encoded]
        if missing_terms:
            raise MMRMDataError(f"column(s) not in the data: {', '.join(missing_terms)}")
        x, name_list, term_idx = encode_fast(fast, encoded, factor_levels, len(df))
        names = tuple(name_list)
        spec = fast
        raw_terms = [
            (lab, tuple(lab.split(":")) if lab != "1" else (), idx) for lab, idx in term_idx
        ]
    else:
        x, names, spec, raw_terms = _formulaic_design(rhs, df, factor_levels)
    terms: list[Term] = []
    for label, variables, idx in raw_terms:
        fvars = tuple(v for v in variables if v in factor_levels)
        nvars = tuple(v for v in variables if v not in factor_levels)
        terms.append(Term(label, fvars, nvars, tuple(int(i) for i in idx)))

    # ---- rank
    if x.shape[0] < x.shape[1]:
        raise RankDeficientError(
            f"the fixed-effects design has {x.shape[1]} columns but only {x.shape[0]} observations"
        )
    r = np.linalg.qr(x, mode="r")
    dg = np.abs(np.diag(r))
    tol = dg.max() * max(x.shape) * np.finfo(float).eps * 10 if dg.size else 0.0
    if bool(np.any(dg <= tol)):
        alias = [names[i] for i in np.flatnonzero(dg <= tol)]
        raise RankDeficientError(
            "the fixed-effects design is rank deficient (some effects are not estimable, e.g. "
            "a treatment arm with no data at a visit); aliased column(s): " + ", ".join(alias)
        )

    if group is not None:
        gstr = df[group].astype(str).to_numpy()
        glevels = sorted(pd.unique(gstr).tolist(), key=natural_key)
        gcodes = np.asarray(pd.Categorical(gstr, categories=glevels).codes, dtype=np.intp)
        gos = np.full(len(subj_levels), -1, dtype=np.intp)
        gos[subj_codes] = gcodes
        if np.any(gos[subj_codes] != gcodes):
            raise MMRMDataError(
                f"the covariance group {group!r} must be constant within each subject"
            )
    else:
        glevels = ["all"]
        gos = np.zeros(len(subj_levels), dtype=np.intp)
    return Design(
        x=np.ascontiguousarray(x, dtype=np.float64),
        y=df[outcome].to_numpy(dtype=np.float64),
        column_names=names,
        terms=tuple(terms),
        subject_codes=subj_codes,
        visit_codes=visit_codes,
        group_of_subject=gos,
        subject_levels=tuple(str(s) for s in subj_levels),
        visit_levels=tuple(vlevels),
        group_levels=tuple(glevels),
        factor_levels=factor_levels,
        numeric_means=numeric_means,
        model_spec=spec,
        outcome=outcome,
        visit=visit,
        n_dropped=n_dropped,
    )


def _formulaic_design(
    rhs: str, df: pd.DataFrame, factor_levels: dict[str, tuple[str, ...]]
) -> tuple[FloatArray, tuple[str, ...], Any, list[tuple[str, tuple[str, ...], list[int]]]]:
    """General formulas (functions, transforms, non-hierarchical terms) through formulaic."""
    import formulaic
    import pandas as pd

    frame = df.copy()
    for var, levels in factor_levels.items():
        frame[var] = pd.Categorical(frame[var].astype(str), categories=list(levels))
    try:
        mm = formulaic.model_matrix(rhs, frame, na_action="raise")
    except Exception as exc:  # formulaic raises many types; report them as data errors
        raise MMRMDataError(f"cannot build the design matrix from {rhs!r}: {exc}") from exc
    x = np.asarray(mm.to_numpy(dtype=np.float64))
    names = tuple(str(c) for c in mm.columns)
    spec = mm.model_spec
    raw: list[tuple[str, tuple[str, ...], list[int]]] = []
    for term, idx in spec.term_indices.items():
        variables = tuple(
            str(f.expr).strip("`") for f in term.factors if str(f.expr).strip("`") != "1"
        )
        raw.append((str(term), variables, list(idx)))
    return x, names, spec, raw


def grid_matrix(design: Design, numeric: dict[str, float]) -> FloatArray:
    """Model matrix of the reference grid, coded exactly as the fitted design.

    The grid holds every combination of the factor levels, in ``itertools.product`` order over
    ``design.factor_levels`` (the last factor varying fastest), with each numeric covariate at
    the value ``numeric`` gives. The factor codes are the grid's own indices, so the built-in
    coder needs no pandas; formulaic designs get a DataFrame of the level labels.
    """
    sizes = [len(levels) for levels in design.factor_levels.values()]
    n = int(np.prod(sizes)) if sizes else 1
    codes = np.indices(sizes).reshape(len(sizes), n) if sizes else np.zeros((0, 1), np.intp)
    if isinstance(design.model_spec, FastSpec):
        cols: dict[str, NDArray[Any]] = dict(zip(design.factor_levels, codes, strict=True))
        for var, val in numeric.items():
            cols[var] = np.full(n, float(val))
        x, _, _ = encode_fast(design.model_spec, cols, design.factor_levels, n)
        return x
    import pandas as pd

    g = pd.DataFrame(index=range(n))
    for (var, levels), code in zip(design.factor_levels.items(), codes, strict=True):
        g[var] = pd.Categorical.from_codes(code, categories=pd.Index(list(levels)))
    for var, val in numeric.items():
        g[var] = float(val)
    mm = design.model_spec.get_model_matrix(g)
    return np.asarray(mm.to_numpy(dtype=np.float64))
