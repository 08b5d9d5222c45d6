"""Standards exchange: the tidy trial dataset to and from CDISC, REDCap and FHIR (no web framework)."""
