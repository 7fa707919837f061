"""The few pages a learner's browser sees: the invitation, its acceptance, and a refusal of
its link (unknown, no longer valid, or asked too often), never JSON."""

from __future__ import annotations

import html

from fastapi import Request
from fastapi.responses import HTMLResponse

from tui.wire import models as wire


def page(title: str, heading: str, body: str) -> str:
    """A small, self-contained page: readable on a phone, no scripts, nothing fetched. `body`
    is HTML; the title and heading are escaped here."""
    return (
        '<!doctype html><html lang="en"><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;"
        "padding:0 1rem;line-height:1.5}button{font-size:1.1rem;padding:.6rem 1.2rem}</style>"
        f"<h1>{html.escape(heading)}</h1>{body}</html>"
    )


def from_a_browser(request: Request) -> bool:
    """A learner's browser on a link's page (not the API, which always answers JSON)."""
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get(
        "accept", ""
    )


_HEADINGS = {
    404: "This invitation link is not valid",
    410: "This invitation is no longer valid",
    429: "Too many tries",
}


def refusal_page(
    problem: wire.ProblemDetail, headers: dict[str, str] | None = None
) -> HTMLResponse:
    """A refusal of a learner's link, as a page: what is wrong and what to do."""
    advice = {
        404: "Check that the whole link from the email was opened; if it was, ask whoever "
        "invited you for a new invitation.",
        429: "Wait a few minutes, then open the link from the email again.",
    }.get(problem.status, "Ask whoever invited you for a new invitation.")
    heading = _HEADINGS.get(problem.status, problem.title)
    body = f"<p>{html.escape(problem.detail)}</p><p>{html.escape(advice)}</p>"
    return HTMLResponse(page(heading, heading, body), status_code=problem.status, headers=headers)
