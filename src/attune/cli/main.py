"""Entry point of the ``attune`` command.

Each feature area keeps its commands in its own module here. Those modules import only ``click`` at
the top and load NumPy, pandas or Arrow inside the command that needs them, so that ``attune --help``
stays instant and ``attune score`` pays only for what it uses.
"""

from __future__ import annotations

import click

from attune import __version__
from attune.cli.analyze import analyze
from attune.cli.cdisc import adam_command, sdtm_command
from attune.cli.coding import coding
from attune.cli.demo import demo
from attune.cli.instruments import instruments, score
from attune.cli.interop_exchange import (
    export_fhir,
    export_redcap,
    import_fhir,
    import_redcap,
    import_redcap_instrument,
)
from attune.cli.power import power
from attune.cli.protocol import eligibility, protocol
from attune.cli.report import report
from attune.cli.simulate import simulate
from attune.cli.study import study
from attune.cli.synth import synth
from attune.cli.tidy import export, import_
from attune.cli.web import audit, manage, serve, worker


@click.group(invoke_without_command=True)
@click.version_option(__version__, prog_name="attune")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Attune: run and evaluate MDMA-assisted therapy for PTSD."""
    if ctx.invoked_subcommand is None:
        click.echo(ctx.get_help())


cli.add_command(instruments)
cli.add_command(score)
cli.add_command(analyze)
cli.add_command(power)
cli.add_command(simulate)
cli.add_command(demo)
cli.add_command(protocol)
cli.add_command(eligibility)
cli.add_command(synth)
cli.add_command(report)
cli.add_command(study)
cli.add_command(serve)
cli.add_command(worker)
cli.add_command(manage)
cli.add_command(audit)
cli.add_command(export)
cli.add_command(import_)
export.add_command(export_redcap)
export.add_command(export_fhir)
import_.add_command(import_redcap)
import_.add_command(import_redcap_instrument)
import_.add_command(import_fhir)
export.add_command(sdtm_command)
export.add_command(adam_command)
cli.add_command(coding)


def main() -> None:
    cli()
