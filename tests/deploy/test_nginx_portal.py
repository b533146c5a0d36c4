"""The portal's front door (issue 15, point 6): the app's ``/metrics``, ``/docs``,
``/redoc`` and ``/openapi.json`` are refused at nginx; everything else is proxied. And
(point 4) per-client limits on writes and tracking look-ups, 429 with Retry-After, the
client's address believed from X-Forwarded-For only for trusted proxies. And (issue 17)
nginx's own error answers — 404, 413 past ``client_max_body_size``, 502/503/504 with no
portal answering — are Chinese pages, or JSON with a reason under ``/api``.

The nginx role's template is rendered with Jinja2 and the role's defaults, and each path is
given to the ``location`` that nginx would pick for it (exact ``=``, then the longest
prefix — final if ``^~`` —, then the first matching regex ``~``/``~*`` in order, else that
longest prefix), on the path as nginx matches it (already decoded and normalized).
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from typing import Any

import jinja2
import pytest
import yaml

from sunlight.paths import repo_root

ROLE = repo_root() / "playbooks" / "roles" / "nginx"
GROUP_VARS = repo_root() / "playbooks" / "group_vars" / "all.yml"
REFUSED = ["/metrics", "/metrics/", "/docs", "/docs/", "/docs/oauth2-redirect", "/redoc",
           "/openapi.json", "/openapi.json/"]
PROXIED = ["/", "/api/v1/catalogue", "/api/v1/applications/320703-20261201-000001",
           "/api/v1/applications/320703-20261201-000001/materials",
           "/api/v1/catalogue/metrics", "/api/v1/docs-of-an-item", "/metricsx", "/documents",
           "/openapi.jsonx",
           # The citizens' pages and what they load (issue 17).
           "/catalogue", "/items/320703-SCJGJ-XK-001", "/items/320703-SCJGJ-XK-001/apply",
           "/applications/draft-AAAA/materials", "/applications/320703-20261201-000001",
           "/track", "/static/pages/pages.css", "/static/pages/portal/upload.js",
           "/api/v1/catalogue/320703-SCJGJ-XK-001/flowchart.svg",
           "/api/v1/catalogue/320703-SCJGJ-XK-001/forms/0"]


def _render(trusted: list[str] | None = None, max_body: int = 10485760) -> str:
    defaults: dict[str, Any] = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    group: dict[str, Any] = yaml.safe_load(GROUP_VARS.read_text())
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(ROLE / "templates"),
                             undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    return env.get_template("portal.conf.j2").render(
        ansible_managed="managed", sunlight_division_code="320703",
        nginx_listen={"addresses": ["10.1.0.5"], "port": 443},
        nginx_portal_upstreams=["10.1.0.6:8001", "127.0.0.1:8011"],
        nginx_server_names=["portal.320703.sunlight", "localhost"],
        nginx_tls_dir=defaults["nginx_tls_dir"], nginx_client_max_body_size=max_body,
        nginx_unavailable_retry_after_s=defaults["nginx_unavailable_retry_after_s"],
        nginx_security_headers=defaults["nginx_security_headers"],
        nginx_rate_limits=group["sunlight_rate_limits"],
        nginx_trusted_proxies=["10.1.0.1"] if trusted is None else trusted)


_LOCATION = re.compile(r"^\s*location\s+(?:(=|\^~|~\*|~)\s+)?(\S+)\s*\{(.*?)^\s*\}",
                       re.MULTILINE | re.DOTALL)


def _locations(conf: str) -> list[tuple[str, str, str]]:
    """(modifier, pattern, body) of each location of the server, in order."""
    found = [(m.group(1) or "", m.group(2), m.group(3)) for m in _LOCATION.finditer(conf)]
    assert found, "no location in the rendered template"
    return found


def _chosen(locations: list[tuple[str, str, str]], path: str) -> str:
    """The body of the location nginx picks for ``path``."""
    for modifier, pattern, body in locations:
        if modifier == "=" and pattern == path:
            return body
    prefixes = [(p, m, b) for m, p, b in locations if m in ("", "^~") and path.startswith(p)]
    longest = max(prefixes, key=lambda found: len(found[0]), default=None)
    if longest is not None and longest[1] == "^~":
        return longest[2]
    for modifier, pattern, body in locations:
        if modifier in ("~", "~*") and re.search(pattern, path,
                                                 re.IGNORECASE if modifier == "~*" else 0):
            return body
    assert longest is not None, f"no location for {path}"
    return longest[2]


@pytest.fixture(scope="module")
def locations() -> list[tuple[str, str, str]]:
    return _locations(_render())


@pytest.mark.parametrize("path", REFUSED)
def test_the_apps_operations_endpoints_are_refused_at_nginx(
        locations: list[tuple[str, str, str]], path: str) -> None:
    body = _chosen(locations, path)
    assert "return 404;" in body and "proxy_pass" not in body, f"{path} reaches the portal"


@pytest.mark.parametrize("path", PROXIED)
def test_everything_else_reaches_the_portal(locations: list[tuple[str, str, str]],
                                            path: str) -> None:
    assert "proxy_pass http://sunlight_portal;" in _chosen(locations, path), path


def test_the_refusal_keeps_the_security_headers() -> None:
    # add_header in the server block is inherited only by locations without add_header of
    # their own: the refusing location must not declare any.
    conf = _render()
    assert "always;" in conf.split("location", 1)[0]
    refusing = [b for m, _p, b in _locations(conf) if "return 404;" in b]
    assert refusing and all("add_header" not in b for b in refusing)


# --- per-client limits (issue 15, point 4); before it, none of these directives existed ---

def _directives(conf: str, name: str) -> list[str]:
    return [line.strip().rstrip(";") for line in conf.splitlines()
            if line.strip().startswith(name + " ")]


def test_writes_and_lookups_are_limited_per_client_at_the_group_vars_rates() -> None:
    conf = _render()
    limits = yaml.safe_load(GROUP_VARS.read_text())["sunlight_rate_limits"]
    zones = _directives(conf, "limit_req_zone")
    assert zones == [
        f"limit_req_zone $sunlight_write_client zone=sunlight_writes:10m "
        f"rate={limits['writes']['rate_per_s']}r/s",
        f"limit_req_zone $sunlight_lookup_client zone=sunlight_lookups:10m "
        f"rate={limits['lookups']['rate_per_s']}r/s"]
    for path in PROXIED:
        body = _chosen(_locations(conf), path)
        assert f"limit_req zone=sunlight_writes burst={limits['writes']['burst']} nodelay;" in body
        assert (f"limit_req zone=sunlight_lookups burst={limits['lookups']['burst']} nodelay;"
                in body)


def test_the_write_key_counts_every_method_but_reads() -> None:
    conf = _render()
    block = conf.split("map $request_method $sunlight_write_client {", 1)[1].split("}", 1)[0]
    assert 'GET "";' in block and 'HEAD "";' in block and "default $binary_remote_addr;" in block
    assert "POST" not in block and "DELETE" not in block  # counted by the default


@pytest.mark.parametrize(("request_line", "counted"), [
    ("GET /api/v1/applications/320703-20261201-000001", True),
    ("GET /api/v1/applications/draft-AAAAAAAAAAAAAAAAAAAAAAAA", True),
    ("GET /api/v1/applications/320703-20261201-000001/materials", False),
    ("GET /api/v1/catalogue", False),
    ("POST /api/v1/applications/320703-20261201-000001", False),  # a write: the other zone
    ("GET /applications/320703-20261201-000001", True),  # the citizens' case page
    ("GET /applications/draft-AAAA/materials", False),
    ("POST /track", False),  # a write
])
def test_tracking_look_ups_have_their_own_zone(request_line: str, counted: bool) -> None:
    conf = _render()
    block = conf.split('map "$request_method $uri" $sunlight_lookup_client {', 1)[1]
    block = block.split("}", 1)[0]
    patterns = re.findall(r'"~(\^[^"]+)" \$binary_remote_addr;', block)
    assert len(patterns) == 2
    assert any(re.search(p, request_line) for p in patterns) is counted


def test_forms_post_only_to_the_portal() -> None:
    defaults = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    assert "form-action 'self'" in defaults["nginx_security_headers"]["Content-Security-Policy"]


def test_past_the_limit_is_429_with_retry_after_and_the_security_headers() -> None:
    conf = _render()
    retry = yaml.safe_load(GROUP_VARS.read_text())["sunlight_rate_limits"]["retry_after_s"]
    assert _directives(conf, "limit_req_status") == ["limit_req_status 429"]
    assert "error_page 429 = @sunlight_rate_limited" in _directives(conf, "error_page")
    named = conf.split("location @sunlight_rate_limited {", 1)[1].split("\n    }", 1)[0]
    assert f'add_header Retry-After "{retry}" always;' in named
    assert "return 429 " in named and "rate_limited" in named and "请求过于频繁" in named
    defaults = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    for header in defaults["nginx_security_headers"]:  # add_header here drops the inherited
        assert f"add_header {header} " in named


def test_only_trusted_proxies_name_the_client() -> None:
    conf = _render(["10.1.0.1", "192.0.2.0/24"])
    assert _directives(conf, "set_real_ip_from") == ["set_real_ip_from 10.1.0.1",
                                                     "set_real_ip_from 192.0.2.0/24"]
    assert _directives(conf, "real_ip_header") == ["real_ip_header X-Forwarded-For"]
    assert _directives(conf, "real_ip_recursive") == ["real_ip_recursive on"]
    # The portal gets the client so worked out, never what the client wrote itself.
    assert _directives(conf, "proxy_set_header X-Forwarded-For") == [
        "proxy_set_header X-Forwarded-For $remote_addr"]
    alone = _render([])
    assert not _directives(alone, "set_real_ip_from") and not _directives(alone,
                                                                           "real_ip_header")


def test_the_control_node_is_a_trusted_proxy_by_default() -> None:
    group = yaml.safe_load(GROUP_VARS.read_text())
    assert group["sunlight_trusted_proxies"] == []
    defaults = (ROLE / "defaults" / "main.yml").read_text()
    assert "selectattr('roles', 'contains', 'control')" in defaults


# --- nginx's own errors in Chinese (issue 17); before it, nginx sent its English pages ---

#: status nginx gives itself -> (named location stem, status sent, words the answer has)
OWN_ERRORS = {
    404: ("not_found", 404, "页面不存在"),
    413: ("too_large", 413, "上传的文件超过大小限制（最大 10 MB），请压缩或拆分后重新上传。"),
    502: ("unavailable", 503, "系统繁忙，请稍后再试"),
    503: ("unavailable", 503, "系统繁忙，请稍后再试"),
    504: ("timed_out", 504, "系统繁忙，请稍后再试"),
}


def _named(conf: str, name: str) -> str:
    assert f"location @{name} {{" in conf, f"no location @{name}"
    return conf.split(f"location @{name} {{", 1)[1].split("\n    }", 1)[0]


def _returned(body: str) -> tuple[int, str]:
    found = re.findall(r"^\s*return (\d{3}) '([^'\\$]*(?:\$request_id[^'\\$]*)?)';$", body,
                       re.MULTILINE)
    assert len(found) == 1, body  # one literal answer: no quote, backslash or stray $
    return int(found[0][0]), found[0][1]


def _error_kind(conf: str, uri: str) -> str:
    block = conf.split("map $uri $sunlight_error_kind {", 1)[1].split("}", 1)[0]
    for pattern, kind in re.findall(r'^\s*"~([^"]+)" (\w+);$', block, re.MULTILINE):
        if re.search(pattern, uri):
            return kind
    return re.findall(r"^\s*default (\w+);$", block, re.MULTILINE)[0]


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


@pytest.mark.parametrize(("uri", "kind"), [
    ("/api/v1/applications/draft-AAAA/materials", "api"), ("/api", "api"), ("/api/", "api"),
    ("/apix", "page"), ("/items/320703-SCJGJ-XK-001/apply", "page"), ("/", "page"),
    ("/applications/draft-AAAA/materials", "page"), ("/metrics", "page")])
def test_nginx_s_own_errors_are_json_for_the_api_and_pages_elsewhere(uri: str,
                                                                      kind: str) -> None:
    assert _error_kind(_render(), uri) == kind


@pytest.mark.parametrize("code", sorted(OWN_ERRORS))
def test_nginx_s_own_error_is_a_chinese_page_or_json_with_a_reason(code: int) -> None:
    conf = _render()
    stem, status, words = OWN_ERRORS[code]
    pages = [d for d in _directives(conf, "error_page") if f" {code} " in f" {d} "]
    assert pages == [f"error_page {' '.join(map(str, _codes(conf, stem)))} = "
                     f"@sunlight_{stem}_$sunlight_error_kind"]
    defaults = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    retry = defaults["nginx_unavailable_retry_after_s"]
    for kind in ("page", "api"):
        body = _named(conf, f"sunlight_{stem}_{kind}")
        for header in defaults["nginx_security_headers"]:  # add_header here drops the rest
            assert f"add_header {header} " in body
        assert (f'add_header Retry-After "{retry}" always;' in body) is (status >= 500)
        sent, text = _returned(body)
        assert sent == status and words in text
        if kind == "api":
            assert "default_type application/json;" in body
            answer = json.loads(text.replace("$request_id", "0123456789abcdef"))
            assert answer["error"] == stem and words in answer["detail"]
            assert answer["request_id"] == "0123456789abcdef"
        else:
            assert 'default_type "text/html; charset=utf-8";' in body
            page = _Page()
            page.feed(text)
            assert text.startswith('<!doctype html><html lang="zh-CN">')
            assert page.tags.count("h1") == 1 and "a" in page.tags and "script" not in page.tags
            assert f"错误代码：{status}" in "".join(page.text)


def _codes(conf: str, stem: str) -> list[int]:
    return sorted(code for code, found in OWN_ERRORS.items() if found[0] == stem)


@pytest.mark.parametrize(("limit", "shown"), [(10485760, "10"), (5 * 2**20 + 2**19, "5.5"),
                                              (20971520, "20")])
def test_the_413_names_the_limit_nginx_enforces(limit: int, shown: str) -> None:
    conf = _render(max_body=limit)
    assert _directives(conf, "client_max_body_size") == [f"client_max_body_size {limit}"]
    for kind in ("page", "api"):
        _sent, text = _returned(_named(conf, f"sunlight_too_large_{kind}"))
        assert f"上传的文件超过大小限制（最大 {shown} MB），请压缩或拆分后重新上传。" in text


def test_the_portal_s_own_answers_pass_through_untouched() -> None:
    # error_page covers only what nginx answers itself: a portal's 404 page, its 413 and its
    # 503 with Retry-After reach the client as the portal sent them.
    conf = _render()
    assert not _directives(conf, "proxy_intercept_errors")
    assert "error_page" not in _chosen(_locations(conf), "/")
