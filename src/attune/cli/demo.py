"""``attune demo``: the README's main job."""

from __future__ import annotations

import click


@click.command()
def demo() -> None:
    """Run the demonstration."""
    click.echo("Attune demo")
