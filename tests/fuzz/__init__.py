"""The fuzz harness of issue 27 ("no file crashes gfsub"): seeds (formats.py), mutators (mutate_*.py), the fork
server that runs each mutation in a process of its own (server.py), the judge and the table (harness.py), the tests
(test_fuzz.py). The long mode is scripts/fuzz.py."""
