"""``attune analyze`` subcommands for effect sizes, responder rates and the alliance analysis."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
