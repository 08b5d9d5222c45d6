"""FHIR R4B (fhir.resources): an instrument as an SDC Questionnaire, signed forms as
QuestionnaireResponses and total scores as Observations; QuestionnaireResponse bundles from an EHR
back into a trial's forms, with every problem reported in words. See docs/interop.md."""
