"""Bytes of a learner file -> UTF-8 text or an .xlsx workbook, or the file error saying why not."""

from __future__ import annotations

import codecs
import os
import re
import stat
import struct
import zipfile
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

from tui.intake.fields import HEADERS
from tui.intake.report import Problem

# Compound File Binary (OLE2): old .xls files, and the envelope Excel saves a password-protected
# .xlsx in, recognizable by its stream names (UTF-16 directory entries).
_CFB_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED_PACKAGE = "EncryptedPackage".encode("utf-16-le")

# Signatures of formats people upload by mistake, with the name we tell them.
_BINARY_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (_CFB_SIGNATURE, "an old Excel (.xls) or other Office 97-2003 file"),
    (b"%PDF-", "a PDF document"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"SQLite format 3\x00", "an SQLite database"),
)

_NOT_BLANK = re.compile(rb"[^ \t\r\n\x0b\x0c]")


@dataclass(frozen=True)
class TextFile:
    """A text file as UTF-8, what the CSV readers take: `data[start:]` (after any BOM).

    A file that looks like UTF-8 is not decoded here: the readers check it as they read (a
    separate pass costs as much as reading it). Should they find it is not UTF-8,
    `decode_learner_file(..., assume_utf8=False)` decides what it is.
    """

    data: bytes
    encoding: str
    start: int = 0


@dataclass(frozen=True)
class Workbook:
    data: bytes


Decoded = TextFile | Workbook


def read_file_bytes(path: Path, max_bytes: int) -> bytes | Problem:
    """The file's bytes, unless it is missing, not a regular file, unreadable or over the limit.

    Only regular files are read, and never more than `max_bytes` + 1 bytes whatever the file
    system says its size is (a file may grow, and devices report 0).
    """
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return Problem(code="file_not_found", message=f"There is no file at {path}.")
    except OSError as error:
        return Problem(code="unreadable_file", message=f"{path} cannot be read: {error.strerror}.")
    if stat.S_ISDIR(info.st_mode):
        return Problem(
            code="unreadable_file", message=f"{path} is a folder; choose the learner file in it."
        )
    if not stat.S_ISREG(info.st_mode):
        return _not_regular(path, info.st_mode)
    if info.st_size > max_bytes:
        return _too_large(info.st_size, max_bytes)
    try:
        # O_NONBLOCK: should the path become a FIFO after the check, opening it does not wait.
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as error:
        return Problem(code="unreadable_file", message=f"{path} cannot be read: {error.strerror}.")
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            return _not_regular(path, info.st_mode)
        with os.fdopen(descriptor, "rb", closefd=False) as handle:
            data = handle.read(max_bytes + 1)
    except OSError as error:
        return Problem(code="unreadable_file", message=f"{path} cannot be read: {error.strerror}.")
    finally:
        os.close(descriptor)
    if len(data) > max_bytes:
        return _too_large(len(data), max_bytes, more=True)
    return data


def _not_regular(path: Path, mode: int) -> Problem:
    what = (
        "a named pipe (FIFO)"
        if stat.S_ISFIFO(mode)
        else "a device"
        if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
        else "a socket"
        if stat.S_ISSOCK(mode)
        else "not a regular file"
    )
    return Problem(
        code="unreadable_file",
        message=f"{path} is {what}, not a file Roster reads; choose a saved learner file.",
    )


def _too_large(size: int, max_bytes: int, *, more: bool = False) -> Problem:
    amount = f"over {max_bytes / 1e6:,.0f} MB" if more else f"{size / 1e6:,.1f} MB"
    return Problem(
        code="too_large",
        message=f"The file is {amount}; the limit is {max_bytes / 1e6:,.0f} MB. "
        "Split it into smaller files.",
    )


