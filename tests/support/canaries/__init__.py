"""Canary secrets: every secret the suite hands the hub is harvested, and looked for in every response,
log record, process output and database the run produces (the ``tests.plugins.canaries`` plugin)."""
