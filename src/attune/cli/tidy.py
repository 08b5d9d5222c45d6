"""``attune export tidy`` and ``attune import tidy``: the platform's data as the tidy trial dataset.

An export is made for a named user and follows that user's roles: blinded unless they may see the
arm, only their sites. An import creates a new study from a dataset folder (this is how the demo
study is seeded); it is all or nothing.
"""

from __future__ import annotations

import sys

import click


@click.group(name="export")
def export() -> None:
    """Export a study's data."""


@export.command(name="tidy")
@click.argument("folder", type=click.Path(file_okay=False, writable=True))
@click.option("--study", "study_code", required=True, help="The study's code.")
@click.option(
    "--user",
    "username",
    required=True,
    help="Export as this user: their roles decide blinding and sites.",
)
@click.option("--blinded", is_flag=True, help="Blinded even if the user may see the arm.")
def export_tidy_command(folder: str, study_code: str, username: str, blinded: bool) -> None:
    """Write the study as a tidy trial dataset in FOLDER (checked by reading it back)."""
    from attune.cli.web import setup_django

    setup_django()
    from django.contrib.auth.models import User

    from attune.web.datasets.exporting import may_export, write_export
    from attune.web.studies.models import Study

    study = Study.objects.filter(code=study_code).first()
    user = User.objects.filter(username=username, is_active=True).first()
    if study is None or user is None:
        missing = f"study {study_code!r}" if study is None else f"active user {username!r}"
        raise click.ClickException(f"no {missing}")
    if not blinded and not may_export(user, study, blinded=False):
        if not may_export(user, study, blinded=True):
            raise click.ClickException(f"{username} may not export {study_code}")
        click.echo(f"{username} is blinded: writing the blinded dataset", err=True)
        blinded = True
    dataset = write_export(user, study, folder, blinded=blinded)
    for line in dataset.metadata.get("withheld", []):
        click.secho(f"warning: {line}", fg="yellow", err=True)
    kind = "blinded" if dataset.blinded else "unblinded"
    click.echo(
        f"wrote {kind} dataset of {study_code} to {folder}: "
        f"{len(dataset.participants)} participants, {len(dataset.item_responses)} answers",
        err=True,
    )
    click.echo(folder)


@click.group(name="import")
def import_() -> None:
    """Import data into the platform."""


@import_.command(name="tidy")
@click.argument("folder", type=click.Path(exists=True, file_okay=False))
@click.option("--study", "study_code", required=True, help="Code of the study to create.")
@click.option("--name", "study_name", default="", help="The study's name.")
@click.option(
    "--protocol",
    "protocol_name",
    default=None,
    help="A protocol file, when the dataset's protocol is not a shipped one.",
)
def import_tidy_command(
    folder: str, study_code: str, study_name: str, protocol_name: str | None
) -> None:
    """Create a study from the tidy trial dataset in FOLDER (all of it, or nothing)."""
    from attune.cli.web import setup_django

    setup_django()
    from django.core.management import call_command

    from attune.dataset import DatasetError, load_dataset
    from attune.protocol import get_protocol
    from attune.web.datasets.importing import import_tidy
    from attune.web.errors import InvalidInput

    call_command("migrate", interactive=False, verbosity=0)
    try:
        protocol = get_protocol(protocol_name) if protocol_name else None
        dataset = load_dataset(folder, protocol=protocol)
        summary = import_tidy(
            dataset, study_code=study_code, study_name=study_name, protocol=protocol_name
        )
    except (DatasetError, InvalidInput) as error:
        click.secho(str(error), fg="red", err=True)
        sys.exit(1)
    click.echo(
        f"imported {summary.participants} participants into {study_code}: {summary.visits} visits, "
        f"{summary.forms} forms, {summary.doses} doses, {summary.vitals} vital-sign readings, "
        f"{summary.adverse_events} adverse events, {summary.deviations} deviations"
        + (f", {summary.alerts} safety alerts raised" if summary.alerts else "")
    )
