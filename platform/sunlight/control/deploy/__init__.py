"""Configuring realized sites with Ansible: inventory, host firewall, secrets.

The playbooks (``playbooks/``) call into this package from the control node — a filter
plugin for the firewall and listen addresses, a module for the secrets — so the rules they
apply are plain, unit-tested Python over the same topology code the Pulumi program uses.

Example::

    >>> from sunlight.control.deploy.inventory import write_inventory
    >>> files = write_inventory(out_dir, [realized], control_key=key.path)  # doctest: +SKIP
    >>> files.hosts.name
    'hosts.yml'
"""
