"""The figure of a simulation grid: power per design with its Monte Carlo error bars.

One row per design (labels read top to bottom in the grid file's order), the power as a dot and the
Wilson 95 % interval as a bar, coloured by functional-unblinding scenario, with the conventional
80 % and 90 % targets as guides. PNG or SVG by the file's suffix, through the report's figure helpers.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from attune.report.figures import PALETTE, new_figure, render_png, render_svg

TITLE = "Simulated power per design"


def plot_power_grid(summary: pd.DataFrame, path: Path | str) -> Path:
    """Draw ``summary`` (:func:`attune.stats.grid_summary.summarise_grid`) to ``path`` (.png, .svg)."""
    path = Path(path)
    if path.suffix.lower() not in (".png", ".svg"):
        raise ValueError(f"the plot is written as PNG or SVG, not {path.suffix or 'no suffix'}")
    count = len(summary)
    figure = new_figure(width=7.5, height=min(1.2 + 0.32 * count, 40))
    ax = figure.add_subplot()
    y = list(range(count))[::-1]
    scenarios = summary["unblinding"].astype(str) if "unblinding" in summary else None
    names = list(dict.fromkeys(scenarios)) if scenarios is not None else ["none"]
    for index, name in enumerate(names):
        here = (scenarios == name).to_numpy() if scenarios is not None else [True] * count
        rows = summary[here]
        ys = [value for value, keep in zip(y, here, strict=True) if keep]
        ax.errorbar(
            rows["power"],
            ys,
            xerr=[rows["power"] - rows["power_low"], rows["power_high"] - rows["power"]],
            fmt="o",
            color=PALETTE[index % len(PALETTE)],
            capsize=3,
            label=f"unblinding: {name}",
        )
    for target in (0.8, 0.9):
        ax.axvline(target, color="#999999", linestyle=":", linewidth=1)
    ax.set_yticks(y, [str(label) for label in summary["label"]])
    ax.set_xlim(0, 1.02)
    ax.set_xlabel("power (dot) with its Monte Carlo 95 % interval (Wilson)")
    replicates = int(summary["replicates"].max()) if count else 0
    ax.set_title(f"{TITLE} ({replicates} trials each)")
    if len(names) > 1:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small", frameon=False)
    data = render_svg(figure, TITLE) if path.suffix.lower() == ".svg" else render_png(figure, TITLE)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path
