"""The `gfsub` command: the CLI on top of builder and harness, and its terminal (tables, progress, a quiet log).

cli (every command, and the one error handler), show (what the commands print), quiet (third-party output to a
log file), demo (`make demo`: the bundled default built, checked and packaged). No library module imports these.
"""
