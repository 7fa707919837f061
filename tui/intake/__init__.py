"""The intake: a learner file in, a report and validated rows out. No UI, no HTTP."""

from tui.intake.learner_file import LearnerFile, Limits, read_learner_file
from tui.intake.report import RULES, Issue, Problem, Report
from tui.intake.template import TEMPLATE, TemplateExistsError, write_template

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
