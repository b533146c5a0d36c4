"""The browser harness itself (integration/browser.py), on small local HTTPS pages: no Docker.

Two CAs are made the way a deployment makes its own (``ensure_secrets``), each issuing a
certificate for 127.0.0.1 to a tiny HTTPS server. The browser's profile trusts one of them
through its NSS store: that server's page loads, the other's fails with
ERR_CERT_AUTHORITY_INVALID, and with an empty store both fail (the trust comes from the
profile, never from ignoring errors). axe finds the serious violations of a broken page and
none on a clean one; screenshots are named by step and as wide as the viewport; a form is
filled (a list option and a file chosen too) and sent by its controls' accessible names,
with the pointer and with the keyboard alone (a spy in the page sees no pointer press).
"""

from __future__ import annotations

import http.server
import re
import ssl
import struct
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs

import pytest
from playwright.sync_api import Error as PlaywrightError

from browser import (
    PHONE,
    Hands,
    Keys,
    Pages,
    launch,
    pointer_presses,
    serious_violations,
    tab_to,
)
from sunlight.control.browser import find_chromium
from sunlight.control.deploy.secrets import (
    CertSpec,
    SiteSecretsSpec,
    ca_paths,
    ensure_secrets,
    tls_paths,
)

CODE = "320703"

CLEAN = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>办事指南</title></head>
<body><header><h1>连云区政务服务</h1></header><main>
<form method="post" action="/sent"><label for="name">申请人姓名</label>
<input id="name" name="name" autocomplete="name">
<label for="kind">企业类型</label><select id="kind" name="kind"><option value="">请选择</option>
<option>内资企业</option><option>外资企业</option></select>
<label for="pdf">上传材料（PDF）</label><input id="pdf" name="pdf" type="file" accept=".pdf">
<label><input type="checkbox" name="agree" value="1"> 我已阅读并同意承诺事项</label>
<button type="button">提交申请并打印</button><button type="submit">提交申请</button>
</form></main></body></html>"""

BROKEN = """<!doctype html><html><head><title>x</title></head><body>
<img src="/missing.png"><input type="text"><a href="/x"></a>
<p style="color:#eee;background:#fff">看不清的文字</p></body></html>"""


def _sent(fields: dict[str, list[str]]) -> str:
    name = fields.get("name", [""])[0].replace("<", "&lt;")
    agreed = "已同意" if fields.get("agree") else "未同意"
    agreed += fields.get("kind", [""])[0]
    return (f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>已提交</title>'
            f'</head><body><main><h1>已提交</h1><p id="who">{name}</p><p id="agree">{agreed}</p>'
            f"</main></body></html>")


class _Handler(http.server.BaseHTTPRequestHandler):
    def _reply(self, body: str) -> None:
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._reply(BROKEN if self.path == "/broken" else CLEAN)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        self._reply(_sent(parse_qs(self.rfile.read(length).decode())))

    def log_message(self, *_args: object) -> None:
        pass


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a browser refusing the certificate hangs up mid-handshake: expected here


def _ca(root: Path) -> Path:
    ensure_secrets(root, [SiteSecretsSpec(CODE, (CertSpec("portal", ips=("127.0.0.1",)),))],
                   deployment=root.name)
    return ca_paths(root)[1]


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, tuple[Path, str]]]:
    """{"trusted": (its CA, its URL), "untrusted": (...)}: one HTTPS server for each CA."""
    if find_chromium() is None:
        pytest.fail("no chromium: run `sunlight browser ensure` first", pytrace=False)
    out: dict[str, tuple[Path, str]] = {}
    running = []
    for name in ("trusted", "untrusted"):
        root = tmp_path_factory.mktemp(name)
        ca = _ca(root)
        key, cert = tls_paths(root, CODE, "portal")
        server = _Server(("127.0.0.1", 0), _Handler)
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(cert, key)
        # The handshake in each connection's own thread: a browser's idle preconnection
        # must not hold up accepting the next one.
        server.socket = tls.wrap_socket(server.socket, server_side=True,
                                        do_handshake_on_connect=False)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        running.append(server)
        out[name] = (ca, f"https://127.0.0.1:{server.server_address[1]}")
    yield out
    for server in running:
        server.shutdown()
        server.server_close()


def test_a_page_loads_only_when_its_ca_is_in_the_profile_s_store(
        servers: dict[str, tuple[Path, str]], tmp_path: Path) -> None:
    trusted_ca, trusted = servers["trusted"]
    _, untrusted = servers["untrusted"]
    with launch(tmp_path / "trusting", [trusted_ca]) as context:
        page = context.new_page()
        response = page.goto(trusted + "/")
        assert response is not None and response.status == 200
        assert page.title() == "办事指南"
        with pytest.raises(PlaywrightError, match="ERR_CERT_AUTHORITY_INVALID"):
            page.goto(untrusted + "/")
    with (launch(tmp_path / "empty", []) as context,
          pytest.raises(PlaywrightError, match="ERR_CERT_AUTHORITY_INVALID")):
        context.new_page().goto(trusted + "/")


def test_axe_reports_serious_violations_and_none_on_a_clean_page(
        servers: dict[str, tuple[Path, str]], tmp_path: Path) -> None:
    ca, url = servers["trusted"]
    with launch(tmp_path / "profile", [ca]) as context:
        page = context.new_page()
        page.goto(url + "/broken")
        rules = {v["id"] for v in serious_violations(page)}
        assert {"image-alt", "label", "link-name", "color-contrast", "html-has-lang"} <= rules
        page.goto(url + "/")
        assert serious_violations(page) == []


def _png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    width, height = struct.unpack(">II", header[16:24])
    return width, height


def test_pages_are_screenshotted_by_step_at_phone_width_and_checked(
        servers: dict[str, tuple[Path, str]], tmp_path: Path) -> None:
    ca, url = servers["trusted"]
    pages = Pages("harness self-test", root=tmp_path / "shots")
    with launch(tmp_path / "profile", [ca], viewport=PHONE) as context:
        page = context.new_page()
        page.goto(url + "/")
        shot = pages.visit(page, "Guide and form")
        page.goto(url + "/broken")
        with pytest.raises(AssertionError, match=r"(?s)harness self-test, broken page .*axe "
                                                 r"found \d+ serious or critical.*\nimage-alt "
                                                 r"\(critical\) at img"):
            pages.visit(page, "broken page")
    assert shot.path == tmp_path / "shots" / "harness-self-test" / "01-guide-and-form.png"
    assert _png_size(shot.path)[0] == PHONE["width"]
    assert (tmp_path / "shots" / "harness-self-test" / "02-broken-page.png").is_file()
    index = (tmp_path / "shots" / "harness-self-test" / "index.txt").read_text().splitlines()
    assert [line.split("\t")[:3] for line in index] == [
        ["01-guide-and-form.png", "Guide and form", "办事指南"], ["02-broken-page.png",
                                                              "broken page", "x"]]


@pytest.mark.parametrize("hands", [Hands, Keys], ids=["pointer", "keyboard"])
def test_a_form_is_filled_and_sent_by_accessible_names(
        hands: type[Hands], servers: dict[str, tuple[Path, str]], tmp_path: Path) -> None:
    ca, url = servers["trusted"]
    pdf = tmp_path / "材料.pdf"
    pdf.write_bytes(b"%PDF-1.4\n%%EOF\n")
    with launch(tmp_path / "profile", [ca]) as context:
        page = context.new_page()
        page.goto(url + "/")
        act = hands(page)
        act.fill("申请人姓名", "张三")
        act.choose("企业类型", "外资企业")
        act.attach("上传材料", pdf)
        assert page.locator("#pdf").evaluate("el => el.files[0].name") == "材料.pdf"
        act.tick("我已阅读")
        presses = pointer_presses(page)
        act.press("提交申请")  # the whole name: not "提交申请并打印", which comes first
        page.wait_for_url(re.compile(r"/sent$"))
        assert page.locator("#who").inner_text() == "张三"
        assert page.locator("#agree").inner_text() == "已同意外资企业"
        if hands is Keys:
            assert presses == 0  # the spy saw no pointer at all
        else:
            assert presses >= 1  # check() clicks; the spy counts it
        page.goto(url + "/")
        with pytest.raises(AssertionError, match=r"button '没有的按钮' not reached with 5 Tab"):
            tab_to(page, "没有的按钮", "button", max_tabs=5)
