"""The design file of ``attune simulate grid``: a grid of trial designs, each simulated many times.

A statistician planning the next trial writes one YAML file::

    seed: 2026
    replicates: 1000
    alpha: 0.05
    base:                       # every design starts from this
      n_total: 100
      delta: 8.9
      sd: 11.5
      retention: [1, 0.98, 0.96, 0.93, 0.90]
      correlation: {structure: ar1, rho: 0.6}
    vary:                       # every combination of these values is a design
      n_total: [80, 100, 120]
      unblinding: [none, mapp]
    designs:                    # optional: more designs, each a change of the base
      - {name: small and leaky, n_total: 60, retention: [1, 0.9, 0.8, 0.7, 0.6]}
    unblinding_scenarios:       # functional unblinding (attune.synth.unblinding)
      mapp: {active_correct: 0.9, placebo_correct: 0.75, dont_know: 0.05, bias: 2.0}

Every field of a design can vary: ``n_total``, ``delta``, ``sd``, ``retention`` (dropout: the share
still observed at each visit), ``correlation`` (between visits, as simulated), ``covariance`` (the
structure the MMRM fits), ``allocation``, ``effect_profile`` and ``unblinding`` (a scenario's name or
``none``). Problems are reported with the file, line and field (:mod:`attune.protocol.sourcefile`).

**Random streams.** A design's identity is a hash of what it simulates, never its position in the
file, and replicate ``r`` of design ``d`` draws from ``SeedSequence(seed, spawn_key=(d, r))`` -- the
``r``-th ``spawn`` child of the design's own ``SeedSequence(seed, spawn_key=(d,))``. So adding designs
or replicates to a grid never changes the trials already simulated, whatever ran them.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from attune.protocol.sourcefile import LocatedData, SourceError, load_yaml_file
from attune.stats._tables import StatsInputError
from attune.stats.power import ar1_matrix, compound_symmetry_matrix
from attune.stats.power_simulation import SimulatedDesign, make_design
from attune.synth.unblinding import UnblindingScenario

#: what a design needs when the file does not say
DEFAULTS: dict[str, Any] = {
    "covariance": "us",
    "allocation": 1.0,
    "effect_profile": "linear",
    "unblinding": "none",
}
NO_SCENARIO = "none"
#: the MMRM's covariance structures (attune.stats.mmrm.covariance.STRUCTURES, without importing it)
FITTED_STRUCTURES = ("us", "toep", "toeph", "ar1", "ar1h", "ad", "adh", "cs", "csh")


def _known_structure(name: str) -> str:
    if name not in FITTED_STRUCTURES:
        raise ValueError(
            f"unknown covariance structure {name!r}; use {', '.join(FITTED_STRUCTURES)}"
        )
    return name


SampleSize = Annotated[int, Field(ge=4)]
Positive = Annotated[float, Field(gt=0)]
Retention = Annotated[list[Annotated[float, Field(gt=0, le=1)]], Field(min_length=1)]
Covariance = Annotated[str, AfterValidator(_known_structure)]
Profile = Literal["linear", "constant"]


class Correlation(BaseModel):
    """The correlation of the outcome between visits, as simulated."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    structure: Literal["ar1", "cs", "matrix"]
    rho: float | None = Field(None, gt=-1, lt=1)
    times: list[float] | None = Field(None, description="ar1: visit times (default 1, 2, ...).")
    matrix: list[list[float]] | None = None

    @model_validator(mode="after")
    def _complete(self) -> Correlation:
        if self.structure in ("ar1", "cs") and self.rho is None:
            raise ValueError(f"structure {self.structure} needs rho")
        if self.structure == "matrix" and self.matrix is None:
            raise ValueError("structure matrix needs matrix (a list of rows)")
        return self

    def for_visits(self, visits: int) -> np.ndarray:
        if self.structure == "matrix":
            return np.asarray(self.matrix, dtype=float)
        assert self.rho is not None  # checked above
        if self.structure == "cs":
            return compound_symmetry_matrix(visits, self.rho)
        times = self.times if self.times is not None else list(range(1, visits + 1))
        if len(times) != visits:
            raise StatsInputError(f"{len(times)} correlation times for {visits} visits")
        return ar1_matrix(self.rho, times)

    def label(self) -> str:
        if self.structure == "matrix":
            return "matrix"
        return f"{'AR(1)' if self.structure == 'ar1' else 'CS'} {self.rho:g}"


