"""Invitation links: what a learner's email holds, and what the database keeps of it.

A link's token is `<key>.<proof>`. The key is random and stored, to find the invitation; the
proof is HMAC-SHA256 of the key under the service's secret key and is never stored. A copy of
the database alone opens no invitation, and a reminder writes the very link of the first email,
so every email a learner kept still works.

Invitations created before links had proofs were emailed a bare random token. The database
keeps only its SHA-256 (migration 0006), which is how such a link is still found. A bare token
is 32 characters and a key too, a hash is 64: a key can never be taken for a hash.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

KEY_BYTES = 24  # 32 URL-safe characters
# A token is at most this long: the key, a dot and 43 characters of proof.
MAX_TOKEN = 128


def new_key() -> str:
    return secrets.token_urlsafe(KEY_BYTES)


def _proof(secret: bytes, key: str) -> str:
    digest = hmac.digest(secret, key.encode(), "sha256")
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def link_token(secret: bytes, key: str) -> str:
    """The token of the learner's link for the invitation stored with `key`."""
    return f"{key}.{_proof(secret, key)}"


def stored_key(secret: bytes, token: str) -> str | None:
    """What the database holds for the link's `token`; None when the proof is wrong."""
    key, dot, proof = token.partition(".")
    if not dot:
        return hashlib.sha256(token.encode()).hexdigest()
    if not hmac.compare_digest(proof.encode(), _proof(secret, key).encode()):
        return None
    return key
