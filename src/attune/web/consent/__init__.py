"""Informed consent: versioned documents, electronic consent by private link or paper consent
recorded by staff, a signed PDF copy, re-consent when a new version needs it, and withdrawal."""
