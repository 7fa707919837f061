"""Bytes of a learner file -> UTF-8 text or an .xlsx workbook, or the file error saying why not."""

from __future__ import annotations

import codecs
import zipfile
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

from tui.intake.report import Problem

# Signatures of formats people upload by mistake, with the name we tell them.
_BINARY_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Excel (.xls) or other Office 97-2003 file"),
    (b"%PDF-", "a PDF document"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"SQLite format 3\x00", "an SQLite database"),
)

_WHITESPACE_BYTES = b" \t\r\n\x0b\x0c"


@dataclass(frozen=True)
class TextFile:
    """A text file, re-encoded as UTF-8 without BOM (what the CSV reader takes)."""

    data: bytes
    encoding: str


@dataclass(frozen=True)
class Workbook:
    data: bytes


Decoded = TextFile | Workbook


def read_file_bytes(path: Path, max_bytes: int) -> bytes | Problem:
    """The file's bytes, unless it is missing, unreadable or over the size limit."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return Problem(code="file_not_found", message=f"There is no file at {path}.")
    except OSError as error:
        return Problem(code="unreadable_file", message=f"{path} cannot be read: {error.strerror}.")
    if path.is_dir():
        return Problem(
            code="unreadable_file", message=f"{path} is a folder; choose the learner file in it."
        )
    if size > max_bytes:
        return Problem(
            code="too_large",
            message=f"The file is {size / 1e6:,.1f} MB; the limit is {max_bytes / 1e6:,.0f} MB. "
            "Split it into smaller files.",
        )
    try:
        return path.read_bytes()
    except OSError as error:
        return Problem(code="unreadable_file", message=f"{path} cannot be read: {error.strerror}.")


def decode_learner_file(data: bytes, name: str) -> Decoded | Problem:
    """Decide what the bytes are: UTF-8/UTF-16/Windows-1252 text, an .xlsx workbook, or neither."""
    if not data.strip(_WHITESPACE_BYTES):
        return _empty()
    if data.startswith(b"PK\x03\x04"):
        return _sniff_zip(data, name)
    for signature, what in _BINARY_SIGNATURES:
        if data.startswith(signature):
            return Problem(
                code="unsupported_file",
                message=f"{name} is {what}, not a learner file. "
                "Save the sheet as CSV (UTF-8) or .xlsx and upload that.",
            )

    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _decoded(data, "utf-16", name)
    if b"\x00" in data:
        return _not_text(name, "it holds NUL bytes, as binary files do")
    if data.startswith(codecs.BOM_UTF8):
        text = data[len(codecs.BOM_UTF8) :]
        if _is_utf8(text):
            return TextFile(data=text, encoding="utf-8-sig") if text.strip() else _empty()
        return _decoded(data, "utf-8-sig", name)
    if _is_utf8(data):
        return TextFile(data=data, encoding="utf-8")
    return _decoded(data, "cp1252", name)


def _is_utf8(data: bytes) -> bool:
    if data.isascii():
        return True
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _decoded(data: bytes, encoding: str, name: str) -> TextFile | Problem:
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as error:
        what = {
            "utf-16": "UTF-16",
            "utf-8-sig": "UTF-8",
            "cp1252": "Windows-1252, UTF-8 or UTF-16",
        }[encoding]
        return _not_text(name, f"byte {error.start:,} is not valid {what}")
    text = text.removeprefix("\ufeff")
    if encoding == "utf-16" and "\x00" in text:
        return _not_text(name, "it holds NUL characters, as binary files do")
    if not text.strip():
        return _empty()
    return TextFile(data=text.encode("utf-8"), encoding=encoding)


def _sniff_zip(data: bytes, name: str) -> Decoded | Problem:
    try:
        with zipfile.ZipFile(BytesIO(data)) as archive:
            members = set(archive.namelist())
    except zipfile.BadZipFile:
        return Problem(
            code="unsupported_file",
            message=f"{name} looks like a workbook or zip archive but is damaged. "
            "Save the sheet again as CSV (UTF-8) or .xlsx.",
        )
    if "xl/workbook.xml" in members or "xl/workbook.bin" in members:
        return Workbook(data=data)
    if "content.xml" in members and "mimetype" in members:
        what = "an OpenDocument spreadsheet (.ods)"
    elif any(member.startswith("Index/") for member in members):
        what = "a Numbers document"
    elif "word/document.xml" in members:
        what = "a Word document"
    else:
        what = "a zip archive"
    return Problem(
        code="unsupported_file",
        message=f"{name} is {what}, which Roster does not read. "
        "Save the sheet as CSV (UTF-8) or .xlsx and upload that.",
    )


def _empty() -> Problem:
    return Problem(
        code="empty_file",
        message="The file is empty. Fill in the template: the header row "
        "Full Name, Email, External ID, then one row per learner.",
    )


def _not_text(name: str, why: str) -> Problem:
    return Problem(
        code="not_text",
        message=f"{name} is not a text file Roster can read: {why}. "
        "Save the sheet as CSV (UTF-8) or .xlsx and upload that.",
    )
