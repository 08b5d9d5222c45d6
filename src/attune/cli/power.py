"""``attune power``: sample size and power for the next trial."""

from __future__ import annotations

import click


@click.command()
def power() -> None:
    """Power and sample size for an MMRM trial (not yet available)."""
    raise click.ClickException("attune power is not implemented yet")
