"""Invitation emails: pure rendering, transports behind one protocol, and the outbox sender."""

from tui.service.mail.render import Outgoing, Rendered, UndeliverableAddress, render_invitation
from tui.service.mail.sender import DEFAULT_CONCURRENCY, OutboxSender
from tui.service.mail.transports import (
    DeliveryError,
    PermanentFailure,
    ServerUnavailable,
    TransientFailure,
    Transport,
    classify_smtp_error,
    open_transport,
)

__all__ = [
    "DEFAULT_CONCURRENCY",
    "DeliveryError",
    "OutboxSender",
    "Outgoing",
    "PermanentFailure",
    "Rendered",
    "ServerUnavailable",
    "TransientFailure",
    "Transport",
    "UndeliverableAddress",
    "classify_smtp_error",
    "open_transport",
    "render_invitation",
]
