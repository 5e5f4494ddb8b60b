"""Imports run as jobs: the tests run the queued chunks in-process with ``tests.jobs.drain``."""
