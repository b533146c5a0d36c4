"""The cross-tier exchange: signed events up and down province → city → county.

Events are CloudEvents-style envelopes (:mod:`.envelope`) signed with the sending site's
Ed25519 key (:mod:`.signing`), validated against a JSON Schema per type (:mod:`.schemas`).
Every change that must travel is written to the exchange outbox in the same transaction as
the change (:mod:`.outbox`); the publisher (:mod:`.publisher`) moves it to the site's own
broker with confirms; RabbitMQ shovels carry it over the backbone (:mod:`.topology` describes
each broker as data); the consumer (:mod:`.consumer`, :mod:`.inbound`) verifies, forwards
and applies each event once, with the handler registered for its type (:mod:`.handlers`;
:mod:`.sequencing` has the per-case ordering rules). :mod:`.service` runs all of it inside
``sunlight serve core``.

This package is the transport, below core: it imports nothing of
:mod:`sunlight.runtime.core` (nor the portal or gateway). What events mean — the
subordinate views, supervision orders, baselines, statistics — is core's
(:mod:`sunlight.runtime.core.cross_tier` registers it at start-up).

Example::

    >>> from sunlight.runtime.exchange.topology import next_hop_down
    >>> next_hop_down("320000", "320703")
    '320700'
"""
