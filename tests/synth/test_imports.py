"""attune.dataset and attune.synth import no web framework; the synth command loads no numeric stack."""

import subprocess
import sys

WEB = ["django", "ninja", "rest_framework", "flask", "fastapi", "starlette"]


def test_no_web_framework():
    code = (
        "import sys, attune.dataset, attune.synth\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {WEB!r}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_synth_command_module_loads_only_click():
    code = (
        "import sys; import attune.cli.synth; "
        "print(sorted({'numpy', 'pandas', 'scipy', 'pyarrow'} & set(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
