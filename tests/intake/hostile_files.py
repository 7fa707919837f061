"""Builders of hostile learner files, sized by the caller: small in tests, at the limit in
bench/hostile.py. Each writes `path` and returns it."""

from __future__ import annotations

import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path

import openpyxl

HEADER = "Full Name,Email,External ID"
_NS = b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
_CONTENT_TYPES = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    b'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships'
    b'+xml"/><Default Extension="xml" ContentType="application/xml"/>'
    b'<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
    b'officedocument.spreadsheetml.sheet.main+xml"/>'
    b'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.'
    b'openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'
)
_RELS = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    b'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    b'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
_WORKBOOK = (
    b'<?xml version="1.0" encoding="UTF-8"?><workbook ' + _NS + b" "
    b'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    b'<sheets><sheet name="Learners" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    b'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    b'relationships/worksheet" Target="worksheets/sheet1.xml"/>'
    b'<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    b'relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>'
)
HEADER_ROW = (
    b'<row r="1"><c r="A1" t="inlineStr"><is><t>Full Name</t></is></c>'
    b'<c r="B1" t="inlineStr"><is><t>Email</t></is></c>'
    b'<c r="C1" t="inlineStr"><is><t>External ID</t></is></c></row>'
)
LEARNER_ROW = (
    b'<row r="2"><c r="A2" t="inlineStr"><is><t>Ann Lee</t></is></c>'
    b'<c r="B2" t="inlineStr"><is><t>ann@example.com</t></is></c></row>'
)


def sheet(rows: Iterable[bytes], dimension: bytes | None = None) -> Iterator[bytes]:
    """The chunks of a worksheet part holding `rows` (already `<row>` elements)."""
    yield b'<?xml version="1.0" encoding="UTF-8"?><worksheet ' + _NS + b">"
    if dimension is not None:
        yield b'<dimension ref="' + dimension + b'"/>'
    yield b"<sheetData>"
    yield from rows
    yield b"</sheetData></worksheet>"


