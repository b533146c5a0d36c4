"""Receipt numbers (受理回执号) and tracking secrets for applicants.

A receipt number names the site, the day and the site's sequence that day:
``320703-20261128-000123``. It is printed on the receipt and is not secret; with it the
applicant also gets a random tracking secret, of which the site stores only the sha256.
The secret has 128 random bits, so an unsalted fast hash is enough: there is nothing to
brute-force that a salt or a slow hash would protect.

A receipt number is issued at submission, not when a draft is started (issue 15, point 4):
a draft is named by an opaque, random draft id (:func:`new_draft_id`), so drafts that are
never submitted use up none of the day's receipt space and name nothing guessable.

Example::

    >>> from datetime import date
    >>> text = format_receipt("320703", date(2026, 11, 28), 123)
    >>> text
    '320703-20261128-000123'
    >>> parse_receipt(text)
    ('320703', datetime.date(2026, 11, 28), 123)
    >>> secret = new_tracking_secret()
    >>> secret_matches(secret, hash_secret(secret)), secret_matches("guess", hash_secret(secret))
    (True, False)
    >>> draft = new_draft_id()
    >>> draft.startswith("draft-"), is_receipt(draft), is_receipt(text)
    (True, False, True)
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import date, datetime

__all__ = [
    "DRAFT_ID_PATTERN",
    "MAX_DAILY_SEQ",
    "RECEIPT_PATTERN",
    "format_receipt",
    "hash_secret",
    "is_receipt",
    "new_draft_id",
    "new_tracking_secret",
    "parse_receipt",
    "secret_matches",
]

#: Six digits of sequence per site and day; the busiest reported site handles ~2,000 a day.
MAX_DAILY_SEQ = 999_999
#: The shape of a receipt number, for API schemas (the date is checked separately).
RECEIPT_PATTERN = r"^[0-9]{6}-[0-9]{8}-[0-9]{6}$"
#: The shape of a draft id: ``draft-`` and 144 random bits, URL-safe (24 characters).
DRAFT_ID_PATTERN = r"^draft-[A-Za-z0-9_-]{24}$"
_SITE = re.compile(r"[0-9]{6}")
_RECEIPT = re.compile(r"([0-9]{6})-([0-9]{8})-([0-9]{6})")


def _check_site(site: str) -> None:
    if not _SITE.fullmatch(site):
        raise ValueError(f"site must be a 6-digit division code, got {site!r}")


def format_receipt(site: str, day: date, seq: int) -> str:
    """``site-YYYYMMDD-seq``, the sequence zero-padded to six digits (1 to 999999)."""
    _check_site(site)
    if not 1 <= seq <= MAX_DAILY_SEQ:
        raise ValueError(f"seq must be between 1 and {MAX_DAILY_SEQ}, got {seq}")
    return f"{site}-{day:%Y%m%d}-{seq:06d}"


def parse_receipt(text: str) -> tuple[str, date, int]:
    """``(site, day, seq)`` from a receipt number; surrounding whitespace is ignored.

    Raises ValueError saying what is wrong (shape, date or sequence).
    """
    match = _RECEIPT.fullmatch(text.strip())
    if match is None:
        raise ValueError(
            f"not a receipt number: {text!r} (expected 6-digit site, YYYYMMDD and 6-digit "
            "sequence joined by '-', e.g. 320703-20261128-000123)"
        )
    site, day_text, seq_text = match.groups()
    try:
        day = datetime.strptime(day_text, "%Y%m%d").date()
    except ValueError:
        raise ValueError(f"receipt {text!r} has an impossible date {day_text}") from None
    seq = int(seq_text)
    if seq == 0:
        raise ValueError(f"receipt {text!r} has sequence 000000; sequences start at 1")
    return site, day, seq


def is_receipt(text: str) -> bool:
    """Whether ``text`` has the shape of a receipt number (a draft id never has)."""
    return _RECEIPT.fullmatch(text) is not None


def new_draft_id() -> str:
    """A fresh opaque draft id (144 random bits): not a count, not a date, not guessable."""
    return "draft-" + secrets.token_urlsafe(18)


def new_tracking_secret() -> str:
    """A fresh secret for the applicant to track the case (128 random bits, URL-safe)."""
    return secrets.token_urlsafe(16)


def hash_secret(secret: str) -> str:
    """The sha256 hex digest stored instead of the secret."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def secret_matches(secret: str, stored_hash: str) -> bool:
    """Whether ``secret`` hashes to ``stored_hash``, in constant time."""
    # Bytes, not str: compare_digest rejects non-ASCII str, and a tampered row could hold one.
    return hmac.compare_digest(hash_secret(secret).encode(), stored_hash.encode("utf-8"))
