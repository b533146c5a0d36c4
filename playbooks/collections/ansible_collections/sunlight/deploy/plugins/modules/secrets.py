#!/usr/bin/python
"""Ansible module: generate a deployment's missing secrets on the control node."""

from __future__ import annotations

DOCUMENTATION = r"""
module: secrets
short_description: Generate a Sunlight deployment's missing secrets on the control node
description:
  - Creates, never overwrites, the deployment's passwords, tokens, TLS CA, server and client
    certificates and per-site Ed25519 signing keys (C(sunlight.control.deploy.secrets)).
  - A certificate is issued again (same key) when it no longer matches its spec or expires
    within I(renew_within_days).
  - Run it delegated to localhost, once; it needs the C(sunlight) package.
options:
  path:
    description: The deployment's secrets directory (created 0700).
    type: path
    required: true
  deployment:
    description: The deployment's name, written into the CA's subject.
    type: str
    required: true
  renew_within_days:
    description: Issue again every certificate that expires within this many days.
    type: int
    default: 30
  sites:
    description: One entry per site (its code and server certificates).
    type: list
    elements: dict
    required: true
    suboptions:
      code: {description: The site's division code., type: str, required: true}
      certs:
        description: Certificates issued by the deployment's CA.
        type: list
        elements: dict
        default: []
        suboptions:
          name: {description: File name (tls/NAME.crt)., type: str, required: true}
          dns: {description: DNS names., type: list, elements: str, default: []}
          ips: {description: IP addresses., type: list, elements: str, default: []}
          client: {description: A client certificate (clientAuth)., type: bool, default: false}
          common_name: {description: "Subject CN (default: NAME CODE).", type: str, default: ""}
"""

RETURN = r"""
created:
  description: Paths (relative to I(path)) created, or due in check mode.
  type: list
  elements: str
  returned: always
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "required": True},
            "deployment": {"type": "str", "required": True},
            "renew_within_days": {"type": "int", "default": 30},
            "sites": {"type": "list", "elements": "dict", "required": True, "options": {
                "code": {"type": "str", "required": True},
                "certs": {"type": "list", "elements": "dict", "default": [], "options": {
                    "name": {"type": "str", "required": True},
                    "dns": {"type": "list", "elements": "str", "default": []},
                    "ips": {"type": "list", "elements": "str", "default": []},
                    "client": {"type": "bool", "default": False},
                    "common_name": {"type": "str", "default": ""},
                }},
            }},
        },
        supports_check_mode=True,
    )
    try:
        import datetime as dt
        from pathlib import Path

        from sunlight.control.deploy.secrets import CertSpec, SiteSecretsSpec, ensure_secrets
    except ImportError as exc:
        module.fail_json(msg=f"the sunlight package is not importable here: {exc}")
        return
    specs = [SiteSecretsSpec(s["code"], tuple(
        CertSpec(c["name"], tuple(c["dns"]), tuple(c["ips"]), c["client"], c["common_name"])
        for c in s["certs"]))
        for s in module.params["sites"]]
    created = ensure_secrets(Path(module.params["path"]), specs,
                             deployment=module.params["deployment"],
                             dry_run=module.check_mode,
                             renew_before=dt.timedelta(days=module.params["renew_within_days"]))
    module.exit_json(changed=bool(created), created=created)


if __name__ == "__main__":
    main()
