"""Unit tests are fast and Docker-free: no test here may reach an engine."""
