"""A whole deployment on the local engine: ``sunlight up|status|verify|down|node add``."""
