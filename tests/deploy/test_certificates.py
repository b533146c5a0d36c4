"""Transport certificates: what each host gets from the deployment CA, client certificates
for the shovels, renewal within a window, and `sunlight certs status|renew`."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from typer.testing import CliRunner

from sunlight.cli.main import app
from sunlight.control.deploy.firewall import HostView
from sunlight.control.deploy.secrets import (
    CertSpec,
    SiteSecretsSpec,
    ca_paths,
    certificate_current,
    certificate_status,
    ensure_secrets,
    server_name,
    site_specs,
    tls_paths,
)

HOSTS = [HostView("320700-mq", "320700", "320000", ("mq",), {"int": "10.0.1.4",
                                                              "backbone": "10.0.3.4"}),
         HostView("320700-mon", "320700", "320000", ("mon",), {"int": "10.0.1.5",
                                                                "backbone": "10.0.3.5"}),
         HostView("320700-core", "320700", "320000", ("core",), {"int": "10.0.1.3"}),
         HostView("320000-int", "320000", None, ("core", "core_db", "mq", "mon"),
                  {"int": "10.1.1.4", "backbone": "10.0.3.9"})]


def _cert(root: Path, code: str, name: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(tls_paths(root, code, name)[1].read_bytes())


def _usage(cert: x509.Certificate) -> list[x509.ObjectIdentifier]:
    return list(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)


def test_each_transport_endpoint_gets_a_certificate_for_its_name_and_addresses() -> None:
    specs = {s.code: {c.name: c for c in s.certs} for s in site_specs(["320700", "320000"],
                                                                       HOSTS)}
    city = specs["320700"]
    assert set(city) == {"rabbitmq-320700-mq", "prometheus-320700-mon", "core-320700-core",
                         "shovel"}
    assert city["rabbitmq-320700-mq"].dns == ("localhost", "rabbitmq.320700.sunlight")
    assert city["rabbitmq-320700-mq"].ips == ("10.0.1.4", "10.0.3.4", "127.0.0.1")
    assert city["prometheus-320700-mon"].dns == ("localhost", server_name("prometheus",
                                                                          "320700"))
    # The shovels' client certificate: its CN is the child's user on the parent's broker.
    shovel = city["shovel"]
    assert shovel.client and shovel.subject_cn("320700") == "child-320700"
    assert (shovel.dns, shovel.ips) == ((), ())
    # A province has no parent: no shovel certificate.
    assert "shovel" not in specs["320000"]
    assert not any(c.client for c in specs["320000"].values())


def test_a_shovel_certificate_is_a_client_certificate_named_for_the_child(
        tmp_path: Path) -> None:
    ensure_secrets(tmp_path, site_specs(["320700"], HOSTS))
    ca = x509.load_pem_x509_certificate(ca_paths(tmp_path)[1].read_bytes())
    shovel = _cert(tmp_path, "320700", "shovel")
    shovel.verify_directly_issued_by(ca)
    assert _usage(shovel) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    assert [a.value for a in shovel.subject.get_attributes_for_oid(NameOID.COMMON_NAME)] == [
        "child-320700"]
    server = _cert(tmp_path, "320700", "rabbitmq-320700-mq")
    assert _usage(server) == [ExtendedKeyUsageOID.SERVER_AUTH]


def test_a_certificate_whose_usage_or_subject_changed_is_issued_again(tmp_path: Path) -> None:
    spec = CertSpec("shovel", client=True, common_name="child-320700")
    ensure_secrets(tmp_path, [SiteSecretsSpec("320700", (spec,))])
    ca = x509.load_pem_x509_certificate(ca_paths(tmp_path)[1].read_bytes())
    cert = _cert(tmp_path, "320700", "shovel")
    now = dt.datetime.now(dt.UTC)
    assert certificate_current(cert, ca, spec, now, "320700")
    assert not certificate_current(cert, ca, CertSpec("shovel", common_name="child-320700"),
                                   now, "320700")  # a server certificate is wanted
    assert not certificate_current(cert, ca, CertSpec("shovel", client=True,
                                                      common_name="child-320701"),
                                   now, "320700")
    renamed = CertSpec("shovel", client=True, common_name="child-320799")
    assert ensure_secrets(tmp_path, [SiteSecretsSpec("320700", (renamed,))]) == [
        "sites/320700/tls/shovel.crt"]


def test_renewal_within_a_window_issues_again_with_the_same_key(tmp_path: Path) -> None:
    specs = site_specs(["320700"], HOSTS)
    ensure_secrets(tmp_path, specs)
    key_path, cert_path = tls_paths(tmp_path, "320700", "core-320700-core")
    key, cert = key_path.read_bytes(), cert_path.read_bytes()
    assert ensure_secrets(tmp_path, specs) == []  # 825 days left: nothing due
    due = ensure_secrets(tmp_path, specs, renew_before=dt.timedelta(days=900))
    assert sorted(due) == sorted(f"sites/320700/tls/{c.name}.crt" for c in specs[0].certs)
    assert key_path.read_bytes() == key and cert_path.read_bytes() != cert


def test_status_lists_every_certificate_soonest_first(tmp_path: Path) -> None:
    ensure_secrets(tmp_path, site_specs(["320700", "320000"], HOSTS))
    found = certificate_status(tmp_path)
    assert {(c.site, c.name) for c in found} >= {("320700", "shovel"),
                                                 ("320000", "rabbitmq-320000-int")}
    assert all(c.issued_by_ca and 824 < c.days_left <= 825 for c in found)
    assert [c.days_left for c in found] == sorted(c.days_left for c in found)
    later = certificate_status(tmp_path, site="320700",
                               now=dt.datetime.now(dt.UTC) + dt.timedelta(days=800))
    assert {c.site for c in later} == {"320700"} and all(c.days_left < 26 for c in later)


@pytest.fixture()
def deployment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    from sunlight.control.stack.deployment import Deployment

    root = Deployment("ct-1").secrets_dir
    assert str(root).startswith(str(tmp_path))  # never the operator's own secrets
    ensure_secrets(root, site_specs(["320700"], HOSTS))
    return root


def test_certs_status_names_what_is_due(deployment: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(app, ["certs", "status", "--name", "ct-1", "--json"])
    assert ok.exit_code == 0, ok.output
    doc = json.loads(ok.stdout)
    assert {c["name"] for c in doc["certificates"]} == {
        "rabbitmq-320700-mq", "prometheus-320700-mon", "core-320700-core", "shovel"}
    assert not any(c["due"] for c in doc["certificates"])
    due = runner.invoke(app, ["certs", "status", "--name", "ct-1", "--within", "900", "--json"])
    assert due.exit_code == 1 and all(c["due"] for c in json.loads(due.stdout)["certificates"])
    bad = runner.invoke(app, ["certs", "status", "--name", "ct-1", "--site", "32070"])
    assert bad.exit_code == 2 and "--site" in bad.output
    missing = runner.invoke(app, ["certs", "status", "--name", "ct-none"])
    assert missing.exit_code == 3 and "no CA" in missing.output


def test_a_child_speaks_for_itself_and_the_sites_below_it_only() -> None:
    import re

    from .plugin import filters

    pattern = filters()["site_pattern"]
    assert pattern("320703") == "320703"
    city = re.compile(f"({pattern('320700')})")  # what the province keeps from its city
    assert city.fullmatch("320700") and city.fullmatch("320703")
    assert not city.fullmatch("320000") and not city.fullmatch("320803")
    assert not re.fullmatch(f"({pattern('320703')})", "320000")
    assert filters()["server_name"]("prometheus", "320703") == "prometheus.320703.sunlight"


def test_a_host_publishes_the_expiry_of_the_certificates_it_serves_or_uses(
        tmp_path: Path) -> None:
    from .plugin import filters

    ensure_secrets(tmp_path, site_specs(["320700"], HOSTS))
    hostvars = {"320700-mq": {"sunlight_division_code": "320700", "sunlight_parent_code": "320000",
                              "sunlight_roles": ["mq"],
                              "sunlight_addresses": {"int": "10.0.1.4", "backbone": "10.0.3.4"}}}
    found = filters()["cert_expiry"](hostvars, "320700-mq", str(tmp_path / "sites" / "320700"))
    assert {c["name"] for c in found} == {"rabbitmq-320700-mq", "shovel"}
    shovel = _cert(tmp_path, "320700", "shovel")
    assert {c["name"]: c["not_after"] for c in found}["shovel"] == int(
        shovel.not_valid_after_utc.timestamp())


def test_the_rules_turn_expiry_into_days_and_alert_before_it() -> None:
    import yaml

    from sunlight.paths import repo_root

    rules = yaml.safe_load((repo_root() / "playbooks/roles/monitoring/files/sunlight.rules.yml")
                           .read_text())
    (group,) = [g for g in rules["groups"] if g["name"] == "sunlight-certificates"]
    by_name = {r.get("record") or r["alert"]: r for r in group["rules"]}
    assert by_name["sunlight:certificate_expiry_days"]["expr"] == (
        "(sunlight_certificate_expiry_timestamp_seconds - time()) / 86400")
    assert by_name["CertificateExpiresSoon"]["expr"] == "sunlight:certificate_expiry_days < 21"
    assert "sunlight certs renew" in by_name["CertificateExpiresSoon"]["annotations"][
        "description"]
    assert by_name["CertificateExpired"]["labels"]["severity"] == "critical"
