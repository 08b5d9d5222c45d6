"""Standards exchange: the tidy trial dataset in and out of CDISC (SDTM, ADaM, Define-XML),
REDCap and FHIR. Core package: no web framework behind any of its imports."""
