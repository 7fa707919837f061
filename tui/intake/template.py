"""The CSV template admins fill in: the three required headers, CRLF as Excel writes it."""

from __future__ import annotations

from pathlib import Path

from tui.intake.table import REQUIRED_HEADERS

TEMPLATE_NAME = "learners.csv"
TEMPLATE = ",".join(REQUIRED_HEADERS) + "\r\n"


class TemplateExistsError(FileExistsError):
    """Writing the template would replace an existing file."""


def write_template(path: Path, *, overwrite: bool = False) -> Path:
    """Write the template to `path` (a file, or a folder to put learners.csv in); return where."""
    target = path / TEMPLATE_NAME if path.is_dir() else path
    if target.exists() and not overwrite:
        raise TemplateExistsError(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(TEMPLATE.encode("ascii"))
    return target
