"""What importing and running the MMRM loads (docs/mmrm.md, "Imports").

`import attune.stats.mmrm` must load NumPy and nothing heavier: SciPy, pandas, formulaic and
threadpoolctl are imported by the functions that use them. `attune analyze mmrm` needs pandas
(the CSV and the tables) and `scipy.special` (t quantiles and p-values), never `scipy.stats`,
`scipy.optimize` or `scipy.linalg`, which cost more to import than the whole fit. Each check runs
in a fresh interpreter and reads `sys.modules`; no timing is asserted (that is bench/bench_mmrm.py).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

FEV = str(Path(__file__).resolve().parents[1] / "data" / "fev_data.csv")
LAZY = {"scipy", "pandas", "formulaic", "threadpoolctl", "statsmodels", "pyarrow"}
NOT_IN_THE_COMMAND = {"scipy.stats", "scipy.optimize", "scipy.linalg", "formulaic", "statsmodels"}


def _modules_after(code: str) -> set[str]:
    """The names in sys.modules after running ``code`` in a fresh interpreter."""
    script = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout
    return set(json.loads(out.strip().splitlines()[-1]))


def test_importing_the_mmrm_loads_numpy_only() -> None:
    loaded = _modules_after("import attune.stats.mmrm")
    assert "numpy" in loaded
    assert sorted({m.split(".")[0] for m in loaded} & LAZY) == []


def test_the_command_loads_scipy_special_only() -> None:
    code = (
        "import contextlib, io\n"
        "from attune.cli.main import cli\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    cli(['analyze', 'mmrm', {FEV!r}, '--formula', 'FEV1 ~ ARMCD*AVISIT + RACE + SEX',"
        " '--subject', 'USUBJID', '--visit', 'AVISIT', '--treatment', 'ARMCD',"
        " '--reference', 'PBO', '--df', 'kenward-roger', '--json'], standalone_mode=False)"
    )
    loaded = _modules_after(code)
    assert {"pandas", "scipy.special", "attune.stats.mmrm.fit"} <= loaded  # the command ran
    assert sorted(loaded & NOT_IN_THE_COMMAND) == []
