"""``attune export redcap|fhir`` and ``attune import redcap|fhir|redcap-instrument``: the tidy
trial dataset to and from REDCap and FHIR (see docs/interop.md).

Like every command module, only ``click`` is imported at the top; pandas and fhir.resources load
inside the commands. Every expected failure (a bad folder, a conflicting mapping, a response that
does not fit) is printed as a message and exits 1; none ends in a traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click


def _fail(message: str) -> None:
    click.secho(message, fg="red", err=True)
    sys.exit(1)


def _load(trial_dir: str, protocol_name: str | None) -> Any:
    from attune.dataset import DatasetError, load_dataset
    from attune.protocol import get_protocol
    from attune.protocol.sourcefile import SourceError

    try:
        protocol = get_protocol(protocol_name) if protocol_name else None
        return load_dataset(trial_dir, protocol=protocol), protocol
    except (DatasetError, SourceError) as error:
        _fail(str(error))
    raise AssertionError  # unreachable


_PROTOCOL = click.option(
    "--protocol",
    "protocol_name",
    default=None,
    help="A protocol file, when the dataset's protocol is not a shipped one.",
)


@click.command(name="redcap")
@click.argument("trial_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Project folder.")
@click.option("--blinded", is_flag=True, help="Leave out the arm, dose amounts and product.")
@_PROTOCOL
def export_redcap(trial_dir: str, out: str, blinded: bool, protocol_name: str | None) -> None:
    """Write TRIAL_DIR as a REDCap project: data dictionary, events, mapping and records."""
    from attune.interop.redcap.export import export_project
    from attune.interop.redcap.model import write_project
    from attune.interop.redcap.validate import errors, validate_project

    dataset, protocol = _load(trial_dir, protocol_name)
    try:
        project = export_project(dataset, protocol, blinded=blinded)
    except ValueError as error:
        _fail(f"cannot export {trial_dir}: {error}")
    found = errors(validate_project(project))
    if found:  # a bug of ours, never the user's: say so plainly rather than write a bad project
        _fail("the project would not pass REDCap's rules:\n  " + "\n  ".join(map(str, found[:20])))
    write_project(project, out)
    kind = "blinded" if project.info["attune"]["blinded"] else "unblinded"
    click.echo(
        f"wrote {kind} REDCap project to {out}: {len(project.fields)} fields in "
        f"{len(project.instruments)} forms, {len(project.events)} events, "
        f"{len(project.records)} record rows",
        err=True,
    )
    click.echo(out)


@click.command(name="fhir")
@click.argument("trial_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Output folder.")
@_PROTOCOL
def export_fhir(trial_dir: str, out: str, protocol_name: str | None) -> None:
    """Write a Questionnaire per instrument and a Bundle of QuestionnaireResponses (one per signed
    form) and total-score Observations (FHIR R4B)."""
    import json

    from attune.interop.fhir.responses import export_bundle

    dataset, protocol = _load(trial_dir, protocol_name)
    questionnaires, bundle = export_bundle(dataset, protocol)
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    for resource in questionnaires:
        path = folder / f"Questionnaire-{resource['id']}.json"
        path.write_text(json.dumps(resource, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (folder / "bundle.json").write_text(
        json.dumps(bundle, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    counts: dict[str, int] = {}
    for entry in bundle.get("entry", []):
        kind = entry["resource"]["resourceType"]
        counts[kind] = counts.get(kind, 0) + 1
    click.echo(
        f"wrote {len(questionnaires)} Questionnaires and bundle.json to {out}: "
        + ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items())),
        err=True,
    )
    click.echo(out)


@click.command(name="redcap")
@click.argument("source", type=click.Path(exists=True, file_okay=False))
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Dataset folder.")
@click.option("--mapping", "mapping_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="List every field mapped, unmapped or conflicting.")
@click.option(
    "--write-mapping",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write the mapping in effect to this file (to edit and pass with --mapping).",
)
@_PROTOCOL
def import_redcap(
    source: str,
    out: str,
    mapping_file: str | None,
    dry_run: bool,
    write_mapping: str | None,
    protocol_name: str | None,
) -> None:
    """Turn a REDCap project export in SOURCE (data dictionary, events, mapping, records) into a
    tidy trial dataset in --out, which `attune import tidy` brings into the platform."""
    from attune.dataset import DatasetError, load_dataset, write_dataset
    from attune.interop.redcap.importing import RedcapImportError, import_project, plan
    from attune.interop.redcap.mapping import MappingError, default_mapping, load_mapping, merge
    from attune.interop.redcap.model import ProjectReadError, read_project
    from attune.protocol import get_protocol
    from attune.protocol.sourcefile import SourceError

    try:
        project = read_project(source)
        user = load_mapping(mapping_file) if mapping_file else None
    except (ProjectReadError, MappingError) as error:
        _fail(str(error))
        return
    attune_info: dict[str, Any] = (
        project.info["attune"] if isinstance(project.info.get("attune"), dict) else {}
    )
    named = protocol_name or (user.protocol if user else None)
    if named is None and isinstance(attune_info.get("protocol"), dict):
        named = attune_info["protocol"].get("id")
    if not named:
        _fail("which protocol do the data follow? Give --protocol or 'protocol:' in the mapping")
        return
    try:
        protocol = get_protocol(str(named))
    except SourceError as error:
        _fail(str(error))
        return
    mapping = merge(default_mapping(project, protocol), user)
    checked = plan(project, mapping, protocol)
    if write_mapping:
        Path(write_mapping).write_text(mapping.as_yaml(), encoding="utf-8")
        click.echo(f"wrote the mapping to {write_mapping}", err=True)
    if dry_run:
        for line in checked.lines():
            click.echo(line)
        return
    try:
        result = import_project(project, mapping, protocol, plan_=checked)
    except (RedcapImportError, DatasetError) as error:
        _fail(str(error))
        return
    write_dataset(result.dataset, out)
    dataset = load_dataset(out, protocol=protocol if protocol_name else None)
    if result.incomplete_forms_skipped:
        click.secho(
            f"warning: {result.incomplete_forms_skipped} forms not marked Complete in REDCap "
            "were left out",
            fg="yellow",
            err=True,
        )
    click.echo(
        f"wrote {out}: {len(dataset.participants)} participants, {len(dataset.visits)} visits, "
        f"{len(dataset.item_responses)} answers",
        err=True,
    )
    click.echo(out)


@click.command(name="redcap-instrument")
@click.argument("dictionary", type=click.Path(exists=True))
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Folder for YAML.")
@click.option("--form", "forms", multiple=True, help="Only this form (repeatable).")
def import_redcap_instrument(dictionary: str, out: str, forms: tuple[str, ...]) -> None:
    """Turn the forms of a REDCap data dictionary (a CSV file or a project folder) into Attune
    instrument definitions (YAML) that `attune score` reads from ATTUNE_INSTRUMENTS_PATH."""
    from attune.instruments import DefinitionError
    from attune.interop.redcap.instrument import ConversionError, dump, instrument_from_dictionary
    from attune.interop.redcap.model import FILES, ProjectReadError, read_project

    path = Path(dictionary)
    folder = path
    if path.is_file():
        import shutil
        import tempfile

        folder = Path(tempfile.mkdtemp())
        shutil.copy(path, folder / FILES["dictionary"])
    try:
        project = read_project(folder)
    except ProjectReadError as error:
        _fail(str(error).replace(str(folder), str(path)))
        return
    names = dict(project.instruments)
    wanted = list(forms) or [form for form, _ in project.instruments]
    target = Path(out)
    target.mkdir(parents=True, exist_ok=True)
    written = 0
    for form in wanted:
        try:
            conversion = instrument_from_dictionary(
                project.fields, form, name=names.get(form), source=path.name
            )
        except (ConversionError, DefinitionError) as error:
            if forms:
                _fail(f"{form}: {error}")
            click.echo(f"skipped {form}: {error}", err=True)
            continue
        file = target / f"{conversion.instrument.id}.yaml"
        file.write_text(dump(conversion), encoding="utf-8")
        written += 1
        click.echo(
            f"wrote {file}" + (f" ({len(conversion.notes)} notes)" if conversion.notes else ""),
            err=True,
        )
    if not written:
        _fail("no form could be converted")


@click.command(name="fhir")
@click.argument("source", type=click.Path(exists=True))
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False),
    help="Where to write the dataset with the new forms.",
)
@click.option(
    "--dataset",
    "base",
    type=click.Path(exists=True, file_okay=False),
    default=None,
    help="The trial the forms belong to (default: --out itself, updated in place).",
)
@click.option("--dry-run", is_flag=True, help="Check the responses; write nothing.")
@_PROTOCOL
def import_fhir(
    source: str, out: str, base: str | None, dry_run: bool, protocol_name: str | None
) -> None:
    """Add the QuestionnaireResponses in SOURCE (a Bundle, one resource, or a folder of JSON
    files) to a trial dataset as signed forms; nothing is written unless every response fits."""
    from attune.dataset import write_dataset
    from attune.interop.fhir.importing import FhirImportError, import_responses, read_resources

    base = base or out
    if not Path(base, "dataset.json").is_file():
        _fail(
            f"{base} is not a trial dataset: give --dataset the trial the forms belong to "
            "(a folder written by `attune synth` or `attune export tidy`)"
        )
    dataset, _ = _load(base, protocol_name)
    resources, problems = read_resources(source)
    if problems:
        _fail(f"{len(problems)} problem(s) reading {source}:\n  " + "\n  ".join(problems))
    try:
        result = import_responses(resources, dataset)
    except FhirImportError as error:
        _fail(str(error))
        return
    if result.ignored:
        click.echo(
            f"ignored {len(result.ignored)} resources that are not QuestionnaireResponses", err=True
        )
    summary = (
        f"{len(result.imported)} forms to import, {len(result.already_present)} already present"
    )
    if dry_run:
        click.echo(summary)
        return
    write_dataset(result.dataset, out)
    click.echo(f"{summary}: wrote {out}", err=True)
    click.echo(out)
