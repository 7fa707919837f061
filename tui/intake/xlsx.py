"""Guards an .xlsx workbook passes before its first sheet is expanded in memory.

The byte limit applies to what the workbook unpacks to, not to the zip on disk: the reader
(python-calamine) holds the shared strings and a rows x columns grid of the first sheet, so a
small zip can ask for gigabytes. Before reading, the zip's directory is checked (declared sizes
and compression ratio of the parts the reader expands), and the first sheet is scanned, streamed,
for its declared `<dimension>` and for any cell or row reference beyond the limits: at most
`max_rows` + 1 rows (the header) and MAX_COLUMNS columns (A to P; the template has 3).
"""

from __future__ import annotations

import re
import zipfile
import zlib
from array import array
from dataclasses import dataclass, field
from io import BytesIO

from tui.intake.report import Problem, quote

MAX_COLUMNS = 16  # A..P: the template's 3 columns and room for a few notes
MAX_RATIO = 200  # uncompressed / compressed; XML sheets compress 5-50x, zip bombs ~1000x
_RATIO_FLOOR = 1_000_000  # parts smaller than this are never a bomb
_CHUNK = 1 << 20
# What zipfile raises for a damaged archive or member: bad headers, CRC or sizes, cut short
# (EOFError), a corrupt deflate stream (zlib.error), an unknown compression method
# (NotImplementedError), an encrypted member (RuntimeError), a missing part (KeyError).
_DAMAGED = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    EOFError,
    OSError,
    ValueError,
    RuntimeError,
    NotImplementedError,
    KeyError,
    zlib.error,
)
_DIMENSION = re.compile(rb"<(?:\w+:)?dimension\b[^>]*?\sref=\"([^\"]*)\"")
_REF = re.compile(r"^\$?([A-Za-z]{1,3})\$?([0-9]{1,10})$")
_WIDE_REF = re.compile(rb"r=\"\$?(?:[A-Za-z]{2,}|[Q-Zq-z])\$?[0-9]")
_ROW_TAG = re.compile(rb"<(?:\w+:)?row\b")
_CELL_TAG = re.compile(rb"<(?:\w+:)?c[\s/>]")
_UNNUMBERED_CELL = re.compile(rb"<(?:\w+:)?c(?=[\s/>])(?:(?!\sr=\")[^>])*>")
_SHARED_STRING = re.compile(rb"<(?:\w+:)?si\b")
_SHARED_CELL = re.compile(rb"t=\"s\"[^>]*>\s*<(?:\w+:)?v>\s*([0-9]{1,12})\s*</")
_FORMULA = rb"<(?:\w+:)?f\b[^>]*?(?:/>|>[^<]*</(?:\w+:)?f>)"
_FORMULA_ONLY = re.compile(
    rb"<(?:\w+:)?c\b([^>]*)>\s*" + _FORMULA + rb"\s*(?:<(?:\w+:)?v\s*/>)?\s*</(?:\w+:)?c>"
)
_STYLED_NUMBER = re.compile(
    rb"<(?:\w+:)?c\s([^>]*\ss=\"[0-9]+\"[^>]*)>\s*(?:" + _FORMULA + rb")?\s*<(?:\w+:)?v>"
)
_CELL_REF = re.compile(rb"\sr=\"([A-Za-z]{1,3}[0-9]{1,7})\"")
_NUMBER_FORMAT = re.compile(rb"<(?:\w+:)?numFmt\b[^>]*>")
_CELL_FORMATS = re.compile(rb"<(?:\w+:)?cellXfs\b[^>]*>(.*?)</(?:\w+:)?cellXfs>", re.DOTALL)
_FORMAT_ELEMENT = re.compile(rb"<(?:\w+:)?xf\b[^>]*>")
_STYLE_ATTRIBUTE = re.compile(rb"\s([\w:]+)=\"([^\"]*)\"")
_SHEET = re.compile(rb"<(?:\w+:)?sheet\b[^>]*?\s[\w.-]+:id=\"([^\"]+)\"")
_RELATIONSHIP = re.compile(rb"<(?:\w+:)?Relationship\b[^>]*>")
_ATTRIBUTE = re.compile(rb"\s(Id|Target)=\"([^\"]*)\"")


