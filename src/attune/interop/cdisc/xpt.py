"""SAS transport (XPT) version 5 files: written with NumPy, read back with pyreadstat.

Why not ``pyreadstat.write_xport``: it converts every text cell in Python, about 7 µs a cell
(measured here: 40 s for one million QS rows); the QS domain of 10,000 participants has about
nine million rows, so writing it would take minutes. The format itself is small (80-byte header
records, 140-byte variable descriptors, fixed-width observations, IBM floating point), so this
module writes it column-wise with NumPy: each distinct text value is encoded once and gathered by
code. pyreadstat (ReadStat) stays the reader: the tests read every file back with it and compare
with what was written, and check a frame written by both writers reads back the same.

Limits of version 5 enforced here: names of at most 8 characters, labels of 40, text of 200
bytes (ASCII; longer values are cut and reported), numbers as 8-byte IBM floats (every IEEE
double within IBM range converts exactly; NaN is the SAS missing value ``.``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from attune.interop.cdisc.model import MAX_CHAR, MAX_LABEL, Dataset

_NAME = re.compile(r"^[A-Z][A-Z0-9_]{0,7}$")
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_SAS_EPOCH = pd.Timestamp("1960-01-01")
#: observations gathered and written at a time (bounds memory for the nine-million-row QS)
CHUNK_ROWS = 250_000


def ascii_text(value: str) -> str:
    """Transport files are ASCII: accents are dropped (é -> e), other characters become '?'."""
    if value.isascii():
        return value
    decomposed = unicodedata.normalize("NFKD", value)
    kept = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return kept.encode("ascii", "replace").decode("ascii")


def ibm_float(values: np.ndarray) -> np.ndarray:
    """IEEE doubles as big-endian IBM 370 doubles (``>u8``); NaN as the SAS missing value."""
    x = np.asarray(values, dtype=np.float64)
    bits = x.view(np.uint64)
    sign = bits >> np.uint64(63)
    exponent = ((bits >> np.uint64(52)) & np.uint64(0x7FF)).astype(np.int64) - 1023
    mantissa = (bits & np.uint64(0x000FFFFFFFFFFFFF)) | np.uint64(0x0010000000000000)
    # value = 0.1m (binary) * 2**(exponent + 1) = F / 2**56 * 16**(ibm - 64)
    ibm = -((-(exponent + 1)) // 4)  # ceil((exponent + 1) / 4)
    shift = (4 * ibm - (exponent + 1)).astype(np.uint64)
    fraction = mantissa << (np.uint64(3) - shift)
    out = (sign << np.uint64(63)) | ((ibm + 64).astype(np.uint64) << np.uint64(56)) | fraction
    finite = np.isfinite(x)
    zero = (x == 0) | (np.abs(x) < 5.4e-79)  # below IBM range: zero
    if np.any(finite & (np.abs(x) >= 7.2e75)):
        raise ValueError("a number is beyond the range of SAS transport files (7.2e75)")
    out = np.where(zero, np.uint64(0), out)
    out = np.where(~finite, np.uint64(0x2E00000000000000), out)
    return out.astype(">u8")


def _sas_datetime(moment: datetime) -> bytes:
    text = f"{moment.day:02d}{_MONTHS[moment.month - 1]}{moment.year % 100:02d}:{moment:%H:%M:%S}"
    return text.encode("ascii")


def _pad(text: bytes, width: int) -> bytes:
    return text[:width].ljust(width, b" ")


def _header(kind: str, tail: str = "0" * 30) -> bytes:
    return _pad(f"HEADER RECORD*******{kind:<8}HEADER RECORD!!!!!!!{tail}".encode("ascii"), 80)


def _text_column(series: pd.Series) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """(table of distinct values as ``S{width}`` padded with blanks, each row's code into it,
    rows cut at 200 bytes). Categorical columns are not factorized again."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        codes = series.cat.codes.to_numpy().astype(np.int64)
        uniques = series.cat.categories
        # the length is the longest value present, not the longest category
        used = np.bincount(codes + 1, minlength=len(uniques) + 1)[1:] > 0
        if not used.all():
            keep = np.flatnonzero(used)
            remap = np.full(len(uniques) + 1, -1, dtype=np.int64)
            remap[keep] = np.arange(len(keep))
            codes = remap[codes]  # -1 (missing) indexes the last entry: -1 again
            uniques = uniques[keep]
    else:
        codes, uniques = pd.factorize(series.astype(object), use_na_sentinel=True)
    encoded = [ascii_text(str(u)).encode("ascii") for u in uniques]
    width = max([1, *(len(e) for e in encoded)])
    cut_codes = [i for i, e in enumerate(encoded) if len(e) > MAX_CHAR]
    width = min(width, MAX_CHAR)
    table = np.array([_pad(e, width) for e in encoded] + [b" " * width], dtype=f"S{width}")
    codes = np.where(codes < 0, len(encoded), codes)
    cut_rows = np.flatnonzero(np.isin(codes, cut_codes)).tolist() if cut_codes else []
    return table, codes, cut_rows


