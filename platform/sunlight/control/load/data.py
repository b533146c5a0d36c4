"""Load-test data: many applicants walking the sample journey, and the catalogue's items.

Each application is :mod:`sunlight.catalogue.journey`'s body with a fresh, valid credit
code (correct check digit) and varied answers, so the load resembles a season of reports.

Each simulated user also presents its own client address (:func:`client_address`) in
``X-Forwarded-For``, as citizens behind a trusted front proxy would: nginx limits requests
per client address (issue 15, point 4) and believes that header only from the proxies it
trusts, the control node (where Locust runs) among them, so the load is many clients, not
one, and the load gates measure the site rather than the rate limit.

Example::

    >>> from sunlight.control.load.data import Applications
    >>> body = Applications(seed=1).annual_report()
    >>> body["item_code"]
    '320703-SCJGJ-QT-001'
    >>> client_address(1), client_address(256)
    ('100.64.0.1', '100.64.1.0')
"""

from __future__ import annotations

import ipaddress
import random
from typing import Any

from sunlight.catalogue.journey import annual_report_application
from sunlight.catalogue.sample import sample_catalogue
from sunlight.workflow.identity import generate_credit_code

KINDS = ("内资企业", "外商投资企业", "农民专业合作社", "个体工商户")
PLACES = ("海州湾", "连岛", "云台", "墟沟")


#: Simulated users' addresses: the shared address space (RFC 6598), never a real client's.
CLIENT_NETWORK = ipaddress.IPv4Network("100.64.0.0/10")


def client_address(seed: int) -> str:
    """The address simulated user ``seed`` presents in X-Forwarded-For (distinct per seed)."""
    if not 0 < seed < CLIENT_NETWORK.num_addresses - 1:
        raise ValueError(f"seed must be between 1 and {CLIENT_NETWORK.num_addresses - 2}")
    return str(CLIENT_NETWORK.network_address + seed)


class Applications:
    """Generates valid annual-report applications (enterprise applicants)."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)  # noqa: S311 - test data, reproducible by seed
        self.item_codes = [i.code for i in sample_catalogue().published()]

    def annual_report(self) -> dict[str, Any]:
        name = f"连云港{self.rng.choice(PLACES)}贸易有限公司"
        return annual_report_application(
            generate_credit_code(self.rng), name, enterprise_kind=self.rng.choice(KINDS),
            employees=self.rng.randint(1, 500),
            revenue_wan_yuan=round(self.rng.uniform(10, 50000), 2))

    def item_code(self) -> str:
        return self.rng.choice(self.item_codes)