def decode_learner_file(
    data: bytes, name: str, max_bytes: int | None = None, *, assume_utf8: bool = True
) -> Decoded | Problem:
    """Decide what the bytes are: UTF-8/UTF-16/Windows-1252 text, an .xlsx workbook, or neither.

    With `assume_utf8`, text that is neither UTF-16 nor binary is taken as UTF-8 unverified (see
    `TextFile`); without it, it is verified, and read as Windows-1252 when it is not UTF-8.
    """
    if _NOT_BLANK.search(data) is None:
        return _empty()
    if data.startswith(b"PK\x03\x04"):
        return _sniff_zip(data, name)
    if data.startswith(_CFB_SIGNATURE) and _ENCRYPTED_PACKAGE in data:
        return Problem(
            code="unsupported_file",
            message=f"{name} is a password-protected Excel workbook, which Roster cannot open. "
            "In Excel, remove the password (File > Info > Protect Workbook) or save the sheet "
            "as CSV (UTF-8), and upload that.",
        )
    for signature, what in _BINARY_SIGNATURES:
        if data.startswith(signature):
            return Problem(
                code="unsupported_file",
                message=f"{name} is {what}, not a learner file. "
                "Save the sheet as CSV (UTF-8) or .xlsx and upload that.",
            )

    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _decoded(data, "utf-16", name, max_bytes)
    if b"\x00" in data:
        return _not_text(name, "it holds NUL bytes, as binary files do")
    if data.startswith(codecs.BOM_UTF8):
        start = len(codecs.BOM_UTF8)
        if _NOT_BLANK.search(data, start) is None:
            return _empty()
        if assume_utf8:
            return TextFile(data=data, encoding="utf-8-sig", start=start)
        return _decoded(data, "utf-8-sig", name, max_bytes)
    if assume_utf8 or _is_utf8(data):
        return TextFile(data=data, encoding="utf-8")
    # Windows-1252 bytes from 0x80 take 2 or 3 bytes in UTF-8: refuse before converting what
    # would be over the limit (the limit holds for the text Roster reads).
    if max_bytes is not None and _cp1252_as_utf8(data) > max_bytes:
        return _over_once_converted(_cp1252_as_utf8(data), max_bytes)
    return _decoded(data, "cp1252", name, max_bytes)


_HIGH = bytes(range(0x80, 0xA0))
_LATIN = bytes(range(0xA0, 0x100))


def _cp1252_as_utf8(data: bytes) -> int:
    """The UTF-8 size of Windows-1252 bytes (0x80-0x9F are 3 bytes, 0xA0-0xFF 2): no loop."""
    high = len(data) - len(data.translate(None, _HIGH))
    latin = len(data) - len(data.translate(None, _LATIN))
    return len(data) + 2 * high + latin


def _over_once_converted(size: int, max_bytes: int) -> Problem:
    return Problem(
        code="too_large",
        message=f"Converted to UTF-8, the file is {size / 1e6:,.1f} MB; the limit is "
        f"{max_bytes / 1e6:,.0f} MB. Split it into smaller files.",
    )


def _is_utf8(data: bytes) -> bool:
    if data.isascii():
        return True
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _decoded(
    data: bytes, encoding: str, name: str, max_bytes: int | None = None
) -> TextFile | Problem:
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
    encoded = text.encode("utf-8")
    del text
    if max_bytes is not None and len(encoded) > max_bytes:
        return _over_once_converted(len(encoded), max_bytes)
    return TextFile(data=encoded, encoding=encoding)


# A workbook has tens of parts; zipfile builds an object for each member the archive lists,
# so a zip of millions of empty members costs gigabytes before any check can look at them.
MAX_ZIP_MEMBERS = 10_000


def _zip_member_count(data: bytes) -> int | None:
    """How many members the zip's end record declares (zip64 too); None when it has none."""
    end = data.rfind(b"PK\x05\x06", max(0, len(data) - 65_557))
    if end < 0 or len(data) < end + 22:
        return None
    (count,) = struct.unpack_from("<H", data, end + 10)
    locator = end - 20
    if count == 0xFFFF and locator >= 0 and data[locator : locator + 4] == b"PK\x06\x07":
        (record,) = struct.unpack_from("<Q", data, locator + 8)
        if data[record : record + 4] == b"PK\x06\x06" and len(data) >= record + 40:
            (count,) = struct.unpack_from("<Q", data, record + 32)
    return int(count)


def _sniff_zip(data: bytes, name: str) -> Decoded | Problem:
    count = _zip_member_count(data)
    if count is not None and count > MAX_ZIP_MEMBERS:
        return Problem(
            code="unsupported_file",
            message=f"{name} is a zip archive of {count:,} files, not a workbook (a workbook "
            "holds a few dozen). Save the sheet as CSV (UTF-8) or .xlsx and upload that.",
        )
    try:
        with zipfile.ZipFile(BytesIO(data)) as archive:
            members = set(archive.namelist())
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, OSError):
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
        f"{', '.join(HEADERS)}, then one row per learner.",
    )


def _not_text(name: str, why: str) -> Problem:
    return Problem(
        code="not_text",
        message=f"{name} is not a text file Roster can read: {why}. "
        "Save the sheet as CSV (UTF-8) or .xlsx and upload that.",
    )
