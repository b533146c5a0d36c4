"""``sunlight exchange definitions`` and ``keygen`` (no running core needed)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import typer
from typer.testing import CliRunner

from sunlight.cli import exchange as cli_exchange
from sunlight.runtime.exchange.signing import load_private_key

runner = CliRunner()


def _app() -> typer.Typer:
    app = typer.Typer()
    cli_exchange.register(app)

    @app.callback()
    def _root() -> None:
        """A stand-in for the sunlight command."""

    return app


def test_definitions_prints_importable_json() -> None:
    result = runner.invoke(_app(), ["exchange", "definitions", "--site", "320703",
                                    "--parent", "320700"],
                           env={"SUNLIGHT_EXCHANGE_PARENT_URI": "amqp://u:pw1234@10.0.0.2/x"})
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert {p["name"] for p in doc["parameters"]} == {"sunlight-up-to-320700",
                                                      "sunlight-down-from-320700"}


def test_definitions_refuses_a_uri_without_credentials() -> None:
    result = runner.invoke(_app(), ["exchange", "definitions", "--site", "320703", "--parent",
                                    "320700", "--parent-uri", "amqp://10.0.0.2/x"])
    assert result.exit_code == 2 and "credentials" in result.output


def test_keygen_writes_a_private_key_only_the_owner_reads(tmp_path: Path) -> None:
    result = runner.invoke(_app(), ["exchange", "keygen", "320703", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE((tmp_path / "320703.key").stat().st_mode) == 0o600
    assert load_private_key(tmp_path / "320703.key")
    assert (tmp_path / "320703.pem").read_bytes().startswith(b"-----BEGIN PUBLIC KEY-----")
    again = runner.invoke(_app(), ["exchange", "keygen", "320703", "--out", str(tmp_path)])
    assert again.exit_code != 0  # never overwrites a key
