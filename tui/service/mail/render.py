"""The invitation email as bytes on the wire: pure, no I/O, the same output for the same input.

Every header is 7-bit (RFC 2047 encoded words for non-ASCII text, A-labels for IDN domains), so
the message parses without defects and any server accepts it; only a recipient whose local part
is non-ASCII needs SMTPUTF8, which `Rendered.needs_smtputf8` says: its address is written in
UTF-8 in the envelope and in the To header (RFC 6531, RFC 6532).
"""

from __future__ import annotations

import base64
import html
import quopri
import re
import time
from dataclasses import dataclass
from datetime import datetime
from email.utils import formatdate, parseaddr
from functools import lru_cache

from email_validator import EmailNotValidError, validate_email

from tui.service.links import link_token

# Control characters (C0, DEL, C1), Unicode line and paragraph separators and lone surrogates:
# any of them in a header value could end the header or break its encoding.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]+")
# RFC 5322 atext: a display name made of these words goes out as it is.
_ATOMS = re.compile(r"[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+(?: [A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+)*")
# Bytes of UTF-8 per encoded word: 39 bytes make 52 base64 characters, so a word with its
# `=?utf-8?b?...?=` frame and the header's name stays within a 78-character line.
_WORD_BYTES = 39
_LINE = 78


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One invitation email to write: an outbox row with its invitation's details."""

    outbox_id: int
    invitation_id: int
    email: str  # email-validator's normalized form: may hold Unicode
    full_name: str
    program: str
    organization: str
    token_key: str  # what finds the invitation: its link is made with the secret key
    message: str | None = None  # the admin's own words (an import's or one invite's)
    sender_name: str | None = None  # the organization's, in place of mail_from's name
    # "reminder": the same invitation emailed again, saying it is a reminder.
    kind: str = "invitation"
    expires_at: datetime | None = None  # UTC, naive: the email says until when it is valid


@dataclass(frozen=True, slots=True)
class Rendered:
    """A message ready for the wire: envelope addresses and the RFC 5322 bytes (CRLF)."""

    sender: str
    recipient: str
    data: bytes
    needs_smtputf8: bool


class UndeliverableAddress(ValueError):
    """An address that no mail server could be given (it cannot be put in ASCII form)."""


def render_invitation(item: Outgoing, public_url: str, sender: str, *, secret: bytes) -> Rendered:
    """The invitation email: plain text and HTML alternatives, quoted-printable UTF-8; `secret`
    is the service's secret key, which makes the learner's link (tui.service.links).

    Written out directly rather than through email.message, which costs a millisecond a message
    and writes some headers its own parser then flags.
    """
    envelope_sender, from_header = _sender(sender, header_text(item.sender_name or ""))
    recipient = envelope_address(item.email)
    name, program, organization = (
        header_text(value) for value in (item.full_name, item.program, item.organization)
    )
    link = f"{public_url.rstrip('/')}/invitations/{link_token(secret, item.token_key)}"
    message = body_text(item.message or "")
    wording = _Wording(item.kind == "reminder", _day(item.expires_at))
    boundary = f"=_roster_{item.outbox_id}_{item.invitation_id}"  # "=_" never occurs in QP
    headers = [
        from_header,
        _to_header(name, recipient),
        _unstructured("Subject", wording.subject(program)),
        f"Date: {_date()}",
        # The same for every attempt, so a receiver can recognise a retry.
        f"Message-ID: <roster-{item.outbox_id}.invitation-{item.invitation_id}@roster.invalid>",
        f"X-Roster-Invitation: {item.invitation_id}",
        "MIME-Version: 1.0",
        f'Content-Type: multipart/alternative; boundary="{boundary}"',
    ]
    parts = [
        "\r\n".join(headers),
        "",
        f"--{boundary}",
        _part("text/plain", _plain_body(wording, name, program, organization, link, message)),
        f"--{boundary}",
        _part("text/html", _html_body(wording, name, program, organization, link, message)),
        f"--{boundary}--",
        "",
    ]
    return Rendered(
        sender=envelope_sender,
        recipient=recipient,
        # UTF-8 only in the To header of an address that needs SMTPUTF8; ASCII otherwise.
        data="\r\n".join(parts).encode(),
        needs_smtputf8=not recipient.isascii(),
    )


def header_text(value: str) -> str:
    """A value fit for one header: control characters and line breaks become one space each
    run, so a name holding CR/LF cannot add a header."""
    if value.isascii() and value.isprintable():  # most names: nothing to replace
        return value.strip()
    return _UNSAFE.sub(" ", value).strip()


def envelope_address(address: str) -> str:
    """The address as a mail server takes it: the domain as A-labels, the local part as is."""
    local, _, domain = address.rpartition("@")
    if not local:
        raise UndeliverableAddress(f"{address!r} is not an email address")
    if domain.isascii():
        return address
    try:
        checked = validate_email(address, check_deliverability=False, globally_deliverable=False)
    except EmailNotValidError as error:
        raise UndeliverableAddress(f"{address}: {error}") from error
    return f"{checked.local_part}@{checked.ascii_domain}"


def _to_header(name: str, recipient: str) -> str:
    # A non-ASCII local part is written raw, in UTF-8 (RFC 6532): such a message only ever goes
    # out over SMTPUTF8, which allows it, and the learner's mail program shows the address they
    # were invited at. (Python's parser still flags a UTF-8 local part, which RFC 6532 allows.)
    return _address_header("To", name, recipient)