class DesignFields(BaseModel):
    """Part of a design: the base, or one explicit design (what it changes of the base)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str | None = Field(None, min_length=1)
    n_total: SampleSize | None = None
    delta: float | None = None
    sd: Positive | None = None
    retention: Retention | None = None
    correlation: Correlation | None = None
    covariance: Covariance | None = None
    allocation: Positive | None = None
    effect_profile: Profile | None = None
    unblinding: str | None = None


class Axes(BaseModel):
    """The values each field takes across the grid (``vary``): every combination is a design."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    n_total: list[SampleSize] | None = Field(None, min_length=1)
    delta: list[float] | None = Field(None, min_length=1)
    sd: list[Positive] | None = Field(None, min_length=1)
    retention: list[Retention] | None = Field(None, min_length=1)
    correlation: list[Correlation] | None = Field(None, min_length=1)
    covariance: list[Covariance] | None = Field(None, min_length=1)
    allocation: list[Positive] | None = Field(None, min_length=1)
    effect_profile: list[Profile] | None = Field(None, min_length=1)
    unblinding: list[str] | None = Field(None, min_length=1)


class GridFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    seed: int = Field(ge=0)
    replicates: int = Field(ge=1, le=100_000_000)
    alpha: float = Field(0.05, gt=0, lt=1)
    alternative: Literal["two-sided", "one-sided"] = "two-sided"
    base: DesignFields = DesignFields()
    vary: Axes = Axes()
    designs: list[DesignFields] = []
    unblinding_scenarios: dict[str, UnblindingScenario] = {}


@dataclass(frozen=True)
class GridDesign:
    """One design of the grid, ready to simulate (it travels to the workers)."""

    id: str  # "d" + 12 hex digits of the hash of what it simulates; the Parquet partition
    key: int  # the same hash as a number: the design's spawn key
    label: str
    fields: dict[str, Any]  # n_total, delta, ... as written (correlation as its label)
    design: SimulatedDesign
    covariance: str
    scenario: UnblindingScenario | None


@dataclass(frozen=True)
class Grid:
    seed: int
    replicates: int
    alpha: float
    alternative: str
    designs: tuple[GridDesign, ...]
    source: str

    @property
    def trials(self) -> int:
        return self.replicates * len(self.designs)


def load_grid(path: Path | str) -> Grid:
    """Read and check a grid file; every problem is a :class:`SourceError` naming file, line, field."""
    located = load_yaml_file(path)
    return parse_grid(located)


def parse_grid(located: LocatedData) -> Grid:
    spec = located.validate(GridFile)
    problems: list[tuple[tuple[str | int, ...], str]] = []
    for where, names in _scenario_uses(spec):
        for name in names:
            if name != NO_SCENARIO and name not in spec.unblinding_scenarios:
                known = ", ".join([NO_SCENARIO, *spec.unblinding_scenarios])
                problems.append((where, f"unknown unblinding scenario {name!r}; use {known}"))
    if problems:
        raise located.error(problems)
    designs: list[GridDesign] = []
    seen: dict[str, tuple[str | int, ...]] = {}
    for where, fields in _expand(spec):
        try:
            design = _build(fields, spec)
        except StatsInputError as error:
            name = fields.get("name") or _label(fields, fields["_varies"])
            problems.append((where, f"design {name}: {error}"))
            continue
        if design.id in seen:
            problems.append(
                (
                    where,
                    f"design {design.label} is given twice (also at {_dotted(seen[design.id])})",
                )
            )
            continue
        seen[design.id] = where
        designs.append(design)
    if problems:
        raise located.error(problems)
    return Grid(
        spec.seed,
        spec.replicates,
        spec.alpha,
        spec.alternative,
        _distinct_labels(designs),
        located.source,
    )


def _distinct_labels(designs: list[GridDesign]) -> tuple[GridDesign, ...]:
    """Designs whose short labels coincide (e.g. two retentions ending at 0.8) get their id too,
    so that no two rows of the table or the plot read the same."""
    counts = Counter(design.label for design in designs)
    return tuple(
        replace(design, label=f"{design.label} [{design.id}]")
        if counts[design.label] > 1
        else design
        for design in designs
    )


