"""``attune synth``: write a synthetic trial as a tidy dataset folder."""

from __future__ import annotations

import time

import click


@click.command()
@click.option(
    "--protocol",
    "protocol_name",
    default="mapp",
    show_default=True,
    help="A shipped protocol id or a protocol file.",
)
@click.option(
    "--participants",
    default=100,
    show_default=True,
    type=click.IntRange(1, 10_000_000),
    help="Participants randomised (screen failures come on top).",
)
@click.option("--seed", default=1, show_default=True, type=int, help="Random seed.")
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(file_okay=False, writable=True),
    help="Folder to write (created if needed).",
)
@click.option("--blinded", is_flag=True, help="Leave out the arm and all that reveals it.")
@click.option(
    "--settings",
    "settings_file",
    type=click.Path(exists=True, dir_okay=False),
    help="A YAML or JSON file of SynthSettings fields to change.",
)
@click.option(
    "--format",
    "file_format",
    type=click.Choice(["csv", "parquet"]),
    default="csv",
    show_default=True,
)
@click.option("--quiet", is_flag=True, help="No progress messages on stderr.")
def synth(
    protocol_name: str,
    participants: int,
    seed: int,
    out: str,
    blinded: bool,
    settings_file: str | None,
    file_format: str,
    quiet: bool,
) -> None:
    """Generate a synthetic trial and write it as a tidy dataset (docs/dataset.md)."""
    import yaml
    from pydantic import ValidationError

    from attune.dataset import write_dataset
    from attune.protocol import SourceError, get_protocol
    from attune.synth import SynthSettings, generate_trial

    started = time.perf_counter()

    def say(message: str) -> None:
        if not quiet:
            click.echo(f"[{time.perf_counter() - started:6.1f} s] {message}", err=True)

    try:
        protocol = get_protocol(protocol_name)
    except SourceError as error:
        raise click.ClickException(str(error)) from None
    settings = SynthSettings()
    if settings_file:
        with open(settings_file, encoding="utf-8") as handle:
            data = yaml.safe_load(handle) or {}
        try:
            settings = SynthSettings.model_validate(data)
        except ValidationError as error:
            raise click.ClickException(f"{settings_file}: {error}") from None
    command = (
        f"attune synth --protocol {protocol_name} --participants {participants} --seed {seed}"
        + (f" --settings {settings_file}" if settings_file else "")
        + (" --blinded" if blinded else "")
    )
    dataset = generate_trial(
        protocol,
        participants,
        seed=seed,
        settings=settings,
        blinded=blinded,
        progress=say,
        command=command,
    )
    say(f"writing {out}")
    write_dataset(dataset, out, file_format=file_format, progress=say)
    people = dataset.participants
    screened = len(people)
    randomised = int((people["status"] != "screen_failed").sum())
    say(f"done: {screened} screened, {randomised} randomised{' (blinded)' if blinded else ''}")
    click.echo(out)
