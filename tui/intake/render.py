"""The report for people: counts, then the issues grouped by problem, with the fix for each.

Plain ANSI styling rather than rich: `roster check` is measured as a whole process and rich's
import alone costs more than checking 100,000 rows.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, TextIO

import polars as pl

from tui.intake.report import RULES, Problem, Report, quote
from tui.text import plural

if TYPE_CHECKING:
    from tui.intake.learner_file import LearnerFile

ENCODING_NAMES = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8 with BOM",
    "utf-16": "UTF-16",
    "cp1252": "Windows-1252",
}
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
ROWS_SHOWN = 5
NUMBERS_SHOWN = 20


class Style:
    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def _wrap(self, code: str, text: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.enabled else text

    def bold(self, text: str) -> str:
        return self._wrap("1", text)

    def dim(self, text: str) -> str:
        return self._wrap("2", text)

    def red(self, text: str) -> str:
        return self._wrap("1;31", text)

    def yellow(self, text: str) -> str:
        return self._wrap("1;33", text)

    def green(self, text: str) -> str:
        return self._wrap("1;32", text)


def use_color(stream: TextIO) -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return stream.isatty()


def describe_source(report: Report) -> str:
    if report.encoding is None and report.delimiter is None:
        return "Excel workbook, first sheet" if not report.file_errors else ""
    parts = []
    if report.encoding:
        parts.append(ENCODING_NAMES.get(report.encoding, report.encoding))
    if report.delimiter:
        parts.append(f"{DELIMITER_NAMES.get(report.delimiter, repr(report.delimiter))}-delimited")
    return ", ".join(parts)


def describe_columns(report: Report) -> str:
    """'Columns: Full Name ← Name, Email ← Work Email, ...': which of the file's columns each
    field was read from, when they are not the template's headers; "" when they are."""
    if not report.columns:
        return ""
    return "Columns: " + ", ".join(
        f"{field} ← {quote(header)}" for field, header in report.columns.items()
    )


def render_report(checked: LearnerFile, style: Style) -> str:
    """The report on a checked file. Its issues are grouped in their frame, and only the few
    shown become text: a file checked again against its own invitations has a million."""
    report = checked.summary
    lines = [style.bold(report.file) + _suffix(describe_source(report), style)]
    if not report.file_errors:
        counts = [
            plural(report.rows, "row"),
            style.green(f"{report.ready:,} ready"),
            (style.red if report.errors else str)(f"{report.errors:,} with errors"),
        ]
        if report.skipped:
            counts.append(f"{report.skipped:,} skipped")
        if report.blank_rows_skipped:
            counts.append(f"{plural(report.blank_rows_skipped, 'blank row')} skipped")
        lines.append("  " + " · ".join(counts))
        if report.columns:
            lines.append("  " + describe_columns(report))
    lines += _problems(report.file_errors, style.red("✗ File error"), style)
    lines += _problems(report.file_warnings, style.yellow("! Warning"), style)
    order = {code: index for index, code in enumerate(RULES)}
    groups = (
        checked.issues.group_by("severity", "code")
        .agg(
            pl.len().alias("issues"),
            pl.col("row").n_unique().alias("rows"),
            pl.col("row").head(ROWS_SHOWN + NUMBERS_SHOWN + 1).alias("numbers"),
            pl.col("message").head(ROWS_SHOWN).alias("messages"),
        )
        .with_columns(
            (pl.col("severity") != "error").alias("warning"),
            pl.col("code").replace_strict(order, default=len(order)).alias("rank"),
        )
        .sort("warning", "rank", "code")
    )
    for group in groups.iter_rows(named=True):
        lines += _issue_group(group, style)
    lines += ["", _verdict(report, style)]
    return "\n".join(lines) + "\n"


def _suffix(text: str, style: Style) -> str:
    return style.dim(f" — {text}") if text else ""


def _problems(problems: Iterable[Problem], label: str, style: Style) -> list[str]:
    lines = []
    for problem in problems:
        lines += ["", f"{label}: {problem.message} {style.dim(f'({problem.code})')}"]
    return lines


def _issue_group(group: dict[str, Any], style: Style) -> list[str]:
    """One code's issues: how many rows, the first few messages, then more row numbers."""
    code = group["code"]
    rule = RULES.get(code)
    title = rule.title if rule else code
    marker = style.red("✗") if group["severity"] == "error" else style.yellow("!")
    rows = plural(group["rows"], "row")
    lines = ["", f"{marker} {style.bold(title)} — {rows} {style.dim(f'({code})')}"]
    for row, message in zip(group["numbers"], group["messages"], strict=False):
        lines.append(f"    row {row:<7} {message}")
    rest = group["issues"] - ROWS_SHOWN
    if rest > 0:
        numbers = ", ".join(str(row) for row in group["numbers"][ROWS_SHOWN:][:NUMBERS_SHOWN])
        more = ", …" if rest > NUMBERS_SHOWN else ""
        lines.append(
            f"    and {rest:,} more: rows {numbers}{more}"
            + (style.dim("  (--format json lists all)") if more else "")
        )
    if rule and rule.fix:
        lines.append(f"  {style.dim('Fix:')} {rule.fix}")
    return lines


def _verdict(report: Report, style: Style) -> str:
    if report.file_errors:
        return style.red("The file cannot be imported: fix the file error above and check again.")
    if report.errors:
        has = "has" if report.errors == 1 else "have"
        return style.red(
            f"{plural(report.errors, 'row')} {has} errors: fix them and check again, "
            f"or import the {plural(report.ready, 'ready row')} without them."
        )
    if report.ready == 0:
        return "Nothing to import: every row is skipped, as the lines above say."
    if report.ready == 1:
        return style.green("The row is ready to import.")
    return style.green(f"All {report.ready:,} rows are ready to import.")
