"""The gateway (前置机): the only component on both zones, moving whitelisted records."""