@dataclass
class SheetFacts:
    """What the first sheet's XML says that the reader (python-calamine) does not tell."""

    # Cells holding a formula but no saved result (written by a program that does not
    # calculate): the reader gives them as empty. The first few references, and how many.
    formulas: list[str] = field(default_factory=list)
    formula_count: int = 0
    # Numbers shown with leading zeros by their number format (000000 shows 1234 as 001234):
    # row (1-based) -> [(column (0-based), digits shown)].
    zero_padded: dict[int, list[tuple[int, int]]] = field(default_factory=dict)


def check_workbook(data: bytes, name: str, max_bytes: int, max_rows: int) -> Problem | SheetFacts:
    """The file error for a workbook too large, too wide or damaged to read, else the facts."""
    try:
        with zipfile.ZipFile(BytesIO(data)) as archive:
            return _check(archive, name, max_bytes, max_rows)
    except _DAMAGED as error:
        return damaged(name, str(error))


def damaged(name: str, detail: str) -> Problem:
    detail = quote(detail)
    return Problem(
        code="unreadable_file",
        message=f"{name} is a damaged workbook Roster cannot read"
        + (f" ({detail})" if detail else "")
        + ". Open it in Excel and save it again, or save the sheet as CSV (UTF-8).",
    )


def _check(
    archive: zipfile.ZipFile, name: str, max_bytes: int, max_rows: int
) -> Problem | SheetFacts:
    sheet = _first_sheet(archive)
    if sheet is None:
        return damaged(name, "it has no worksheet")
    parts = [sheet, "xl/sharedStrings.xml", "xl/styles.xml", "xl/workbook.xml"]
    infos = [archive.getinfo(part) for part in parts if part in archive.NameToInfo]
    unpacked = sum(info.file_size for info in infos)
    if unpacked > max_bytes:
        return _too_large(
            f"{name} unpacks to {unpacked / 1e6:,.1f} MB of sheet data; the limit is "
            f"{max_bytes / 1e6:,.0f} MB."
        )
    for info in infos:
        if info.file_size > _RATIO_FLOOR and info.file_size > MAX_RATIO * max(
            info.compress_size, 1
        ):
            return _too_large(
                f"{name} is compressed {info.file_size // max(info.compress_size, 1):,} to 1 "
                f"({info.filename}), which only a zip bomb is; Roster does not expand it."
            )
    strings = _shared_string_sizes(archive, max_bytes)
    facts = SheetFacts()
    padded = _zero_padded_styles(archive)
    problem = _scan_sheet(archive, sheet, name, max_bytes, max_rows, strings, facts, padded)
    return facts if problem is None else problem


def _zero_padded_styles(archive: zipfile.ZipFile) -> dict[bytes, int]:
    """Cell style indices (the `s` of a cell) whose number format is all zeros, with its width."""
    if "xl/styles.xml" not in archive.NameToInfo:
        return {}
    styles = _head(archive, "xl/styles.xml", 8 * _CHUNK)
    widths: dict[bytes, int] = {}
    for element in _NUMBER_FORMAT.findall(styles):
        attributes = dict(_STYLE_ATTRIBUTE.findall(element))
        code = attributes.get(b"formatCode", b"").replace(b"&quot;", b"").replace(b'"', b"")
        if re.fullmatch(rb"0{2,}", code) and b"numFmtId" in attributes:
            widths[attributes[b"numFmtId"]] = len(code)
    cell_formats = _CELL_FORMATS.search(styles)
    if not widths or cell_formats is None:
        return {}
    padded: dict[bytes, int] = {}
    for index, element in enumerate(_FORMAT_ELEMENT.findall(cell_formats.group(1))):
        number_format = dict(_STYLE_ATTRIBUTE.findall(element)).get(b"numFmtId")
        if number_format in widths:
            padded[str(index).encode()] = widths[number_format]
    return padded


def _note_cells(block: bytes, facts: SheetFacts, padded: dict[bytes, int]) -> None:
    formulas = b"<f" in block or b":f" in block
    for match in _FORMULA_ONLY.finditer(block) if formulas else ():
        facts.formula_count += 1
        reference = _CELL_REF.search(match.group(1))
        if reference is not None and len(facts.formulas) < 5:
            facts.formulas.append(reference.group(1).decode())
    if not padded:
        return
    for match in _STYLED_NUMBER.finditer(block):
        attributes = dict(_STYLE_ATTRIBUTE.findall(b" " + match.group(1)))
        width = padded.get(attributes.get(b"s", b""))
        cell = _REF.match(attributes.get(b"r", b"").decode("ascii", "replace"))
        if width is None or cell is None or attributes.get(b"t", b"n") != b"n":
            continue
        row = int(cell.group(2))
        column = _column_number(cell.group(1).upper()) - 1
        facts.zero_padded.setdefault(row, []).append((column, width))


