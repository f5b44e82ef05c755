"""Runtimes: the Python worlds agents run in, and agents hosted in them.

registry (runtimes.toml as data, made real as cached venvs), hosted (an agent in a runtime's own process, behind
a pipe), workers/ (the scripts those processes run: a folder that holds nothing else, started with `python -I`,
so that only what the loader of the runtime puts on sys.path is importable by an agent).
"""