def _number_column(series: pd.Series, as_date: bool) -> np.ndarray[Any, Any]:
    if as_date:
        moments = pd.to_datetime(series, errors="coerce")
        numbers = (moments - _SAS_EPOCH).dt.days.astype("Float64")
    else:
        numbers = pd.to_numeric(series, errors="coerce").astype("Float64")
    return ibm_float(numbers.to_numpy(dtype=np.float64, na_value=np.nan))


@dataclass(frozen=True)
class Written:
    """What a transport file holds: each text variable's length (for Define-XML), and the
    values longer than 200 bytes that were cut."""

    lengths: dict[str, int]
    cut: list[str]


def write_xpt(path: Path | str, dataset: Dataset, created: datetime) -> Written:
    """Write ``dataset`` as a version 5 transport file (one member, named as the dataset).

    The lengths it returns go into Define-XML.
    """
    frame = dataset.ordered()
    n = len(frame)
    if not _NAME.match(dataset.name):
        raise ValueError(f"dataset name {dataset.name!r} is not a SAS v5 name")
    columns: list[tuple[np.ndarray, np.ndarray | None]] = []
    lengths: dict[str, int] = {}
    cut: list[str] = []
    namestrs = b""
    position = 0
    for number, variable in enumerate(dataset.variables, start=1):
        if not _NAME.match(variable.name):
            raise ValueError(f"{dataset.name}.{variable.name} is not a SAS v5 name (1-8 chars)")
        if len(variable.label) > MAX_LABEL:
            raise ValueError(f"{dataset.name}.{variable.name}: label longer than 40 characters")
        if variable.numeric:
            data, codes = _number_column(frame[variable.name], variable.type == "date"), None
            width = 8
            form, form_len = ("DATE", 9) if variable.type == "date" else ("", 0)
        else:
            data, codes, cut_rows = _text_column(frame[variable.name])
            width = data.dtype.itemsize
            form, form_len = "", 0
            if cut_rows:
                cut.append(
                    f"{dataset.name}.{variable.name}: {len(cut_rows)} values cut to 200 bytes "
                    f"(first at record {cut_rows[0] + 1})"
                )
        columns.append((data, codes))
        lengths[variable.name] = width
        namestrs += (
            np.array([1 if variable.numeric else 2, 0, width, number], dtype=">i2").tobytes()
            + _pad(variable.name.encode("ascii"), 8)
            + _pad(ascii_text(variable.label).encode("ascii"), 40)
            + _pad(form.encode("ascii"), 8)
            + np.array([form_len, 0, 0], dtype=">i2").tobytes()
            + b"\x00\x00"
            + b" " * 8
            + np.array([0, 0], dtype=">i2").tobytes()
            + np.array([position], dtype=">i4").tobytes()
            + b"\x00" * 52
        )
        position += width
    stamp = _sas_datetime(created)
    head = (
        _header("LIBRARY")
        + _pad(b"SAS     SAS     SASLIB  9.4     X64_7PRO" + b" " * 24 + stamp, 80)
        + _pad(stamp, 80)
        + _header("MEMBER", "000000000000000001600000000140")
        + _header("DSCRPTR")
        + _pad(
            b"SAS     "
            + _pad(dataset.name.encode("ascii"), 8)
            + b"SASDATA 9.4     X64_7PRO"
            + b" " * 24
            + stamp,
            80,
        )
        + _pad(stamp + b" " * 16 + _pad(ascii_text(dataset.label).encode("ascii"), 40), 80)
        + _header("NAMESTR", f"000000{len(dataset.variables):04d}00000000000000000000")
    )
    namestrs += b" " * (-len(namestrs) % 80)
    dtype = np.dtype([(f"f{i}", data.dtype) for i, (data, _) in enumerate(columns)])
    with open(path, "wb") as handle:
        handle.write(head + namestrs + _header("OBS"))
        written = 0
        for start in range(0, n, CHUNK_ROWS):
            stop = min(n, start + CHUNK_ROWS)
            records = np.empty(stop - start, dtype=dtype)
            for i, (data, codes) in enumerate(columns):
                records[f"f{i}"] = data[start:stop] if codes is None else data[codes[start:stop]]
            handle.write(records.tobytes())
            written += records.nbytes
        handle.write(b" " * (-written % 80))
    return Written(lengths, cut)


def read_xpt(path: Path | str) -> tuple[pd.DataFrame, object]:
    """Read a transport file with pyreadstat: (frame, pyreadstat metadata)."""
    import pyreadstat

    return pyreadstat.read_xport(str(path))
