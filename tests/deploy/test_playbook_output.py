"""The one reader of ansible-playbook output: recap, retries, failures, changed tasks, and
the runner around it (log, captured output, SSH control-path directory, time-out)."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import pytest

from sunlight.control.stack.ansible import (
    PlaybookFailed,
    parse_output,
    playbook_env,
    run_playbook,
)

TRANSCRIPT = """\
PLAY [The host itself] *********************************************************

TASK [common : Install the host's packages] ************************************
ok: [320703-ext]
changed: [320703-int]

TASK [rabbitmq : Create the exchange's virtual host] ***************************
FAILED - RETRYING: [320703-int]: rabbitmq : Create the exchange's virtual host (5 retries left).
FAILED - RETRYING: [320703-int]: rabbitmq : Create the exchange's virtual host (4 retries left).
ok: [320703-int]

TASK [sunlight_core : Run core] ************************************************
changed: [320703-int] => (item=sunlight-core)

RUNNING HANDLER [sunlight_app : Restart sunlight-core] *************************
changed: [320703-int]

TASK [nginx : Configure the front door] ****************************************
fatal: [320703-ext]: FAILED! =>
    msg: nope

PLAY RECAP *********************************************************************
""" + "".join(
    f"{host:<27}: ok={ok:<4} changed={changed:<4} unreachable=0    failed={failed:<4} "
    f"skipped={skipped:<4} rescued={rescued:<4} ignored=0\n"
    for host, ok, changed, failed, skipped, rescued in (
        ("320703-ext", 1, 0, 1, 2, 0), ("320703-int", 4, 3, 0, 7, 1)))


def test_a_transcript_is_read_into_recap_retries_failures_and_changed_tasks() -> None:
    result = parse_output("site.yml", TRANSCRIPT)
    assert result.recap == {
        "320703-ext": {"ok": 1, "changed": 0, "unreachable": 0, "failed": 1, "skipped": 2,
                       "rescued": 0, "ignored": 0},
        "320703-int": {"ok": 4, "changed": 3, "unreachable": 0, "failed": 0, "skipped": 7,
                       "rescued": 1, "ignored": 0}}
    assert result.changed == {"320703-ext": 0, "320703-int": 3} and result.total_changed == 3
    assert result.total("skipped") == 9 and result.total("failed") == 1
    assert result.retries == [("320703-int", "rabbitmq : Create the exchange's virtual host")] * 2
    assert result.failures == [("320703-ext", "nginx : Configure the front door")]
    assert result.changed_tasks == ["common : Install the host's packages",
                                    "sunlight_core : Run core",
                                    "sunlight_app : Restart sunlight-core"]
    assert result.tail == TRANSCRIPT[-6000:]


def test_an_older_recap_without_skipped_still_counts() -> None:
    result = parse_output("verify.yml", "h1 : ok=3 changed=1 unreachable=0 failed=0\n")
    assert result.recap["h1"]["skipped"] == 0 and result.changed == {"h1": 1}


FAKE = """#!{python}
import os, sys, time
print("PLAY [Fake] ***")
print("control path dir:", os.environ.get("ANSIBLE_SSH_CONTROL_PATH_DIR", "-"))
print("config:", os.environ["ANSIBLE_CONFIG"], "args:", " ".join(sys.argv[1:]))
sys.stdout.write(open(os.environ["FAKE_TRANSCRIPT"]).read())
sys.stdout.flush()
print("a warning", file=sys.stderr)
sleep = float(os.environ.get("FAKE_SLEEP", "0"))
if sleep:
    time.sleep(sleep)
sys.exit(int(os.environ.get("FAKE_EXIT", "0")))
"""


@pytest.fixture
def fake_ansible(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An ``ansible-playbook`` beside a fake interpreter path: prints TRANSCRIPT."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "ansible-playbook"
    script.write_text(FAKE.format(python=sys.executable))
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    transcript = tmp_path / "transcript.txt"
    transcript.write_text(TRANSCRIPT)
    monkeypatch.setattr(sys, "executable", str(bin_dir / "python"))
    monkeypatch.setenv("FAKE_TRANSCRIPT", str(transcript))
    return tmp_path


def test_the_runner_logs_captures_and_gives_ssh_sockets_their_own_directory(
        fake_ansible: Path) -> None:
    seen: list[str] = []
    log = fake_ansible / "logs" / "site.log"
    result = run_playbook("site.yml", Path("/inv/hosts.yml"), log, progress=seen.append,
                          extra_args=["--check"], check=False, capture=True,
                          control_path_dir=fake_ansible / "cp")
    assert result.returncode == 0 and result.seconds > 0
    assert seen == ["site.yml: Fake", "site.yml: The host itself"]
    assert f"control path dir: {fake_ansible / 'cp'}" in result.output
    assert "args: -i /inv/hosts.yml site.yml --check" in result.output
    assert "a warning" in result.output and log.read_text() == result.output
    assert result.recap["320703-int"]["changed"] == 3 and len(result.retries) == 2
    quiet = run_playbook("site.yml", Path("/inv/hosts.yml"), None, check=False)
    assert quiet.output == "" and quiet.recap == result.recap  # parsed, not kept


def test_a_failed_run_names_host_task_and_log(fake_ansible: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_EXIT", "2")
    log = fake_ansible / "site.log"
    with pytest.raises(PlaybookFailed, match=r"host 320703-ext, task 'nginx : Configure the "
                       r"front door'.*site.log") as err:
        run_playbook("site.yml", Path("/inv/hosts.yml"), log)
    assert err.value.result is not None and err.value.result.returncode == 2
    unchecked = run_playbook("site.yml", Path("/inv/hosts.yml"), None, check=False)
    assert unchecked.returncode == 2


def test_a_run_past_its_time_out_is_killed(fake_ansible: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_SLEEP", "60")
    with pytest.raises(subprocess.TimeoutExpired) as err:
        run_playbook("site.yml", Path("/inv/hosts.yml"), fake_ansible / "t.log",
                     capture=True, timeout=1.5)
    assert "PLAY RECAP" in str(err.value.output)


def test_the_environment_is_the_checkouts_ansible_cfg_without_colour(tmp_path: Path) -> None:
    env = playbook_env()
    assert env["ANSIBLE_CONFIG"].endswith("playbooks/ansible.cfg")
    assert env["ANSIBLE_NOCOLOR"] == "1" and "ANSIBLE_SSH_CONTROL_PATH_DIR" not in env
    assert playbook_env(tmp_path)["ANSIBLE_SSH_CONTROL_PATH_DIR"] == str(tmp_path)
