"""Therapist fidelity as data: the protocol's ``fidelity:`` section (:mod:`.settings`), the seeded
sample of sessions adherence raters score (:mod:`.sampling`), and the detection of a dyad whose
adherence drifts (:mod:`.drift`).

Pure functions with no web framework behind them, shared by the platform (the rater's worklist),
``attune synth`` (which sessions get synthetic ratings) and the report (which dyad drifts). Import
the submodules directly: the protocol model reads :mod:`.settings` without loading SciPy.
"""
