"""The control side: what runs on the control node and never on a site's hosts.

The engine and the host-changes ledger, the node image, hosts and SSH, the realizer
(capture → plan → apply), the stack (up, status, scenario), the deployment's inventory,
firewall and secrets, the doctor, and load generation. It builds on the pure domain
(``sunlight.topology``, ``sunlight.workflow``, ``sunlight.catalogue``); installed by the
``control`` extra.
"""