def _shared_string_sizes(archive: zipfile.ZipFile, max_bytes: int) -> array[int]:
    """An upper bound of each shared string's size (its `<si>` element), in order.

    The reader copies a shared string into every cell that uses it, so a small workbook whose
    cells all point at one long string expands without bound; the sheet scan adds them up.
    """
    sizes: array[int] = array("Q")
    if "xl/sharedStrings.xml" not in archive.NameToInfo:
        return sizes
    current = -1  # the size so far of the string the last chunk ended in; -1: none started
    seen = 0
    with archive.open("xl/sharedStrings.xml") as handle:
        while chunk := handle.read(_CHUNK):
            seen += len(chunk)
            if seen > max_bytes:
                break
            pieces = _SHARED_STRING.split(chunk)
            if len(pieces) == 1:
                if current >= 0:
                    current += len(chunk)
                continue
            if current >= 0:
                sizes.append(current + len(pieces[0]))
            sizes.extend(map(len, pieces[1:-1]))
            current = len(pieces[-1])
    if current >= 0:
        sizes.append(current)
    return sizes


def _first_sheet(archive: zipfile.ZipFile) -> str | None:
    """The part of the workbook's first sheet (the one the reader reads)."""
    names = archive.NameToInfo
    if "xl/workbook.xml" in names and "xl/_rels/workbook.xml.rels" in names:
        workbook = _head(archive, "xl/workbook.xml", 4 * _CHUNK)
        rels = _head(archive, "xl/_rels/workbook.xml.rels", 4 * _CHUNK)
        first = _SHEET.search(workbook)
        if first is not None:
            for element in _RELATIONSHIP.findall(rels):
                attributes = dict(_ATTRIBUTE.findall(element))
                if attributes.get(b"Id") == first.group(1) and b"Target" in attributes:
                    target = attributes[b"Target"].decode("utf-8", "replace")
                    part = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
                    if part in names:
                        return part
    sheets = sorted(
        (name for name in names if re.fullmatch(r"xl/worksheets/sheet[0-9]+\.xml", name)),
        key=lambda name: int(re.sub(r"[^0-9]", "", name)),
    )
    return sheets[0] if sheets else None


def _head(archive: zipfile.ZipFile, part: str, size: int) -> bytes:
    with archive.open(part) as handle:
        return handle.read(size)


def _scan_sheet(
    archive: zipfile.ZipFile,
    part: str,
    name: str,
    max_bytes: int,
    max_rows: int,
    strings: array[int],
    facts: SheetFacts,
    padded: dict[bytes, int],
) -> Problem | None:
    """Stream the sheet's XML once, looking for references beyond the limits (regexes in C).

    Each block ends before its last `<`, so no tag is split between two blocks.
    """
    # Python's re is fast on patterns that start with a literal (`r="`); the others run only on
    # blocks a fast test (bytes.count, `in`) flags. Attributes named r end in `r=` in a sheet.
    tall = re.compile(rb"r=\"\$?[A-Za-z]{0,3}\$?0*" + _greater_than(max_rows + 1) + rb"\"")
    long_number = re.compile(rb"r=\"\$?[A-Za-z]{0,3}\$?[0-9]{%d,}" % len(str(max_rows + 1)))
    seen = rows = widest = current = expanded = 0
    count = len(strings)
    pending = b""
    unnumbered = first = False
    with archive.open(part) as handle:
        while True:
            chunk = handle.read(_CHUNK)
            seen += len(chunk)
            if seen > max_bytes:
                return _too_large(f"{name} unpacks to over {max_bytes / 1e6:,.0f} MB.")
            data = pending + chunk
            cut = data.rfind(b"<") if chunk else len(data)
            if cut <= 0 and len(data) > _CHUNK:
                cut = len(data)  # text without tags: nothing to carry over
            block, pending = data[: max(cut, 0)], data[max(cut, 0) :]
            if not first:
                first = True
                found = _DIMENSION.search(block[:65536])
                if found is not None:
                    problem = _check_dimension(found.group(1), name, max_rows)
                    if problem is not None:
                        return problem
            problem = _reference_beyond_limits(block, name, max_rows, tall, long_number)
            if problem is not None:
                return problem
            rows += _row_count(block)
            if rows > max_rows + 1:
                return _too_tall(name, max_rows)
            unnumbered = unnumbered or not _all_cells_numbered(block)
            if unnumbered:  # cells without a reference take the next column: count them
                pieces = _ROW_TAG.split(block)
                current += len(_CELL_TAG.findall(pieces[0]))
                for piece in pieces[1:]:
                    widest = max(widest, current)
                    current = len(_CELL_TAG.findall(piece))
                if max(widest, current) > MAX_COLUMNS:
                    return _too_wide(name, f"{max(widest, current):,} cells wide")
            if count:
                expanded += _shared_text(block, strings)
                if expanded > max_bytes:
                    return _too_large(
                        f"The cells of {name} repeat its shared text {expanded / 1e6:,.0f} MB "
                        f"and more once unpacked; the limit is {max_bytes / 1e6:,.0f} MB."
                    )
            _note_cells(block, facts, padded)
            if not chunk:
                return None