def workbook(
    path: Path,
    sheet_chunks: Iterable[bytes],
    shared_strings: Iterable[bytes] | None = None,
    *,
    members: dict[str, bytes] | None = None,
) -> Path:
    """A minimal .xlsx, its sheet (and shared strings) streamed in from chunks."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("_rels/.rels", _RELS)
        archive.writestr("xl/workbook.xml", _WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as part:
            for chunk in sheet_chunks:
                part.write(chunk)
        if shared_strings is not None:
            with archive.open("xl/sharedStrings.xml", "w", force_zip64=True) as part:
                for chunk in shared_strings:
                    part.write(chunk)
        for name, data in (members or {}).items():
            archive.writestr(name, data)
    return path


def far_cell_xlsx(path: Path) -> Path:
    """A few KB: the template, one learner, and one cell at XFD1048576 (the last cell)."""
    book = openpyxl.Workbook()
    active = book.active
    assert active is not None
    active.append(["Full Name", "Email", "External ID"])
    active.append(["Ann Lee", "ann@example.com", "A1"])
    active["XFD1048576"] = "x"
    book.save(path)
    return path


def unpacked_bomb_xlsx(path: Path, unpacked: int) -> Path:
    """A sheet that unpacks to `unpacked` bytes of blank rows (compresses ~1000 to 1)."""
    block = b"<row/>" * (1 << 17)

    def rows() -> Iterator[bytes]:
        yield HEADER_ROW + LEARNER_ROW
        for _ in range(unpacked // len(block) + 1):
            yield block

    return workbook(path, sheet(rows()))


def row_bomb_xlsx(path: Path, rows: int) -> Path:
    """`rows` rows without references (each takes the next row), one cell each."""
    row = b'<row><c t="inlineStr"><is><t>a</t></is></c></row>'

    def chunks() -> Iterator[bytes]:
        yield HEADER_ROW
        done = 0
        while done < rows:
            count = min(10_000, rows - done)
            yield row * count
            done += count

    return workbook(path, sheet(chunks()))


def wide_row_xlsx(path: Path, cells: int) -> Path:
    """One row of `cells` cells without references: a grid `cells` columns wide."""
    return workbook(path, sheet([HEADER_ROW, b"<row>", b"<c><v>1</v></c>" * cells, b"</row>"]))


def far_reference_xlsx(path: Path, reference: bytes) -> Path:
    """The template, a learner, and one cell at `reference` (e.g. b"XFD1048576")."""
    digits = bytes(character for character in reference if 48 <= character <= 57)
    far = b'<row r="' + digits + b'"><c r="' + reference + b'"><v>1</v></c></row>'
    return workbook(path, sheet([HEADER_ROW, LEARNER_ROW, far]))


def declared_dimension_xlsx(path: Path, dimension: bytes) -> Path:
    return workbook(path, sheet([HEADER_ROW, LEARNER_ROW], dimension=dimension))


def shared_string_bomb_xlsx(path: Path, string_bytes: int, cells: int) -> Path:
    """`cells` cells that all show one shared string of `string_bytes` bytes."""
    text = (b"abcdefghij" * (string_bytes // 10 + 1))[:string_bytes]
    strings = [b"<sst " + _NS + b' count="1" uniqueCount="1"><si><t>', text, b"</t></si></sst>"]

    def rows() -> Iterator[bytes]:
        yield HEADER_ROW
        for row in range(2, cells + 2):
            yield b'<row r="%d"><c r="A%d" t="s"><v>0</v></c></row>' % (row, row)

    return workbook(path, sheet(rows()), strings)


def formula_without_value_xlsx(path: Path) -> Path:
    row = (
        b'<row r="2"><c r="A2" t="inlineStr"><is><t>Ann Lee</t></is></c>'
        b'<c r="B2" t="inlineStr"><is><t>ann@example.com</t></is></c>'
        b'<c r="C2"><f>CONCAT("A",1)</f></c></row>'
    )
    return workbook(path, sheet([HEADER_ROW, row]))


def encrypted_xlsx(path: Path) -> Path:
    """The shape of a password-protected .xlsx: a CFB file with EncryptionInfo/EncryptedPackage.

    Only the signature and the directory's stream names matter to Roster; the rest is filler.
    """
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)
    names = b"".join(
        name.encode("utf-16-le").ljust(64, b"\x00") + bytes(64)
        for name in ("Root Entry", "EncryptionInfo", "EncryptedPackage")
    )
    path.write_bytes(header + names + bytes(4096))
    return path


def old_xls(path: Path) -> Path:
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)
    names = b"".join(
        name.encode("utf-16-le").ljust(64, b"\x00") + bytes(64)
        for name in ("Root Entry", "Workbook")
    )
    path.write_bytes(header + names + bytes(4096))
    return path


def trailing_commas_csv(path: Path, commas: int, rows: int = 3) -> Path:
    """Every line, the header too, ends in `commas` separators (a sheet with a wide format)."""
    tail = "," * commas
    lines = [HEADER + tail] + [f"Ann {n},ann{n}@example.com,{n}{tail}" for n in range(rows)]
    path.write_text("\n".join(lines) + "\n")
    return path


def long_cell_csv(path: Path, size: int, *, in_header: bool = False) -> Path:
    """One cell of `size` characters, in a learner row or as an extra header name."""
    with path.open("w") as handle:
        if in_header:
            handle.write(HEADER + ",")
            _write_repeated(handle, "x", size)
            handle.write("\nAnn Lee,ann@example.com,A1,\n")
        else:
            handle.write(HEADER + "\nAnn Lee,ann@example.com,")
            _write_repeated(handle, "9", size)
            handle.write("\n")
    return path


def long_line_csv(path: Path, size: int) -> Path:
    """No line break at all: the header, then `size` characters on the same line."""
    with path.open("w") as handle:
        handle.write(HEADER)
        _write_repeated(handle, ",a", size)
    return path


def _write_repeated(handle: object, text: str, count: int) -> None:
    write = handle.write  # type: ignore[attr-defined]
    block = text * (1 << 20)
    for _ in range(count // len(block)):
        write(block)
    write(text * (count % len(block) // len(text)))


def stray_cr_csv(path: Path) -> Path:
    path.write_bytes(b"\r" + HEADER.encode() + b"\nAnn Lee,ann@example.com,A1\n")
    return path


def private_use_ragged_csv(path: Path) -> Path:
    """Every private-use character of the BMP in a cell, a lone CR, and a ragged row."""
    private = "".join(chr(code) for code in range(0xE000, 0xF900))
    text = f"{HEADER}\nAnn Lee,ann@example.com,{private}\rx,extra\nBob,bob@example.com\n"
    path.write_text(text, encoding="utf-8")
    return path


def unterminated_quote_csv(path: Path, rows: int = 5) -> Path:
    lines = [HEADER, "Ann Lee,ann@example.com,A1", '"Bob Ray,bob@example.com,B2']
    lines += [f"Learner {n},l{n}@example.com,{n}" for n in range(rows)]
    path.write_text("\n".join(lines) + "\n")
    return path


def learners_xlsx(path: Path, rows: int) -> Path:
    """A well-formed sheet of `rows` learners (inline strings, references on every cell)."""

    def chunks() -> Iterator[bytes]:
        yield HEADER_ROW
        for start in range(2, rows + 2, 10_000):
            yield b"".join(
                b'<row r="%d"><c r="A%d" t="inlineStr"><is><t>Learner %d</t></is></c>'
                b'<c r="B%d" t="inlineStr"><is><t>l%d@example.com</t></is></c>'
                b'<c r="C%d" t="inlineStr"><is><t>ID-%d</t></is></c></row>' % (n, n, n, n, n, n, n)
                for n in range(start, min(start + 10_000, rows + 2))
            )

    return workbook(path, sheet(chunks()))


def expanding_text_csv(path: Path, size: int, encoding: str) -> Path:
    """A cell of `size` bytes on disk that UTF-8 makes 1.5x (UTF-16 CJK) or 3x (cp1252 €)."""
    if encoding == "cp1252":
        head, filler, tail, bom = HEADER.encode() + b"\r\nAnn,a@example.com,", b"\x80", b"\r\n", b""
    else:
        head = (HEADER + "\r\nAnn,a@example.com,").encode("utf-16-le")
        filler, tail, bom = "中".encode("utf-16-le"), "\r\n".encode("utf-16-le"), b"\xff\xfe"
    with path.open("wb") as handle:
        handle.write(bom + head)
        block = filler * (1 << 16)
        for _ in range(size // len(block)):
            handle.write(block)
        handle.write(tail)
    return path


def many_members_zip(path: Path, members: int = 300_000) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("xl/workbook.xml", b"<workbook/>")
        for index in range(members):
            archive.writestr(zipfile.ZipInfo(str(index)), b"")
    return path
