"""An Attune instrument as a FHIR R4B Questionnaire (SDC profile).

The answers are codings of the instrument's own codes (with the code as ``ordinalValue``), the
skip rule is ``enableWhen``, and each total and subscale is a read-only item with an SDC
``calculatedExpression`` in FHIRPath that, like Attune's scoring, stays empty until every item it
needs is answered. The panel and total carry their LOINC codes where the instrument file has them
(PHQ-9 44249-1 / 44261-6, GAD-7 69737-5 / 70274-6, PCL-5 101697-1 / 101698-9, C-SSRS screener
93373-9). Item text is shipped only where the licence allows it, as in the instrument files;
otherwise the item carries Attune's short label. Flags and severity bands stay Attune's.
"""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.questionnaire import Questionnaire

from attune.instruments import Instrument
from attune.interop.fhir.common import (
    LOINC,
    ORDINAL_VALUE,
    SCORE_SYSTEM,
    SDC_BEHAVE,
    SDC_CALCULATED,
    SDC_QUESTIONNAIRE,
    answer_system,
    fhir_id,
    questionnaire_url,
)


def link_id(number: int) -> str:
    return str(number)


def score_link_id(name: str) -> str:
    return f"score-{name}"


def score_expression(item_numbers: tuple[int, ...], method: str) -> str:
    """FHIRPath: the sum (or mean) of the answer codes, empty while any item is unanswered."""
    ids = " | ".join(f"'{link_id(n)}'" for n in item_numbers)
    codes = f"%resource.repeat(item).where(linkId in ({ids})).answer.value.code.select($this.toInteger())"
    total = f"{codes}.aggregate($this + $total, 0)"
    value = total if method == "sum" else f"({total}) / {len(item_numbers)}"
    return f"iif({codes}.count() = {len(item_numbers)}, {value}, {{}})"


def score_code(instrument: Instrument, name: str) -> dict[str, str]:
    if name == "total" and instrument.codes.loinc_total:
        return {"system": LOINC, "code": instrument.codes.loinc_total}
    label = "total score" if name == "total" else f"subscale {name}"
    return {
        "system": SCORE_SYSTEM,
        "code": f"{instrument.id}-{name}",
        "display": f"{instrument.abbreviation} {label}",
    }


def questionnaire(instrument: Instrument) -> Questionnaire:
    """The Questionnaire resource of ``instrument`` (validated by fhir.resources)."""
    licence = instrument.licence
    items: list[dict[str, Any]] = []
    for item in instrument.items:
        options = instrument.response_sets[item.responses]
        entry: dict[str, Any] = {
            "linkId": link_id(item.number),
            "prefix": str(item.number),
            "text": item.text if (licence.item_text and item.text) else item.label,
            "type": "choice",
            "required": item.required and item.asked_if is None,
            "answerOption": [
                {
                    "valueCoding": {
                        "system": answer_system(instrument.id, item.responses),
                        "code": str(option.code),
                        "display": option.label,
                    },
                    "extension": [{"url": ORDINAL_VALUE, "valueDecimal": option.code}],
                }
                for option in options
            ],
        }
        if item.asked_if is not None:
            gate = instrument.item(item.asked_if.item)
            entry["enableWhen"] = [
                {
                    "question": link_id(gate.number),
                    "operator": "=",
                    "answerCoding": {
                        "system": answer_system(instrument.id, gate.responses),
                        "code": str(item.asked_if.equals),
                    },
                }
            ]
        items.append(entry)
    for name, score in instrument.scores.items():
        items.append(
            {
                "linkId": score_link_id(name),
                "text": "Total score" if name == "total" else f"Subscale {name}",
                "type": "decimal" if score.method == "mean" else "integer",
                "readOnly": True,
                "code": [score_code(instrument, name)],
                "extension": [
                    {
                        "url": SDC_CALCULATED,
                        "valueExpression": {
                            "language": "text/fhirpath",
                            "expression": score_expression(score.items, score.method),
                        },
                    }
                ],
            }
        )
    data: dict[str, Any] = {
        "resourceType": "Questionnaire",
        "id": fhir_id(instrument.id),
        "meta": {"profile": [SDC_QUESTIONNAIRE, SDC_BEHAVE]},
        "url": questionnaire_url(instrument.id),
        "version": instrument.version,
        "name": "".join(part.capitalize() for part in instrument.id.split("_")),
        "title": instrument.name,
        "status": "active",
        "subjectType": ["Patient"],
        "copyright": f"{licence.holder} ({licence.terms.replace('_', ' ')}). {licence.note}".strip(),
        "item": items,
    }
    if instrument.instructions:
        data["description"] = instrument.instructions
    if instrument.codes.loinc_panel:
        data["code"] = [{"system": LOINC, "code": instrument.codes.loinc_panel}]
    return Questionnaire.model_validate(data)
