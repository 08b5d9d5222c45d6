"""Attune: run and evaluate MDMA-assisted therapy for PTSD.

The functional core (``attune.instruments``, ``attune.stats`` and, later, ``attune.protocol``,
``attune.interop`` and ``attune.synth``) imports no web framework, so every part of it can be used
from a notebook or a script as well as from the web platform.
"""

__version__ = "0.1.0"
