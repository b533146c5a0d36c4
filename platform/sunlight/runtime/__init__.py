"""The runtime side: what a site's hosts run (``sunlight serve portal|gateway|core``).

The three roles, the cross-tier exchange transport below core, the zone-crossing records,
settings, database and observability. It builds on the pure domain and never imports the
control side; installed by the ``server`` extra (the only one the node image installs).
"""
