"""Bring your own hosts: configure existing Debian 12 machines that Sunlight did not create.

The hosts file (:mod:`~sunlight.control.byoh.hostsfile`, ``docs/hosts-file.md``) names each
site's machines; their SSH host keys are pinned only after the operator confirms them
(:mod:`~sunlight.control.byoh.hostkeys`); :mod:`~sunlight.control.byoh.prechecks` checks
every host over SSH before anything is configured; :mod:`~sunlight.control.byoh.up` runs
the three and then the playbooks, from the same inventory the realizer path writes.
"""
