"""``attune demo``: the README's main job.

Until the web platform lands, the demo shows the parts that exist: the instrument library scoring a
small synthetic cohort of PCL-5 and C-SSRS forms (including a missing answer and a refused one), and
the safety findings a coordinator would have to act on.
"""

from __future__ import annotations

import click


@click.command()
@click.option("--participants", default=8, show_default=True, type=click.IntRange(2, 1000))
@click.option("--seed", default=1, show_default=True, help="Seed of the synthetic cohort.")
def demo(participants: int, seed: int) -> None:
    """Run the demonstration on a small synthetic cohort."""
    import numpy as np
    import pandas as pd

    from attune import __version__
    from attune.instruments import list_instruments, score_frame

    rng = np.random.default_rng(seed)
    click.secho(f"Attune {__version__}: demo on {participants} synthetic participants", bold=True)
    click.echo(f"\n{len(list_instruments())} instruments available (attune instruments):")
    for instrument in list_instruments():
        click.echo(f"  {instrument.id:<13} {instrument.name}")

    ids = [f"P{number:03d}" for number in range(1, participants + 1)]
    severity = rng.uniform(1.5, 3.5, size=participants)  # each person's typical item level
    items = np.clip(np.rint(severity[:, None] + rng.normal(0, 0.9, (participants, 20))), 0, 4)
    forms = pd.DataFrame(items.astype(int), columns=[f"pcl5_{n}" for n in range(1, 21)]).astype(
        "Int64"
    )
    forms.insert(0, "id", ids)
    forms.loc[1, "pcl5_7"] = pd.NA  # an unanswered item: the total must not be guessed
    forms["pcl5_3"] = forms["pcl5_3"].astype(object)
    forms.loc[2, "pcl5_3"] = 9  # a refused answer: reported, never silently dropped

    click.secho("\nPCL-5 at baseline (attune score pcl5 ...):", bold=True)
    scored = score_frame("pcl5", forms, errors="mark").set_index(forms["id"])
    shown = scored[["total", "B", "C", "D", "E", "probable_ptsd_dsm", "missing", "error"]]
    click.echo(shown.astype(object).where(shown.notna(), "-").to_string())

    screener = pd.DataFrame(
        {n: rng.choice([0, 1], p=[0.85, 0.15], size=participants) for n in range(1, 7)}
    )
    screener.loc[screener[2] == 0, [3, 4, 5]] = 0  # the screener's skip rule
    risk = score_frame("cssrs_screen", screener).set_index(pd.Index(ids, name="id"))
    click.secho("\nC-SSRS screener before dosing:", bold=True)
    click.echo(risk[["ideation", "behavior", "band"]].to_string())
    alerts = risk.index[risk["band"].astype(str) == "high"].tolist()
    if alerts:
        click.secho(
            f"\nSafety: high suicide-risk band for {', '.join(alerts)}: "
            "must be reviewed before any dosing session.",
            fg="red",
        )
    click.echo("\nNext: attune score --help, attune analyze --help, and docs/ for the statistics.")
