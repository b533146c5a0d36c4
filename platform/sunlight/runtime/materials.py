"""Upload checks shared by the portal: one size limit, allowed types, content sniffing, sha256,
and a cap on the number and total size of one submission's materials.

Example::

    >>> check_type("application/pdf", b"%PDF-1.7 ...", ("application/pdf",))
    'application/pdf'
"""

from __future__ import annotations

import hashlib

from sunlight.runtime.errors import ApiError

# Declared types must match what the bytes are: a renamed executable is refused.
SIGNATURES: dict[str, tuple[bytes, ...]] = {
    "application/pdf": (b"%PDF-",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": (b"PK\x03\x04",),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": (b"PK\x03\x04",),
}


GENERIC = {"", "application/octet-stream"}


def sniff(head: bytes) -> str:
    """The content type the bytes declare by their signature ('' when none matches)."""
    for content_type, signatures in SIGNATURES.items():
        if any(head.startswith(sig) for sig in signatures):
            return content_type
    return ""


def check_type(declared: str | None, head: bytes, allowed: tuple[str, ...]) -> str:
    """Return the content type, or raise 415 naming the allowed types.

    A generic declaration (none, or application/octet-stream, as some browsers send) is
    replaced by what the signature says; a specific one must match the signature.
    """
    content_type = (declared or "").split(";")[0].strip().lower()
    if content_type in GENERIC:
        content_type = sniff(head) or content_type
    if content_type not in allowed:
        raise ApiError(415, "unsupported_type",
                       f"material type {content_type or '(none)'} is not allowed; "
                       f"allowed: {', '.join(allowed)}", field="file")
    signatures = SIGNATURES.get(content_type, ())
    if signatures and not any(head.startswith(sig) for sig in signatures):
        raise ApiError(415, "unsupported_type",
                       f"the file's content is not {content_type}", field="file")
    return content_type


def check_size(size: int, limit: int) -> None:
    if size > limit:
        raise ApiError(413, "too_large",
                       f"material is larger than the limit of {limit} bytes", field="file")


def check_quota(count: int, total: int, size: int, max_count: int, max_total: int) -> None:
    """Refuse one more material of ``size`` bytes when a submission already holds ``count``
    materials of ``total`` bytes: 422 past the number, 413 past the total, naming the limit."""
    if count >= max_count:
        raise ApiError(422, "too_many_materials",
                       f"an application may hold at most {max_count} materials per "
                       f"submission; {count} are uploaded", field="file")
    if total + size > max_total:
        raise ApiError(413, "materials_too_large",
                       f"an application's materials may total at most {max_total} bytes per "
                       f"submission; {total} are uploaded and this one is {size}", field="file")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
