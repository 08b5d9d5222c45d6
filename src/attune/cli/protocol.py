"""``attune protocol show|validate|schedule`` and ``attune eligibility``."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

import click


def _load(name: str) -> Any:
    from attune.protocol import SourceError, get_protocol

    try:
        return get_protocol(name)
    except SourceError as error:
        raise click.ClickException(str(error)) from error


def _read_record(path: str) -> dict[str, Any]:
    import yaml

    try:
        with open(path, encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
    except OSError as error:
        raise click.ClickException(f"cannot read {path}: {error.strerror}") from error
    except yaml.YAMLError as error:
        raise click.ClickException(f"{path}: not valid YAML or JSON: {error}") from error
    if not isinstance(data, dict):
        raise click.ClickException(f"{path}: expected a mapping of field names to values")
    return data


@click.group()
def protocol() -> None:
    """Protocols as data: show, validate and schedule."""


@protocol.command()
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print the whole protocol as JSON.")
def show(name: str, as_json: bool) -> None:
    """Show a protocol (a shipped id such as 'mapp', or a file path)."""
    definition = _load(name)
    if as_json:
        click.echo(definition.model_dump_json(indent=2, exclude_none=True))
        return
    click.secho(f"{definition.name} ({definition.id} {definition.version})", bold=True)
    arms = ", ".join(
        f"{arm.id} x{arm.ratio}{' (control)' if arm.control else ''}" for arm in definition.arms
    )
    click.echo(f"arms: {arms}; stratified by {', '.join(definition.stratification) or 'nothing'}")
    click.echo(
        f"\n{'visit':<17}{'kind':<13}{'anchor':<16}{'day':>5}  {'window':<9}{'min':>5}  instruments"
    )
    for visit in definition.visits:
        instruments = ", ".join(f"{due.instrument}({due.by})" for due in visit.instruments)
        marker = (
            " [primary]" if visit.primary_endpoint else (" [randomise]" if visit.randomise else "")
        )
        click.echo(
            f"{visit.id:<17}{visit.kind:<13}{visit.anchor:<16}{visit.day:>5}  "
            f"-{visit.window.before}/+{visit.window.after:<5}{visit.duration_minutes:>5}  "
            f"{instruments or '-'}{marker}"
        )
    for rule in definition.spacing:
        click.echo(f"\nspacing: {rule.kind} sessions {rule.min_days}-{rule.max_days} days apart")
    if definition.dosing:
        dosing = definition.dosing
        click.echo(
            f"\ndosing: {dosing.drug}, initial options {dosing.initial_options} {dosing.unit}"
        )
        for visit_id, doses in dosing.sessions.items():
            click.echo(f"  {visit_id}: {', '.join(f'{d:g}' for d in doses)} {dosing.unit}")
        if dosing.supplemental:
            sup = dosing.supplemental
            click.echo(
                f"  supplemental: {sup.fraction:g} x initial, {sup.window_minutes.start}-"
                f"{sup.window_minutes.end} min after{' (optional)' if sup.optional else ''}"
            )
        for arm_id, doses in dosing.by_arm.items():
            click.echo(f"  arm {arm_id}: {', '.join(f'{d:g}' for d in doses)} {dosing.unit}")
        if dosing.placebo_arms:
            click.echo(f"  placebo arms: {', '.join(dosing.placebo_arms)}")
    if definition.vitals:
        vitals = definition.vitals
        limits = vitals.thresholds
        click.echo(
            f"\nvitals at minutes {vitals.schedule_minutes} (grace {limits.missed_reading_grace_min:g} min); alert "
            f"above systolic {limits.systolic_max:g}, diastolic {limits.diastolic_max:g}, "
            f"pulse {limits.pulse_max:g}, temperature {limits.temperature_max:g}"
        )
    if definition.eligibility:
        for group in ("inclusion", "exclusion"):
            click.echo(f"\n{group}:")
            for criterion in getattr(definition.eligibility, group):
                click.echo(f"  {criterion.id:<26}{criterion.label}")


@protocol.command()
@click.argument("path", type=click.Path(dir_okay=False))
def validate(path: str) -> None:
    """Check a protocol file; every problem is listed with its line."""
    definition = _load(path)
    click.echo(
        f"{path}: valid protocol {definition.id} {definition.version} "
        f"({len(definition.visits)} visits, {len(definition.arms)} arms)"
    )


def _parse_day(text: str, what: str) -> date:
    try:
        return date.fromisoformat(str(text))
    except ValueError as error:
        raise click.ClickException(f"{what}: {text!r} is not a date (YYYY-MM-DD)") from error


def _parse_time(value: object, what: str) -> datetime:
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(str(value))
    except ValueError as error:
        raise click.ClickException(
            f"{what}: {value!r} is not a date and time (YYYY-MM-DDTHH:MM)"
        ) from error


@protocol.command()
@click.argument("name")
@click.option(
    "--record",
    type=click.Path(dir_okay=False, exists=True),
    help="YAML/JSON with enrolled_on, actual (visit: date), optional arm, ended_on, doses.",
)
@click.option("--enrolled", help="Enrolment date (YYYY-MM-DD), if no --record.")
@click.option(
    "--actual",
    "actual_pairs",
    multiple=True,
    metavar="VISIT=DATE",
    help="A visit that took place (repeatable).",
)
@click.option("--as-of", help="Date to judge due and missed visits by (default: today).")
@click.option("--json", "as_json", is_flag=True)
def schedule(
    name: str,
    record: str | None,
    enrolled: str | None,
    actual_pairs: tuple[str, ...],
    as_of: str | None,
    as_json: bool,
) -> None:
    """A participant's schedule with target dates, windows, statuses and deviations.

    Example: attune protocol schedule mapp --enrolled 2026-01-05 --actual screening=2026-01-05
    """
    from attune.protocol.schedule import DoseRecord, ScheduleError, plan_schedule

    definition = _load(name)
    data = _read_record(record) if record else {}
    enrolled_text = enrolled or data.get("enrolled_on")
    if enrolled_text is None:
        raise click.ClickException(
            "give the enrolment date with --enrolled or enrolled_on in --record"
        )
    actual = {str(k): _parse_day(v, f"actual {k}") for k, v in (data.get("actual") or {}).items()}
    for pair in actual_pairs:
        visit_id, sep, day = pair.partition("=")
        if not sep:
            raise click.ClickException(f"--actual {pair!r}: write VISIT=YYYY-MM-DD")
        actual[visit_id] = _parse_day(day, f"--actual {visit_id}")
    doses = []
    for index, entry in enumerate(data.get("doses") or [], start=1):
        try:
            doses.append(
                DoseRecord(
                    visit_id=str(entry["visit"]),
                    initial_amount=float(entry["initial"]),
                    initial_time=_parse_time(entry["initial_time"], f"dose {index} initial_time"),
                    supplemental_amount=(
                        float(entry["supplemental"])
                        if entry.get("supplemental") is not None
                        else None
                    ),
                    supplemental_time=(
                        _parse_time(entry["supplemental_time"], f"dose {index} supplemental_time")
                        if entry.get("supplemental_time")
                        else None
                    ),
                )
            )
        except (KeyError, TypeError, ValueError) as error:
            raise click.ClickException(
                f"dose {index}: needs visit, initial, initial_time (and optionally supplemental, "
                f"supplemental_time): {error}"
            ) from error
    try:
        planned = plan_schedule(
            definition,
            _parse_day(enrolled_text, "enrolled"),
            actual,
            as_of=_parse_day(as_of, "--as-of") if as_of else None,
            ended_on=_parse_day(data["ended_on"], "ended_on") if data.get("ended_on") else None,
            arm=data.get("arm"),
            doses=doses,
        )
    except ScheduleError as error:
        raise click.ClickException(str(error)) from error
    if as_json:
        click.echo(
            json.dumps(
                {
                    "visits": [
                        {
                            "visit": p.id,
                            "kind": p.visit.kind,
                            "target": p.target.isoformat(),
                            "earliest": p.earliest.isoformat(),
                            "latest": p.latest.isoformat(),
                            "actual": p.actual.isoformat() if p.actual else None,
                            "status": p.status,
                        }
                        for p in planned.visits
                    ],
                    "deviations": [
                        {"kind": d.kind, "visit": d.visit_id, "message": d.message}
                        for d in planned.deviations
                    ],
                },
                indent=2,
            )
        )
        return
    click.echo(f"{'visit':<17}{'target':<12}{'window':<25}{'actual':<12}status")
    for p in planned.visits:
        colour = {
            "missed": "red",
            "done_out_of_window": "yellow",
            "overdue": "red",
            "due": "cyan",
        }.get(p.status)
        click.echo(
            f"{p.id:<17}{p.target.isoformat():<12}{p.earliest} to {p.latest}  "
            f"{(p.actual.isoformat() if p.actual else '-'):<12}",
            nl=False,
        )
        click.secho(p.status, fg=colour)
    if planned.deviations:
        click.secho(f"\n{len(planned.deviations)} deviation(s):", bold=True)
        for deviation in planned.deviations:
            click.echo(f"  [{deviation.kind}] {deviation.message}")
    else:
        click.echo("\nno deviations")


@click.command()
@click.argument("name")
@click.argument("record", type=click.Path(dir_okay=False, exists=True))
@click.option("--json", "as_json", is_flag=True)
def eligibility(name: str, record: str, as_json: bool) -> None:
    """Eligibility verdict of a screening record (YAML/JSON of screening fields), with reasons."""
    from attune.protocol.eligibility import ScreeningRecordError, evaluate_eligibility

    definition = _load(name)
    try:
        result = evaluate_eligibility(definition, _read_record(record))
    except ScreeningRecordError as error:
        raise click.ClickException(str(error)) from error
    if as_json:
        click.echo(
            json.dumps(
                {
                    "verdict": result.verdict,
                    "criteria": [
                        {
                            "id": c.id,
                            "group": c.group,
                            "label": c.label,
                            "outcome": c.outcome,
                            "passes": c.passes,
                            "reason": c.reason,
                        }
                        for c in result.criteria
                    ],
                },
                indent=2,
            )
        )
        return
    colour = {"eligible": "green", "ineligible": "red", "incomplete": "yellow"}[result.verdict]
    click.secho(f"{definition.id}: {result.verdict.upper()}", fg=colour, bold=True)
    for group in ("inclusion", "exclusion"):
        click.echo(f"\n{group}:")
        for c in (c for c in result.criteria if c.group == group):
            mark = {True: "ok ", False: "NO ", None: "?  "}[c.passes]
            detail = c.reason if c.reason.startswith(f"{c.label}:") else f"{c.label}: {c.reason}"
            click.echo(f"  {mark} {detail}")
