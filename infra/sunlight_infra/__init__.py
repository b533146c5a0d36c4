"""The Pulumi program of one Sunlight site, as ComponentResources.

Pure rules (divisions, layout, addresses, flows, output keys) live in
:mod:`sunlight.topology`; this package only declares resources from them. ``__main__.py``
reads the stack config and calls :func:`sunlight_infra.program.declare_site`; the realizer
and the policy tests call it directly under ``pulumi.runtime.set_mocks``.

Example::

    >>> from sunlight_infra.program import declare_site
    >>> site = declare_site(config)  # doctest: +SKIP  (inside a Pulumi runtime or mocks)
"""
