#!/usr/bin/env bash
# `make test`'s pytest run, in two passes:
#   1. every test not marked `alone`, on three xdist workers: the tests that share a module fixture stay on one
#      worker (tests/conftest.py groups them), the others go to whichever worker is free; session fixtures are made
#      once and shared through tests/shared.py;
#   2. the tests marked `alone` (a Ray cluster, Ctrl-C and signal tests, the sandbox's resource limits), one at a
#      time, with nothing else running beside them.
# Each pass prints its 15 slowest tests (GFSUB_TEST_DURATIONS sets another number). Extra arguments go to both passes (`scripts/run_tests.sh -x`).
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
WORKERS=${GFSUB_TEST_WORKERS:-3}  # 2 cores: a third worker fills the time the others wait on matches and timeouts
DURATIONS=${GFSUB_TEST_DURATIONS:-15}  # how many of the slowest tests each pass prints

# pytest's exit 5 is "no test collected": a pass whose selection is empty (say, `-k` matching no `alone` test).
passed() { [ "$1" -eq 0 ] || [ "$1" -eq 5 ]; }

start=$SECONDS
echo "pytest, pass 1 of 2: the independent tests on $WORKERS workers"
"$PY" -m pytest -q -n "$WORKERS" --dist loadgroup -m "not alone" --durations="$DURATIONS" "$@"
first=$?
echo "pytest, pass 2 of 2: the tests that run alone"
"$PY" -m pytest -q -m alone --durations="$DURATIONS" "$@"
second=$?
echo "pytest: both passes in $(( (SECONDS - start) / 60 )) min $(( (SECONDS - start) % 60 )) s"
if [ "$first" -eq 5 ] && [ "$second" -eq 5 ]; then echo "pytest: no test was collected" >&2; exit 5; fi
passed "$first" && passed "$second"
