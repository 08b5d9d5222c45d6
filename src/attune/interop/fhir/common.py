"""Names shared by the FHIR export and import: canonical URLs, identifier systems, FHIR ids."""

from __future__ import annotations

import hashlib
import re
import uuid

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
SDC_QUESTIONNAIRE = "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire"
SDC_BEHAVE = "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-behave"
SDC_CALCULATED = (
    "http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire-calculatedExpression"
)
ORDINAL_VALUE = "http://hl7.org/fhir/StructureDefinition/ordinalValue"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
#: Attune's own names are URNs: nothing here pretends to be a resolvable web address
QUESTIONNAIRE_URN = "urn:attune:questionnaire:"
ANSWER_SYSTEM_URN = "urn:attune:answers:"
SCORE_SYSTEM = "urn:attune:scores"
FORM_SYSTEM = "urn:attune:form"
PARTICIPANT_SYSTEM = "urn:attune:participant"
_NOT_ID = re.compile(r"[^A-Za-z0-9\-.]")


def questionnaire_url(instrument_id: str) -> str:
    return f"{QUESTIONNAIRE_URN}{instrument_id}"


def answer_system(instrument_id: str, response_set: str) -> str:
    return f"{ANSWER_SYSTEM_URN}{instrument_id}:{response_set}"


def fhir_id(text: str) -> str:
    """A FHIR resource id (letters, digits, ``-`` and ``.``, at most 64) for an Attune key;
    ``_`` becomes ``-``; a long key is cut and given a hash so that ids stay distinct."""
    value = _NOT_ID.sub("-", text)
    if len(value) > 64 or value != text.replace("_", "-"):
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:10]
        value = f"{value[:53]}-{digest}"
    return value


def full_url(resource_type: str, resource_id: str) -> str:
    """A stable ``urn:uuid`` for a bundle entry (the same resource always gets the same one)."""
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'attune/{resource_type}/{resource_id}')}"
