"""The functional core stays usable from a notebook: no web framework behind any of its imports."""

import subprocess
import sys

CORE = [
    "attune.instruments",
    "attune.instruments.frame",
    "attune.instruments.csvfile",
    "attune.stats",
    "attune.protocol",
    "attune.protocol.order",
    "attune.safety",
    "attune.dataset",
    "attune.synth",
    "attune.report",
    "attune.stats.mmrm",
    "attune.fidelity.sampling",
    "attune.fidelity.drift",
    "attune.stats.funnel_means",
    "attune.interop.redcap.export",
    "attune.interop.redcap.importing",
    "attune.interop.redcap.instrument",
    "attune.interop.fhir.responses",
    "attune.interop.fhir.importing",
    "attune.interop.cdisc.export",
    "attune.interop.cdisc.validate",
]
WEB = ["django", "ninja", "rest_framework", "flask", "fastapi", "starlette"]


def test_core_packages_import_no_web_framework():
    code = (
        "import importlib, sys\n"
        f"for name in {CORE!r}: importlib.import_module(name)\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {WEB!r}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_attune_help_does_not_load_the_numeric_stack():
    # `attune --help` must stay instant: command modules import NumPy/pandas only inside commands.
    code = "import sys; import attune.cli.main; print(sorted({'numpy', 'pandas', 'scipy'} & set(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
