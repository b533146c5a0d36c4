"""The realizer: the Pulumi program applied without the Pulumi engine, in three steps.

``capture`` runs the program under Pulumi's mocks and records every registered resource;
``plan`` translates what was captured into the engine's networks, volumes and containers
(refusing what it does not understand); ``apply`` creates them, attaches to what runs, and
removes a site.
"""
