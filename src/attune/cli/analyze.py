"""``attune analyze``: the trial analyses, one subcommand each.

The MMRM lives in :mod:`attune.cli.analyze_mmrm`, the other trial analyses (effect sizes,
responders, alliance) in :mod:`attune.cli.analyze_trial`.
"""

from __future__ import annotations

import click

from attune.cli import analyze_mmrm, analyze_trial


@click.group()
def analyze() -> None:
    """Analyse trial data: the primary MMRM and the secondary analyses."""


for _module in (analyze_mmrm, analyze_trial):
    for _command in _module.COMMANDS:
        analyze.add_command(_command)
