"""The boundary rules of recordings and presence times (on top of attune.web.validation)."""

from __future__ import annotations

import re
from datetime import time

from attune.web.validation import text_problem

SHA256 = re.compile(r"[0-9a-fA-F]{64}")
#: a URI with a scheme (s3://bucket/key, https://host/path, smb://server/share/file)
URI = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[^\s]+")
#: an absolute path: POSIX (/data/...), Windows (D:\\... or D:/...) or UNC (\\\\server\\share\\...)
PATH = re.compile(r"(/[^\x00]*|[A-Za-z]:[\\/][^\x00]*|\\\\[^\\\s]+\\[^\x00]+)")
CLOCK = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")
FILE_NAME_TEXT = 255
LOCATION_TEXT = 500
MAX_MINUTES = 24 * 60


def sha256_problem(value: str) -> str | None:
    if not SHA256.fullmatch(value.strip()):
        return "a SHA-256 is 64 hexadecimal characters (0-9, a-f)"
    return None


def file_name_problem(value: str) -> str | None:
    if problem := text_problem(value, FILE_NAME_TEXT):
        return problem
    name = value.strip()
    if not name:
        return "give the recording's file name"
    if "/" in name or "\\" in name:
        return "the file name only (the folder goes in the storage location)"
    return None


def location_problem(value: str) -> str | None:
    if problem := text_problem(value, LOCATION_TEXT):
        return problem
    place = value.strip()
    if not place:
        return "say where the recording is kept (a URI such as s3://bucket/folder, or a path)"
    if not (URI.fullmatch(place) or PATH.fullmatch(place)):
        return "write a URI (s3://bucket/folder/file) or an absolute path (/archive/..., D:\\archive\\...)"
    return None


def parse_clock(text: str) -> time | None:
    match = CLOCK.fullmatch(text.strip())
    return time(int(match[1]), int(match[2])) if match else None
