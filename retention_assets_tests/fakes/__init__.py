"""Fakes of external services the tests talk to over loopback (never of our own code)."""