def _reference_beyond_limits(
    block: bytes, name: str, max_rows: int, tall: re.Pattern[bytes], long_number: re.Pattern[bytes]
) -> Problem | None:
    """The error for a cell reference of the block past the last column or the row limit."""
    if (wide := _WIDE_REF.search(block)) is not None:
        column = re.sub(rb"[^A-Za-z]", b"", wide.group(0)[2:]).decode().upper()
        if _column_number(column) > MAX_COLUMNS:
            return _too_wide(name, column)
    if long_number.search(block) is not None and tall.search(block) is not None:
        return _too_tall(name, max_rows)
    return None


def _row_count(block: bytes) -> int:
    if b":row" in block:  # namespaced tags (<x:row>): the exact, slower count
        return len(_ROW_TAG.findall(block))
    return block.count(b"<row ") + block.count(b"<row>") + block.count(b"<row/>")


def _all_cells_numbered(block: bytes) -> bool:
    cells = block.count(b"<c ") + block.count(b"<c>") + block.count(b"<c/>")
    if cells == block.count(b'<c r="') and b":c" not in block:
        return True
    return _UNNUMBERED_CELL.search(block) is None


def _shared_text(block: bytes, strings: array[int]) -> int:
    """The size of the shared strings the block's cells copy."""
    indices = map(int, _SHARED_CELL.findall(block))
    try:
        return sum(map(strings.__getitem__, indices))
    except IndexError:  # an index past the table (the reader reports the damage)
        count = len(strings)
        found = map(int, _SHARED_CELL.findall(block))
        return sum(strings[index] for index in found if index < count)


def _check_dimension(ref: bytes, name: str, max_rows: int) -> Problem | None:
    last = ref.decode("ascii", "replace").split(":")[-1]
    match = _REF.match(last)
    if match is None:
        return None
    if _column_number(match.group(1).upper()) > MAX_COLUMNS:
        return _too_wide(name, match.group(1).upper())
    if int(match.group(2)) > max_rows + 1:
        return _too_tall(name, max_rows)
    return None


def _column_number(letters: str) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + ord(letter) - ord("A") + 1
    return number


def _greater_than(bound: int) -> bytes:
    """A regex matching the decimal numbers (no leading zeros) greater than `bound`."""
    digits = str(bound)
    alternatives = [f"[1-9][0-9]{{{len(digits)},}}"]
    for index, digit in enumerate(digits):
        if digit != "9":
            rest = len(digits) - index - 1
            alternatives.append(f"{digits[:index]}[{int(digit) + 1}-9][0-9]{{{rest}}}")
    return ("(?:" + "|".join(alternatives) + ")").encode()


def _too_large(message: str) -> Problem:
    return Problem(code="too_large", message=message + " Save the sheet as CSV or split it.")


def _too_wide(name: str, column: str) -> Problem:
    where = f"is {column}" if column.endswith("wide") else f"reaches column {quote(column, 8)}"
    return Problem(
        code="too_large",
        message=f"The first sheet of {name} {where}; Roster reads at "
        f"most {MAX_COLUMNS} columns (A to P). Delete the columns and cells beyond them, or "
        "save the sheet as CSV.",
    )


def _too_tall(name: str, max_rows: int) -> Problem:
    return Problem(
        code="too_many_rows",
        message=f"The first sheet of {name} reaches beyond row {max_rows + 1:,}; the limit is "
        f"{max_rows:,} learner rows. Delete the empty rows below the data, or split the file.",
    )
