"""The ``attune`` command line: one command for everything a person runs."""
