"""``attune instruments`` and ``attune score``."""

from __future__ import annotations

import click


@click.command()
def instruments() -> None:
    """List the instruments Attune can score."""


@click.command()
def score() -> None:
    """Score questionnaires from a CSV file."""
