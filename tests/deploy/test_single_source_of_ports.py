"""infra/flows.yaml is the only place a port is stated.

Every port of flows.yaml's ``services`` is looked for, as a whole number, in the files git
tracks (or would track) outside flows.yaml itself, the tests, the integration suites and
the documentation: YAML, Jinja, Python, ini and conf files. Code must name the service
instead — the playbooks read the inventory's ``sunlight_listen`` / ``sunlight_peers``,
Python asks the flow matrix (``load_flows().port("core_api")``). Comments and Python
docstrings are prose and are not searched; string literals are (a URL is code).

A hit that is not a port (a column length, a prefix length, a division code) or that this
change could not remove is listed in :data:`ALLOWED` with its reason.
"""

from __future__ import annotations

import ast
import fnmatch
import io
import re
import subprocess
import tokenize
from dataclasses import dataclass
from pathlib import Path

from sunlight.paths import repo_root
from sunlight.topology.flows import FLOWS_FILE, load_flows

ROOT = repo_root()
SCANNED = re.compile(r"(\.(ya?ml|j2|py|ini|cfg|conf|toml|service)|^\.yamllint|^\.ansible-lint)$")
NOT_SCANNED = (FLOWS_FILE.as_posix(), "tests/*", "integration/*", "docs/*", "*.md")


@dataclass(frozen=True)
class Allowed:
    """A literal that may stay: in files matching ``path``, on lines matching ``line``."""

    path: str  # fnmatch pattern, relative to the checkout
    port: int
    line: str  # regular expression searched in the line
    reason: str


ALLOWED: tuple[Allowed, ...] = (
    # Not ports: the same digits meaning something else.
    Allowed("platform/sunlight/topology/addressing.py", 22, r"BACKBONE_PREFIX = 22",
            "a network prefix length (/22), not a port"),
    Allowed("platform/sunlight/topology/division.py", 22, r'"22"',
            "a province's division code (22 = 吉林省), not a port"),
    Allowed("platform/sunlight/runtime/*", 80, r"String\((length=)?80\)",
            "a column length, not a port"),
    Allowed("platform/sunlight/runtime/exchange/inbound.py", 80, r"\[:80\]",
            "a truncation length, not a port"),
    # Ports in help texts: the documented shape of a URL the operator passes.
    Allowed("platform/sunlight/cli/exchange.py", 5672, r"amqp://USER:PASSWORD@HOST:5672/VHOST",
            "help text showing the parent broker's URL (documentation)"),
    Allowed("platform/sunlight/runtime/exchange/topology.py", 5672,
            r"amqp://USER:PASSWORD@HOST:5672/VHOST",
            "an error message showing the expected URL (documentation)"),
)


def _files() -> list[str]:
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT,
                            check=True, capture_output=True, text=True).stdout.splitlines()
    return sorted(f for f in set(listed) if SCANNED.search(Path(f).name)
                  and not any(fnmatch.fnmatch(f, p) for p in NOT_SCANNED)
                  and (ROOT / f).is_file())


def _python_code(text: str) -> list[tuple[int, str]]:
    """(line, text) of every token but comments and docstrings."""
    docstrings = set()
    try:
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef
                          | ast.AsyncFunctionDef) and node.body:
                first = node.body[0]
                if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
                        and isinstance(first.value.value, str):
                    docstrings.add((first.lineno, first.col_offset))
    except SyntaxError:
        pass
    out = []
    for token in tokenize.generate_tokens(io.StringIO(text).readline):
        if token.type in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE):
            continue
        if token.type == tokenize.STRING and token.start in docstrings:
            continue
        for offset, line in enumerate(token.string.split("\n")):
            out.append((token.start[0] + offset, line))
    return out


_COMMENT = re.compile(r"(^|\s)#.*$|\{#.*?#\}")


def _other_code(text: str) -> list[tuple[int, str]]:
    """(line, text) without ``#`` comments (YAML, ini, conf) and Jinja comments."""
    return [(n, _COMMENT.sub("", line).rstrip()) for n, line in enumerate(text.splitlines(), 1)]


def _pattern(port: int) -> re.Pattern[str]:
    # A whole number: not part of a word, an address, a version, a path or a CIDR prefix.
    return re.compile(rf"(?<![\w./-]){port}(?![\w]|\.\d)")


def stray_literals() -> list[str]:
    ports = sorted(set(load_flows().services.values()))
    patterns = {port: _pattern(port) for port in ports}
    hits = []
    for name in _files():
        text = (ROOT / name).read_text(encoding="utf-8", errors="replace")
        chunks = _python_code(text) if name.endswith(".py") else _other_code(text)
        full = text.splitlines()
        for number, chunk in chunks:
            for port, pattern in patterns.items():
                if not pattern.search(chunk):
                    continue
                line = full[number - 1] if number <= len(full) else chunk
                if any(port == a.port and fnmatch.fnmatch(name, a.path)
                       and re.search(a.line, line) for a in ALLOWED):
                    continue
                hits.append(f"{name}:{number}: {port}: {line.strip()}")
    return sorted(set(hits))


def test_no_port_of_flows_yaml_is_written_anywhere_else() -> None:
    hits = stray_literals()
    assert not hits, ("ports stated outside infra/flows.yaml (name the service instead: the "
                      "inventory's sunlight_listen/sunlight_peers, or load_flows().port()):\n"
                      + "\n".join(hits))


def test_the_search_finds_what_it_looks_for(tmp_path: Path) -> None:
    pattern = _pattern(8003)
    for text in ("port: 8003", "http://10.0.0.1:8003/readyz", "[8003, 9090]", "CORE = 8003",
                 "'8003'", "8003."):
        assert pattern.search(text), text
    for text in ("18003", "80031", "1.8003", "10.0.80.3", "/8003", "v8003", "8003.5",
                 "port_8003"):
        assert not pattern.search(text), text
    code = _python_code('"""Doc: 8003."""\nPORT = 8003  # 9090\nURL = f"http://x:{PORT}"\n')
    assert [n for n, chunk in code if "8003" in chunk] == [2]
    assert not any("9090" in chunk for _, chunk in code)
    assert [c for _, c in _other_code("a: 8003  # 9090\n# 5672\nb: '{# 22 #}x'\n")] == [
        "a: 8003", "", "b: 'x'"]


def test_every_allowed_literal_says_why() -> None:
    ports = set(load_flows().services.values())
    for allowed in ALLOWED:
        assert allowed.port in ports and len(allowed.reason) > 20, allowed
