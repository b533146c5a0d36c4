"""Configuring realized sites with Ansible: inventory, host firewall, secrets.

The inventory writer states, once per host, what ``infra/flows.yaml`` means for it —
listen addresses, firewall rules, clients, peers — as host variables; the playbooks
(``playbooks/``) read those and call into this package only for the secrets (a module) and
a few filters that compute no port or address. So the rules they apply are plain,
unit-tested Python over the same topology code the Pulumi program uses.

Example::

    >>> from sunlight.control.deploy.inventory import write_inventory
    >>> files = write_inventory(out_dir, [realized], control_key=key.path)  # doctest: +SKIP
    >>> files.hosts.name
    'hosts.yml'
"""
