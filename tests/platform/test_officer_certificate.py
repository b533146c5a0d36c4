"""An officer account acts under its own certificate only (pure parts: the account's
certificate at creation, the certificate a step is taken under)."""

from __future__ import annotations

import pytest

from sunlight.enforcement.officers import normalise_certificate
from sunlight.runtime.core.accounts import AccountError, check_certificate
from sunlight.runtime.core.enforcement import acting_certificate
from sunlight.runtime.errors import ApiError

WANG, CHEN = "32070300101", "32070300102"


def test_check_certificate_normalises_for_officers() -> None:
    assert check_certificate(["officer"], f" {WANG} ") == WANG
    assert check_certificate(["officer"], "苏a-0001") == "苏A-0001"
    assert check_certificate(["officer"], "３２０７０３００１０１") == WANG
    assert check_certificate(["officer"], None) is None
    assert check_certificate(["officer"], "  ") is None
    assert check_certificate(["clerk"], None) is None


@pytest.mark.parametrize(("roles", "certificate", "words"), [
    (["clerk"], WANG, "only officer accounts"),
    (["legal_reviewer"], WANG, "only officer accounts"),
    (["officer"], "ab", "not a certificate number"),
    (["officer"], "32070300101!", "not a certificate number"),
    (["officer"], "x" * 40, "not a certificate number"),
])
def test_check_certificate_refuses(roles: list[str], certificate: str, words: str) -> None:
    with pytest.raises(AccountError, match=words) as caught:
        check_certificate(roles, certificate)
    assert str(caught.value).startswith("--certificate:")


def test_acting_certificate_is_the_accounts_own() -> None:
    assert acting_certificate("zf.wang", WANG, None) == WANG
    assert acting_certificate("zf.wang", WANG, "") == WANG
    assert acting_certificate("zf.wang", WANG, f" {WANG} ") == WANG
    wide = normalise_certificate("３２０７０３００１０１")
    assert acting_certificate("zf.wang", WANG, wide) == WANG


def test_acting_certificate_refuses_a_colleagues() -> None:
    with pytest.raises(ApiError) as caught:
        acting_certificate("zf.wang", WANG, CHEN)
    assert caught.value.status == 403
    assert caught.value.code == "not_own_certificate"
    assert WANG in caught.value.detail and CHEN in caught.value.detail


def test_acting_certificate_refuses_an_account_without_one() -> None:
    for claimed in (None, WANG):
        with pytest.raises(ApiError) as caught:
            acting_certificate("zf.new", None, claimed)
        assert caught.value.status == 403
        assert caught.value.code == "unqualified_officer"
        assert "no certificate" in caught.value.detail
