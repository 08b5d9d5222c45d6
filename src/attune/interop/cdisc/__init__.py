"""CDISC exchange: SDTM (SDTMIG 3.4) and ADaM datasets of a tidy trial dataset, as SAS transport
files (XPT v5), Dataset-JSON 1.1 and Define-XML 2.1, and the checks a reviewer runs on them.

``export_sdtm(dataset, folder)`` and ``export_adam(dataset, folder)`` write a package;
``validate_package(folder)`` reads it back and lists every problem. See docs/interop.md.
"""

from attune.interop.cdisc.export import Package, export_adam, export_sdtm

__all__ = ["Package", "export_adam", "export_sdtm"]
