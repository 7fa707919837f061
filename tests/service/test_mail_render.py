"""Every invitation email Roster writes is a well-formed message: it parses without a single
defect whatever the names and addresses, no name can add a header, IDN domains go out as
A-labels, and a non-ASCII local part is written in UTF-8 (RFC 6532), the only defect Python's
parser, which predates RFC 6532, then finds."""

from __future__ import annotations

import email
import email.policy
import hashlib
import html
import re
from email.errors import NonASCIILocalPartDefect
from email.header import decode_header, make_header
from email.headerregistry import AddressHeader
from email.message import EmailMessage

import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from tui.service.links import link_token, stored_key
from tui.service.mail import Outgoing, render_invitation
from tui.service.mail.render import body_text, header_text

PUBLIC_URL = "https://roster.example.org"
SENDER = "Acme Learning <learning@acme.example>"
KEY = b"mail-render-tests-secret-key-0123456789"
LINK = link_token(KEY, "tok")
HEADERS = {
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "X-Roster-Invitation",
    "MIME-Version",
    "Content-Type",
}


def parse(data: bytes) -> EmailMessage:
    """The message as a reader of RFC 6532 mail reads it: its bytes are UTF-8."""
    message = email.message_from_string(data.decode("utf-8"), policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def defects(message: EmailMessage) -> list[object]:
    """Every defect the parser found: in the message, in any part, in any header, but the one
    RFC 6532 makes valid (a UTF-8 local part)."""
    found: list[object] = []
    for part in message.walk():
        found += part.defects
        for _, value in part.items():
            found += getattr(value, "defects", ())
    return [defect for defect in found if not isinstance(defect, NonASCIILocalPartDefect)]


def display_name(data: bytes) -> str:
    """The To header's display name as RFC 2047 reads it. (Python's own parser keeps the space
    between two encoded words of a display name, which the RFC says a reader drops.)"""
    raw = email.message_from_string(data.decode("utf-8"), policy=email.policy.compat32)["To"]
    phrase = re.sub(r"\r?\n ", " ", raw).rsplit(" <", 1)[0]
    if phrase.startswith('"'):
        return re.sub(r"\\(.)", r"\1", phrase[1:-1])
    return str(make_header(decode_header(phrase)))


def invitation(
    email_address: str,
    full_name: str = "Zoë Müller",
    program: str = "Leadership",
    organization: str = "Acme",
    message: str | None = None,
    sender_name: str | None = None,
) -> Outgoing:
    return Outgoing(
        outbox_id=7,
        invitation_id=42,
        email=email_address,
        full_name=full_name,
        program=program,
        organization=organization,
        token_key="tok",
        message=message,
        sender_name=sender_name,
    )


# Text as people type it into a spreadsheet, and worse: any code point but lone surrogates
# (which no database column holds), control characters and line breaks included.
characters = st.characters(exclude_categories=["Cs"])
names = st.text(characters, max_size=20) | st.text(characters, min_size=20, max_size=300)
LOCAL = "abcxyzABC0123456789!#$%&'*+-/=?^_`{|}~éüßøñçЖжяΩλ日本語"
LABEL = "abcdefghijklmnopqrstuvwxyz0123456789éüñöçжяλ日本"


@st.composite
def addresses(draw: st.DrawFn) -> str:
    """Addresses email-validator accepts, in its normalized form: Unicode local parts and IDN
    domains among them."""
    local = ".".join(
        draw(st.lists(st.text(LOCAL, min_size=1, max_size=12), min_size=1, max_size=3))
    )
    labels = draw(st.lists(st.text(LABEL, min_size=1, max_size=15), min_size=1, max_size=3))
    tld = draw(st.sampled_from(["com", "org", "de", "example", "рф", "中国"]))
    try:
        checked = validate_email(f"{local}@{'.'.join([*labels, tld])}", check_deliverability=False)
    except EmailNotValidError:
        assume(False)
        raise
    return checked.normalized


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(
    address=addresses(),
    full_name=names,
    program=names,
    organization=names,
    words=st.none() | st.text(characters, max_size=1000),
    sender_name=st.none() | names,
)
def test_every_invitation_email_parses_without_defects(
    address: str,
    full_name: str,
    program: str,
    organization: str,
    words: str | None,
    sender_name: str | None,
) -> None:
    rendered = render_invitation(
        invitation(address, full_name, program, organization, words, sender_name),
        PUBLIC_URL,
        SENDER,
        secret=KEY,
    )
    assert all(len(line) <= 998 for line in rendered.data.split(b"\r\n"))
    message = parse(rendered.data)
    assert defects(message) == []
    assert set(message.keys()) == HEADERS  # a name never adds a header
    assert message["Subject"] == f"You are invited to {header_text(program)}".strip()

    checked = validate_email(address, check_deliverability=False)
    local_part_ascii = checked.local_part.isascii()
    event("non-ASCII local part" if not local_part_ascii else "ASCII local part")
    event("IDN domain" if not checked.domain.isascii() else "ASCII domain")
    assert rendered.needs_smtputf8 is not local_part_ascii
    assert rendered.recipient == f"{checked.local_part}@{checked.ascii_domain}"
    to = message["To"]
    assert isinstance(to, AddressHeader)
    assert [a.addr_spec for a in to.addresses] == [rendered.recipient]
    assert rendered.data.isascii() is local_part_ascii
    if header_text(full_name):
        assert display_name(rendered.data) == header_text(full_name)

    plain = message.get_body(("plain",))
    assert plain is not None
    text = plain.get_content()
    assert f"{header_text(organization)} invites you to the learning program" in text
    assert f"{PUBLIC_URL}/invitations/{LINK}" in text
    # The admin's words, as text in one part and escaped in the other, lines kept.
    said = body_text(words or "")
    assert (said in text.replace("\r\n", "\n")) if said else "A message from" not in text
    page = message.get_body(("html",))
    assert page is not None
    assert "<br>\n".join(html.escape(line) for line in said.split("\n")) in (
        page.get_content().replace("\r\n", "\n")
    )


def test_the_admins_message_is_text_in_both_parts_and_the_sender_name_the_organizations() -> None:
    words = 'Welcome!\n<script>alert(1)</script> & "quotes"\r\nBcc: all@example.org\x00'
    rendered = render_invitation(
        invitation("ann@example.org", message=words, sender_name="Acme Academy\r\nBcc: x@y.z"),
        PUBLIC_URL,
        SENDER,
        secret=KEY,
    )
    message = parse(rendered.data)
    assert defects(message) == [] and set(message.keys()) == HEADERS
    assert message["From"] == '"Acme Academy Bcc: x@y.z" <learning@acme.example>'
    plain, page = message.get_body(("plain",)), message.get_body(("html",))
    assert plain is not None and page is not None
    assert (
        'A message from Acme:\n\nWelcome!\n<script>alert(1)</script> & "quotes"\n'
        "Bcc: all@example.org\n\nAccept"
    ) in plain.get_content().replace("\r\n", "\n")
    assert "<script>" not in page.get_content()
    assert (
        "Welcome!<br>\n&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot;<br>\n"
        "Bcc: all@example.org</p>"
    ) in page.get_content().replace("\r\n", "\n")


def test_a_link_opens_only_with_the_key_it_was_made_with() -> None:
    assert stored_key(KEY, LINK) == "tok"
    assert stored_key(b"another-secret-key-of-32-characters!", LINK) is None
    proof = LINK.split(".")[1]
    assert stored_key(KEY, "tok." + proof[:-1] + ("B" if proof[-1] == "A" else "A")) is None
    assert stored_key(KEY, "tok.") is None
    # A bare token (emailed before links had proofs) is found by its hash.
    assert stored_key(KEY, "old-token") == hashlib.sha256(b"old-token").hexdigest()


def test_idn_domains_go_out_as_a_labels_in_the_envelope_and_the_to_header() -> None:
    rendered = render_invitation(invitation("anna@bücher.example"), PUBLIC_URL, SENDER, secret=KEY)
    assert (rendered.recipient, rendered.needs_smtputf8) == ("anna@xn--bcher-kva.example", False)
    message = parse(rendered.data)
    assert message["To"] == "Zoë Müller <anna@xn--bcher-kva.example>"
    assert defects(message) == []


def test_a_non_ascii_local_part_needs_smtputf8_and_is_in_the_to_header() -> None:
    rendered = render_invitation(invitation("zoë@bücher.example"), PUBLIC_URL, SENDER, secret=KEY)
    assert (rendered.recipient, rendered.needs_smtputf8) == ("zoë@xn--bcher-kva.example", True)
    message = parse(rendered.data)
    assert message["To"] == "Zoë Müller <zoë@xn--bcher-kva.example>"
    assert b"\r\nTo: =?utf-8?b?Wm/DqyBNw7xsbGVy?= <zo\xc3\xab@xn--bcher-kva.example>\r\n" in (
        rendered.data
    )
    assert defects(message) == []


def test_a_name_with_a_line_break_cannot_add_a_header() -> None:
    rendered = render_invitation(
        invitation(
            "ann@example.org",
            "Ann\r\nBcc: everyone@example.org",
            "Leadership\nX-Evil: 1",
            "Acme\r\n\r\nbody",
        ),
        PUBLIC_URL,
        SENDER,
        secret=KEY,
    )
    message = parse(rendered.data)
    assert set(message.keys()) == HEADERS
    assert message["To"] == '"Ann Bcc: everyone@example.org" <ann@example.org>'
    assert message["Subject"] == "You are invited to Leadership X-Evil: 1"
    assert defects(message) == []


def test_international_names_and_sender_are_encoded_and_read_back() -> None:
    rendered = render_invitation(
        invitation("zoe@example.com", "Zoë Müller", "Données & Analyse", "Acme <Ltd>"),
        PUBLIC_URL,
        "Équipe Formation <formation@école.example>",
        secret=KEY,
    )
    message = parse(rendered.data)
    assert defects(message) == []
    assert message["From"] == "Équipe Formation <formation@xn--cole-9oa.example>"
    assert rendered.sender == "formation@xn--cole-9oa.example"
    assert message["To"] == "Zoë Müller <zoe@example.com>"
    assert message["Subject"] == "You are invited to Données & Analyse"
    # The same for every attempt at this email, so a receiver recognises a retry.
    assert message["Message-ID"] == "<roster-7.invitation-42@roster.invalid>"
    plain, page = message.get_body(("plain",)), message.get_body(("html",))
    assert plain is not None and page is not None
    assert "Acme <Ltd> invites you to the learning program Données & Analyse." in (
        plain.get_content()
    )
    assert "Acme &lt;Ltd&gt;" in page.get_content()
    assert f'href="https://roster.example.org/invitations/{LINK}"' in page.get_content()


def test_a_long_name_is_folded_within_the_line_limit() -> None:
    rendered = render_invitation(
        invitation("ann@example.org", "Ä" * 250, "P" * 200), PUBLIC_URL, SENDER, secret=KEY
    )
    lines = rendered.data.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    assert max(len(line) for line in lines) <= 78
    message = parse(rendered.data)
    assert display_name(rendered.data) == "Ä" * 250
    assert message["Subject"] == "You are invited to " + "P" * 200


@pytest.mark.parametrize("mail_from", ["no address", "zoë@example.org"])
def test_a_sender_that_cannot_be_sent_from_is_refused(mail_from: str) -> None:
    with pytest.raises(ValueError, match="mail_from"):
        render_invitation(invitation("ann@example.org"), PUBLIC_URL, mail_from, secret=KEY)