def _scenario_uses(spec: GridFile) -> list[tuple[tuple[str | int, ...], list[str]]]:
    uses: list[tuple[tuple[str | int, ...], list[str]]] = []
    if spec.base.unblinding is not None:
        uses.append((("base", "unblinding"), [spec.base.unblinding]))
    for index, name in enumerate(spec.vary.unblinding or []):
        uses.append((("vary", "unblinding", index), [name]))
    for index, explicit in enumerate(spec.designs):
        if explicit.unblinding is not None:
            uses.append((("designs", index, "unblinding"), [explicit.unblinding]))
    return uses


def _expand(spec: GridFile) -> list[tuple[tuple[str | int, ...], dict[str, Any]]]:
    """Each design's fields with where it comes from: every combination of ``vary``, then ``designs``."""
    base = DEFAULTS | spec.base.model_dump(exclude_none=True)
    axes = spec.vary.model_dump(exclude_none=True)
    out: list[tuple[tuple[str | int, ...], dict[str, Any]]] = []
    if axes or not spec.designs:
        names = list(axes)
        where: tuple[str | int, ...] = ("vary",) if axes else ("base",)
        for values in itertools.product(*(axes[name] for name in names)):
            fields = base | dict(zip(names, values, strict=True))
            fields["_varies"] = names
            out.append((where, fields))
    for index, explicit in enumerate(spec.designs):
        given = explicit.model_dump(exclude_none=True)
        fields = base | given
        fields["_varies"] = [name for name in given if name != "name"]
        out.append((("designs", index), fields))
    return out


_REQUIRED = ("n_total", "delta", "sd", "retention", "correlation")


def _build(fields: dict[str, Any], spec: GridFile) -> GridDesign:
    missing = [name for name in _REQUIRED if name not in fields]
    if missing:
        raise StatsInputError(f"no {', '.join(missing)} (give it under base, vary or the design)")
    correlation = Correlation.model_validate(fields["correlation"])
    retention = fields["retention"]
    design = make_design(
        n_total=fields["n_total"],
        delta=fields["delta"],
        sd=fields["sd"],
        retention=retention,
        correlation=correlation.for_visits(len(retention)),
        allocation=fields["allocation"],
        effect_profile=fields["effect_profile"],
    )
    name = fields["unblinding"]
    scenario = None if name == NO_SCENARIO else spec.unblinding_scenarios[name]
    identity = {
        "n_total": design.n_total,
        "delta": design.delta,
        "sd": design.sd,
        "retention": list(design.retention),
        "correlation": design.correlation.round(12).tolist(),
        "covariance": fields["covariance"],
        "allocation": design.allocation,
        "effect_profile": design.effect_profile,
        "unblinding": scenario.model_dump() if scenario else None,
    }
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:12]
    shown = {key: value for key, value in fields.items() if not key.startswith("_")}
    shown["correlation"] = correlation.label()
    return GridDesign(
        id=f"d{digest}",
        key=int(digest, 16),
        label=fields.get("name") or _label(fields, fields["_varies"]),
        fields=shown,
        design=design,
        covariance=fields["covariance"],
        scenario=scenario,
    )


def _label(fields: dict[str, Any], names: Any) -> str:
    """A short name from the fields that vary: ``n 80, retention 0.9, unblinding mapp``."""
    parts = []
    for name in names:
        if name.startswith("_") or name == "name" or name not in fields:
            continue
        value = fields[name]
        if name == "correlation":
            parts.append(Correlation.model_validate(value).label())
        elif name == "retention":
            parts.append(f"retention {value[-1]:g}")
        elif name == "n_total":
            parts.append(f"n {value}")
        elif name == "covariance":
            parts.append(f"fit {value}")
        elif isinstance(value, float):
            parts.append(f"{name} {value:g}")
        else:
            parts.append(f"{name} {value}")
    return ", ".join(parts) or "base"


def _dotted(path: tuple[str | int, ...]) -> str:
    return ".".join(str(part) for part in path)


__all__ = ["Grid", "GridDesign", "GridFile", "SourceError", "load_grid", "parse_grid"]
