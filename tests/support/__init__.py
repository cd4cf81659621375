"""Helpers shared by the tests: child processes and their environment (:mod:`.processes`)."""
