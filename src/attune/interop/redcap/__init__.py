"""REDCap in and out: a tidy trial dataset as a REDCap project (data dictionary, events,
instrument-event mapping, flat records), REDCap's own upload and import rules as a validator, a
REDCap data dictionary as Attune instrument definitions, and a REDCap project export back into a
tidy dataset through a small user-editable mapping file. See docs/interop.md."""
