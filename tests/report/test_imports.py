"""attune.report is part of the functional core: importing it loads no web framework."""

import subprocess
import sys

WEB = ["django", "ninja", "rest_framework", "flask", "fastapi", "starlette"]


def test_report_imports_no_web_framework():
    code = (
        "import sys, attune.report, attune.cli.report\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {WEB!r}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_report_command_module_loads_no_numeric_stack():
    code = "import sys, attune.cli.report; print(sorted({'numpy', 'pandas', 'matplotlib'} & set(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
