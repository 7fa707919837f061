"""The CSV template admins fill in: the learner fields' headers (all required), CRLF as Excel
writes it."""

from __future__ import annotations

from pathlib import Path

from tui.intake.fields import HEADERS

TEMPLATE_NAME = "learners.csv"
TEMPLATE = ",".join(HEADERS) + "\r\n"


class TemplateExistsError(FileExistsError):
    """Writing the template would replace an existing file."""


def free_template_path(folder: Path) -> Path:
    """`learners.csv` in `folder`, or `learners-2.csv` and so on if that is taken."""
    stem, suffix = Path(TEMPLATE_NAME).stem, Path(TEMPLATE_NAME).suffix
    number = 1
    while (folder / (name := f"{stem}{'' if number == 1 else f'-{number}'}{suffix}")).exists():
        number += 1
    return folder / name


def write_template(path: Path, *, overwrite: bool = False) -> Path:
    """Write the template to `path` (a file, or a folder to put learners.csv in); return where."""
    target = path / TEMPLATE_NAME if path.is_dir() else path
    if target.exists() and not overwrite:
        raise TemplateExistsError(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(TEMPLATE.encode("ascii"))
    return target
