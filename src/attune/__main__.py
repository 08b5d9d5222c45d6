"""``python -m attune`` is the ``attune`` command."""

from attune.cli.main import main

main()
