"""The intake: a learner file in, a report and validated rows out. No UI, no HTTP.

The names below load their module when first used, so that `tui.intake.limits` (which the
settings read) does not load polars.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tui.intake.learner_file import LearnerFile, read_learner_file
    from tui.intake.limits import Limits
    from tui.intake.report import RULES, Issue, Problem, Report
    from tui.intake.template import TEMPLATE, TemplateExistsError, write_template

_HOMES = {
    "LearnerFile": "learner_file",
    "read_learner_file": "learner_file",
    "Limits": "limits",
    "RULES": "report",
    "Issue": "report",
    "Problem": "report",
    "Report": "report",
    "TEMPLATE": "template",
    "TemplateExistsError": "template",
    "write_template": "template",
}
__all__ = [
    "RULES",
    "TEMPLATE",
    "Issue",
    "LearnerFile",
    "Limits",
    "Problem",
    "Report",
    "TemplateExistsError",
    "read_learner_file",
    "write_template",
]


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
