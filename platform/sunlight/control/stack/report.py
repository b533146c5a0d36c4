"""What ``sunlight up`` prints at the end: where everything is and what to do next."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from sunlight.control.deploy.secrets import ca_paths
from sunlight.control.stack.up import UpResult


def print_up(console: Console, result: UpResult) -> None:
    dep = result.deployment
    table = Table(title=f"deployment {dep.name}")
    for col in ("site", "tier", "profile", "portal (nginx, TLS)", "hosts"):
        table.add_column(col)
    for site in result.sites:
        portal = f"https://127.0.0.1:{site.portal_port}/" if site.portal_port else "-"
        table.add_row(site.config.division_code, site.config.tier.value,
                      site.config.profile.value, portal, ", ".join(sorted(site.hosts)))
    console.print(table)
    stages = ", ".join(f"{k} {v:.0f} s" for k, v in result.stages.items())
    console.print(f"Stages: {stages}")
    if result.playbook:
        console.print(f"Playbook log: {result.playbook.log}")
    console.print(f"Secrets and staff credentials: {dep.secrets_dir} "
                  f"(TLS CA: {ca_paths(dep.secrets_dir)[1]})")
    console.print(f"Inventory: {dep.hosts_file}")
    console.print("Status: sunlight status    Suite: make test    "
                  f"Tear down: sunlight down --name {dep.name}")
