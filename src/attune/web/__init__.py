"""The clinical platform: a Django shell around Attune's functional core.

Views stay thin: business rules live in each app's ``services`` (writes) and ``selectors`` (reads,
with the role, site and blinding rules), which call into :mod:`attune.instruments`,
:mod:`attune.protocol` and :mod:`attune.safety` for everything clinical.
"""
