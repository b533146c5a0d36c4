"""The portal's front door (issue 15, point 6): the app's ``/metrics``, ``/docs``,
``/redoc`` and ``/openapi.json`` are refused at nginx; everything else is proxied.

The nginx role's template is rendered with Jinja2 and the role's defaults, and each path is
given to the ``location`` that nginx would pick for it (exact ``=``, then the longest
prefix — final if ``^~`` —, then the first matching regex ``~``/``~*`` in order, else that
longest prefix), on the path as nginx matches it (already decoded and normalized).
"""

from __future__ import annotations

import re
from typing import Any

import jinja2
import pytest
import yaml

from sunlight.paths import repo_root

ROLE = repo_root() / "playbooks" / "roles" / "nginx"
REFUSED = ["/metrics", "/metrics/", "/docs", "/docs/", "/docs/oauth2-redirect", "/redoc",
           "/openapi.json", "/openapi.json/"]
PROXIED = ["/", "/api/v1/catalogue", "/api/v1/applications/320703-20261201-000001",
           "/api/v1/applications/320703-20261201-000001/materials",
           "/api/v1/catalogue/metrics", "/api/v1/docs-of-an-item", "/metricsx", "/documents",
           "/openapi.jsonx"]


def _render() -> str:
    defaults: dict[str, Any] = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(ROLE / "templates"),
                             undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    return env.get_template("portal.conf.j2").render(
        ansible_managed="managed", sunlight_division_code="320703",
        nginx_listen={"addresses": ["10.1.0.5"], "port": 443},
        nginx_portal_upstreams=["10.1.0.6:8001", "127.0.0.1:8011"],
        nginx_server_names=["portal.320703.sunlight", "localhost"],
        nginx_tls_dir=defaults["nginx_tls_dir"], nginx_client_max_body_size=10485760,
        nginx_security_headers=defaults["nginx_security_headers"])


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
