"""Reading the dictionaries a licensee loads: the MedDRA ASCII distribution and a drug dictionary.

MedDRA (``MedAscii`` folder of the MSSO distribution): ``$``-separated fields, one record a line,
each line ending in ``$``. The files read, and their leading fields (the rest are ignored):

* ``soc.asc``:  soc_code $ soc_name $ soc_abbrev $ ...
* ``hlgt.asc``: hlgt_code $ hlgt_name $ ...
* ``hlt.asc``:  hlt_code $ hlt_name $ ...
* ``pt.asc``:   pt_code $ pt_name $ (null) $ pt_soc_code $ ...
* ``llt.asc``:  llt_code $ llt_name $ pt_code $ (7 cross-reference fields) $ llt_currency $ ...
* ``soc_hlgt.asc``, ``hlgt_hlt.asc``, ``hlt_pt.asc``: parent_code $ child_code $
* ``mdhier.asc``: pt_code $ hlt_code $ hlgt_code $ soc_code $ (names) ... $ primary_soc_fg $ (12th)
* ``meddra_release.asc`` (optional): version $ language $

English files are extended ASCII (read as Latin-1 when not UTF-8); other languages are UTF-8.

The drug dictionary (WHODrug-style, the format is Attune's own, documented in
docs/data-management.md): a CSV file with the header
``drug_code,drug_name,atc_code,atc_text,synonyms``, synonyms separated by ``;``.

Every problem is reported with its file and line, and nothing is loaded unless the whole
dictionary is sound.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

MEDDRA_FILES = (
    "soc.asc",
    "hlgt.asc",
    "hlt.asc",
    "pt.asc",
    "llt.asc",
    "soc_hlgt.asc",
    "hlgt_hlt.asc",
    "hlt_pt.asc",
    "mdhier.asc",
)
DRUG_COLUMNS = ("drug_code", "drug_name", "atc_code", "atc_text", "synonyms")
ATC = re.compile(r"[A-Z]([0-9]{2}([A-Z]([A-Z]([0-9]{2})?)?)?)?")
DRUG_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,31}")
MAX_ERRORS = 20


class DictionaryError(ValueError):
    """The dictionary cannot be loaded; ``problems`` say where and why (file, line)."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        more = f" (and {len(problems) - MAX_ERRORS} more)" if len(problems) > MAX_ERRORS else ""
        super().__init__("; ".join(problems[:MAX_ERRORS]) + more)


def normalise(text: str) -> str:
    """The matching key of a term: case-folded, whitespace collapsed."""
    return " ".join(text.casefold().split())


@dataclass
class Meddra:
    version: str
    socs: dict[int, tuple[str, str]] = field(default_factory=dict)  # code -> (name, abbrev)
    hlgts: dict[int, str] = field(default_factory=dict)
    hlts: dict[int, str] = field(default_factory=dict)
    pts: dict[int, tuple[str, int]] = field(default_factory=dict)  # code -> (name, primary soc)
    llts: dict[int, tuple[str, int, bool]] = field(default_factory=dict)  # (name, pt, current)
    paths: list[tuple[int, int, int, int, bool]] = field(default_factory=list)


@dataclass(frozen=True)
class DrugEntry:
    code: str
    name: str
    atc_code: str
    atc_text: str
    synonyms: tuple[str, ...]