def _address_header(field: str, name: str, address: str) -> str:
    if not name:
        return f"{field}: {address}"
    phrase = _phrase(name, f"{field}: ")
    last_line = f"{field}: {phrase}".rsplit("\n", 1)[-1]
    separator = " " if len(last_line) + len(address) + 3 <= _LINE else "\r\n "
    return f"{field}: {phrase}{separator}<{address}>"


def _phrase(text: str, prefix: str) -> str:
    """A display name: as is when it is plain words, quoted when only ASCII punctuation needs
    it, else encoded words."""
    fits = len(prefix) + len(text) + 2 <= _LINE
    if fits and _ATOMS.fullmatch(text) and "=?" not in text:
        return text
    if fits and text.isascii() and "=?" not in text:
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return "\r\n ".join(_encoded_words(text))


def _unstructured(field: str, text: str) -> str:
    if text.isascii() and "=?" not in text and len(field) + 2 + len(text) <= _LINE:
        return f"{field}: {text}"
    return f"{field}: " + "\r\n ".join(_encoded_words(text))


def _encoded_words(text: str) -> list[str]:
    """RFC 2047 B-encoded words of whole characters, each within a line; the folding white
    space between two words is not part of the text."""
    words: list[str] = []
    data = text.encode()
    start = 0
    while start < len(data):
        end = min(start + _WORD_BYTES, len(data))
        while end < len(data) and data[end] & 0xC0 == 0x80:  # not inside a character
            end -= 1
        chunk = base64.b64encode(data[start:end]).decode("ascii")
        words.append(f"=?utf-8?b?{chunk}?=")
        start = end
    return words


def _date() -> str:
    """The Date header's value, formatted once a second."""
    second = int(time.time())
    return _formatted_date(second)


@lru_cache(maxsize=1)
def _formatted_date(second: int) -> str:
    return formatdate(second, usegmt=True)


def body_text(value: str) -> str:
    """The admin's message as the email's body holds it: lines kept, every other control
    character (and Unicode line separators) one space, no blank lines at either end."""
    lines = value.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(_UNSAFE.sub(" ", line).rstrip() for line in lines).strip("\n ")


@lru_cache(maxsize=64)
def _sender(mail_from: str, name: str = "") -> tuple[str, str]:
    """The envelope sender and the From header for the `mail_from` setting; `name`, when
    given (the organization's sender name), replaces the setting's display name."""
    configured, address = parseaddr(mail_from)
    name = name or configured
    if "@" not in address:
        raise ValueError(f"mail_from {mail_from!r} holds no email address")
    envelope = envelope_address(address)
    if not envelope.isascii():
        raise ValueError(f"mail_from {mail_from!r}: the part before @ must be ASCII")
    return envelope, _address_header("From", header_text(name), envelope)


def check_sender(mail_from: str) -> None:
    """Raise ValueError now for a `mail_from` setting no message could be sent from."""
    _sender(mail_from)


_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def _day(moment: datetime | None) -> str:
    """A day as the email says it, whatever the locale: 6 January 2027 (UTC); "" unknown."""
    if moment is None:
        return ""
    return f"{moment.day} {_MONTHS[moment.month - 1]} {moment.year}"


@dataclass(frozen=True, slots=True)
class _Wording:
    """What differs between an invitation and its reminder: the subject, the first sentence,
    and how long it is valid."""

    reminder: bool
    expires_on: str  # "" when unknown

    def subject(self, program: str) -> str:
        said = f"You are invited to {program}".rstrip()
        return f"Reminder: {said[0].lower()}{said[1:]}" if self.reminder else said

    def opening(self, organization: str, program: str) -> str:
        invites = f"{organization} invites you to the learning program {program}."
        return f"This is a reminder: {invites}" if self.reminder else invites

    def validity(self) -> str:
        """Until when the link works, with a space after it ("" when unknown)."""
        if not self.expires_on:
            return ""
        if self.reminder:
            return f"Your invitation expires on {self.expires_on}. "
        return f"The invitation is valid until {self.expires_on}. "


def _plain_body(
    wording: _Wording, name: str, program: str, organization: str, link: str, message: str
) -> str:
    said = f"A message from {organization}:\n\n{message}\n\n" if message else ""
    return (
        f"Hello {name},\n\n"
        f"{wording.opening(organization, program)}\n\n"
        f"{said}"
        f"Accept the invitation here:\n{link}\n\n"
        f"{wording.validity()}If you did not expect it, you can ignore this email.\n"
    )


def _html_body(
    wording: _Wording, name: str, program: str, organization: str, link: str, message: str
) -> str:
    name, program, organization, href = (
        html.escape(value) for value in (name, program, organization, link)
    )
    # The wording's own words hold no markup characters: only the values need escaping.
    opening = wording.opening(organization, f"<strong>{program}</strong>")
    # Text, never markup: escaped, its lines kept with <br>.
    said = (
        f"<p>A message from {organization}:</p>\n<blockquote><p>"
        + "<br>\n".join(html.escape(line) for line in message.split("\n"))
        + "</p></blockquote>\n"
        if message
        else ""
    )
    return (
        f"<p>Hello {name},</p>\n"
        f"<p>{opening}</p>\n"
        f"{said}"
        f'<p><a href="{href}">Accept the invitation</a></p>\n'
        f"<p>{wording.validity()}If you did not expect it, you can ignore this "
        "email.</p>\n"
    )


def _part(content_type: str, body: str) -> str:
    encoded = quopri.encodestring(body.encode()).decode("ascii").replace("\n", "\r\n")
    return (
        f"Content-Type: {content_type}; charset=utf-8\r\n"
        "Content-Transfer-Encoding: quoted-printable\r\n\r\n" + encoded
    )
