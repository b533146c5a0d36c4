"""Upload checks: size limit, allowed types, declared type must match the bytes."""

from __future__ import annotations

import pytest

from sunlight.runtime.errors import ApiError
from sunlight.runtime.materials import check_size, check_type, sha256_hex, sniff

ALLOWED = ("application/pdf", "image/png")


def test_pdf_passes_and_is_named() -> None:
    assert check_type("application/pdf; charset=binary", b"%PDF-1.7", ALLOWED) == "application/pdf"


def test_generic_declaration_is_typed_by_signature() -> None:
    assert check_type("application/octet-stream", b"\x89PNG\r\n\x1a\nxx", ALLOWED) == "image/png"
    assert check_type(None, b"%PDF-1.4", ALLOWED) == "application/pdf"


@pytest.mark.parametrize(("declared", "head"), [
    ("application/x-msdownload", b"MZ\x90"),   # not allowed at all
    ("application/pdf", b"MZ\x90\x00"),       # a lie: not a PDF
    ("application/octet-stream", b"MZ\x90"),  # unknown bytes
    ("image/jpeg", b"\xff\xd8\xff"),          # known type, not allowed here
])
def test_refused_with_415(declared: str, head: bytes) -> None:
    with pytest.raises(ApiError) as info:
        check_type(declared, head, ALLOWED)
    assert info.value.status == 415 and info.value.field == "file"


def test_size_limit_is_413_only_above_the_limit() -> None:
    check_size(1024, 1024)
    with pytest.raises(ApiError) as info:
        check_size(1025, 1024)
    assert info.value.status == 413 and "1024" in info.value.detail


def test_sniff_and_hash() -> None:
    assert sniff(b"PK\x03\x04").startswith("application/vnd.openxmlformats")
    assert sniff(b"hello") == ""
    assert sha256_hex(b"") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
