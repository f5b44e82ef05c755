# gfsub: the two commands are `make demo` and `make test`. Each first runs scripts/install.sh, which installs what
# is missing (one line per step, the details in $GFSUB_CACHE/logs/install.log) and checks what is present by
# importing it, so no stamp can stand for a package that is not there.
VENV   := .venv
PY     := $(VENV)/bin/python
DEMO   := demo
LINTED := agent_runtime common runtimes builder harness gfsub tests benchmarks scripts

.PHONY: demo test lint docs install-demo install-test clean

# What the demo needs: the engine, TensorFlow, kaggle-environments, the runtimes of a default build.
install-demo:
	@bash scripts/install.sh demo

# What the tests need on top: pytest (+ xdist), ruff, playwright and Debian's chromium, Ray, mkdocs, every runtime.
install-test:
	@bash scripts/install.sh test

demo: install-demo
	@$(PY) -m gfsub.demo --out $(DEMO)

# Two pytest workers for the independent tests, then the tests marked `alone` (a Ray cluster, Ctrl-C, sandbox
# limits) one at a time; the docs site built strict; the 15 slowest tests printed.
test: install-test
	@$(PY) -m ruff check $(LINTED)
	@NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict --quiet --site-dir build/site
	@bash scripts/run_tests.sh

lint: install-test
	@$(PY) -m ruff check $(LINTED)

docs: install-test
	@NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict --site-dir build/site

clean:
	rm -rf $(DEMO) .pytest_cache build *.egg-info