def _text(path: Path) -> str:
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _records(
    folder: Path, name: str, width: int, problems: list[str]
) -> list[tuple[int, list[str]]]:
    """The lines of ``name`` as ``(line number, fields)``, each with at least ``width`` fields."""
    path = folder / name
    if not path.is_file():
        problems.append(f"{name}: missing from {folder}")
        return []
    rows = []
    for number, line in enumerate(_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split("$")
        if len(fields) < width:
            problems.append(f"{name} line {number}: {len(fields)} field(s), expected {width}")
            continue
        rows.append((number, [f.strip() for f in fields]))
    return rows


def _code(value: str, where: str, problems: list[str]) -> int | None:
    if not value.isdigit() or len(value) > 9:
        problems.append(f"{where}: {value[:20]!r} is not a MedDRA code (digits)")
        return None
    return int(value)


def _name(value: str, where: str, problems: list[str]) -> str | None:
    if not value or len(value) > 100:
        problems.append(f"{where}: a name of 1-100 characters is required")
        return None
    return value


def read_meddra(folder: Path) -> Meddra:
    """Read and check the MedDRA ASCII files in ``folder``."""
    problems: list[str] = []
    if not folder.is_dir():
        raise DictionaryError([f"{folder}: not a folder"])
    version = "unknown"
    release = folder / "meddra_release.asc"
    if release.is_file():
        version = _text(release).split("$")[0].strip()[:64] or version
    meddra = Meddra(version=version)

    def named(name: str, width: int) -> list[tuple[int, str, list[str]]]:
        found = []
        for number, fields in _records(folder, name, width, problems):
            where = f"{name} line {number}"
            code, label = _code(fields[0], where, problems), _name(fields[1], where, problems)
            if code is not None and label is not None:
                found.append((code, label, fields))
        return found

    for code, label, fields in named("soc.asc", 3):
        meddra.socs[code] = (label, fields[2][:10])
    for code, label, _ in named("hlgt.asc", 2):
        meddra.hlgts[code] = label
    for code, label, _ in named("hlt.asc", 2):
        meddra.hlts[code] = label
    for code, label, fields in named("pt.asc", 4):
        soc = _code(fields[3], f"pt.asc PT {code}", problems)
        if soc is not None and soc not in meddra.socs:
            problems.append(f"pt.asc PT {code}: primary SOC {soc} is not in soc.asc")
        elif soc is not None:
            meddra.pts[code] = (label, soc)
    for code, label, fields in named("llt.asc", 10):
        pt = _code(fields[2], f"llt.asc LLT {code}", problems)
        if pt is not None and pt not in meddra.pts:
            problems.append(f"llt.asc LLT {code}: PT {pt} is not in pt.asc")
        elif pt is not None:
            meddra.llts[code] = (label, pt, fields[9].upper() != "N")
    links = (
        ("soc_hlgt.asc", meddra.socs, meddra.hlgts),
        ("hlgt_hlt.asc", meddra.hlgts, meddra.hlts),
        ("hlt_pt.asc", meddra.hlts, meddra.pts),
    )
    linked: dict[str, set[tuple[int, int]]] = {}
    for name, parents, children in links:
        pairs = linked.setdefault(name, set())
        for number, fields in _records(folder, name, 2, problems):
            where = f"{name} line {number}"
            parent, child = _code(fields[0], where, problems), _code(fields[1], where, problems)
            if parent is None or child is None:
                continue
            if parent not in parents or child not in children:
                problems.append(f"{where}: {parent} -> {child} links a code not in its file")
                continue
            pairs.add((parent, child))
    for number, fields in _records(folder, "mdhier.asc", 12, problems):
        where = f"mdhier.asc line {number}"
        codes = [_code(value, where, problems) for value in fields[:4]]
        pt, hlt, hlgt, soc = codes
        if pt is None or hlt is None or hlgt is None or soc is None:
            continue
        if (
            (hlt, pt) not in linked["hlt_pt.asc"]
            or (hlgt, hlt) not in linked["hlgt_hlt.asc"]
            or (soc, hlgt) not in linked["soc_hlgt.asc"]
        ):
            problems.append(f"{where}: the path {soc}/{hlgt}/{hlt}/{pt} is not in the link files")
            continue
        meddra.paths.append((pt, hlt, hlgt, soc, fields[11].upper() == "Y"))
    if not problems and not meddra.llts:
        problems.append("llt.asc: no lowest level terms")
    if problems:
        raise DictionaryError(problems)
    return meddra


def read_drugs(path: Path) -> list[DrugEntry]:
    """Read and check a drug dictionary CSV (see the module's docstring)."""
    if not path.is_file():
        raise DictionaryError([f"{path}: not a file"])
    problems: list[str] = []
    reader = csv.DictReader(io.StringIO(_text(path)))
    if tuple(reader.fieldnames or ()) != DRUG_COLUMNS:
        raise DictionaryError([f"{path.name} line 1: the header must be {','.join(DRUG_COLUMNS)}"])
    entries: list[DrugEntry] = []
    seen: set[str] = set()
    for row in reader:
        where = f"{path.name} line {reader.line_num}"
        if None in row or any(value is None for value in row.values()):
            problems.append(f"{where}: {len(DRUG_COLUMNS)} columns expected")
            continue
        code, name = row["drug_code"].strip(), row["drug_name"].strip()
        atc, atc_text = row["atc_code"].strip().upper(), row["atc_text"].strip()
        if not DRUG_CODE.fullmatch(code):
            problems.append(f"{where}: drug_code {code[:40]!r}: 1-32 letters, digits, . _ -")
            continue
        if code in seen:
            problems.append(f"{where}: drug_code {code} is listed twice")
        seen.add(code)
        if not name or len(name) > 200:
            problems.append(f"{where}: drug_name of 1-200 characters is required")
        if not ATC.fullmatch(atc):
            problems.append(f"{where}: {atc[:20]!r} is not an ATC code (e.g. N06AB06)")
        if len(atc_text) > 200:
            problems.append(f"{where}: atc_text is longer than 200 characters")
        synonyms = tuple(s.strip() for s in row["synonyms"].split(";") if s.strip())
        if any(len(s) > 200 for s in synonyms):
            problems.append(f"{where}: a synonym is longer than 200 characters")
        entries.append(DrugEntry(code, name, atc, atc_text, synonyms))
    if not problems and not entries:
        problems.append(f"{path.name}: no drugs")
    if problems:
        raise DictionaryError(problems)
    return entries
