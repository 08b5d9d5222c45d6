"""What a CDISC dataset is here: a table plus the metadata Define-XML and the writers need.

Every domain builder returns a :class:`Dataset` whose ``variables`` list each column once, in
order, with its label, type, length limit, codelist, origin and core status; the XPT and
Dataset-JSON writers and the Define-XML builder all read the same object, so the files and their
definition cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pandas as pd

VarType = Literal["text", "integer", "float", "date"]
Core = Literal["Req", "Exp", "Perm", "Cond"]
OriginType = Literal["Collected", "Derived", "Assigned", "Protocol", "Predecessor"]

#: SAS XPT version 5 limits
MAX_NAME = 8
MAX_LABEL = 40
MAX_CHAR = 200


@dataclass(frozen=True)
class Variable:
    """One column: ``type`` ``date`` is a numeric SAS date (ADaM ``*DT``); SDTM dates are text."""

    name: str
    label: str
    type: VarType = "text"
    core: Core = "Perm"
    origin: OriginType = "Collected"
    codelist: str | None = None
    #: how the value is derived, for Define-XML (origin Derived)
    method: str = ""

    @property
    def numeric(self) -> bool:
        return self.type != "text"


@dataclass(frozen=True)
class Codelist:
    """A codelist of Define-XML: ``terms`` maps each submission value to its decode."""

    oid: str
    name: str
    terms: dict[str, str]
    #: the CDISC Controlled Terminology codelist, or None for a sponsor-defined one
    cdisc_code: str | None = None
    numeric: bool = False


@dataclass
class Dataset:
    """A domain or analysis dataset: its frame and the metadata that defines it."""

    name: str
    label: str
    cls: (
        str  # the SDTM/ADaM class: SPECIAL PURPOSE, FINDINGS, ... or SUBJECT LEVEL ANALYSIS DATASET
    )
    structure: str
    keys: tuple[str, ...]
    variables: list[Variable]
    frame: pd.DataFrame
    standard: Literal["SDTM", "ADaM"] = "SDTM"
    reference: bool = False  # trial design: not subject data
    comment: str = ""
    codelists: list[Codelist] = field(default_factory=list)
    #: codelist name -> (external dictionary, version) for coded terms (MedDRA, the drug
    #: dictionary): Define-XML names the dictionary instead of listing its terms
    dictionaries: dict[str, tuple[str, str]] = field(default_factory=dict)

    def variable(self, name: str) -> Variable:
        for variable in self.variables:
            if variable.name == name:
                return variable
        raise KeyError(name)

    @property
    def domain(self) -> str:
        """The two-letter domain (``QS`` for ``QS``, ``AE`` for ``SUPPAE``)."""
        return self.name[4:] if self.name.startswith("SUPP") else self.name

    def ordered(self) -> pd.DataFrame:
        """The frame with exactly the declared columns, in order (absent ones empty)."""
        frame = self.frame
        for variable in self.variables:
            if variable.name not in frame:
                frame[variable.name] = pd.Series(
                    float("nan") if variable.numeric else None, index=frame.index, dtype=object
                )
        return frame[[v.name for v in self.variables]]
