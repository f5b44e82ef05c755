# gfsub: the two commands are `make demo` and `make test`; each installs what it needs first (scripts/install.sh:
# one line per step, the details in $GFSUB_CACHE/logs/install.log), once.
VENV   := .venv
PY     := $(VENV)/bin/python
DEMO   := demo
LINTED := agent_runtime common runtimes builder harness gfsub tests benchmarks scripts

.PHONY: demo test lint clean

# What the demo needs: the engine, TensorFlow, kaggle-environments, the runtimes of a default build.
$(VENV)/.gfsub-demo: scripts/install.sh pyproject.toml
	@bash scripts/install.sh demo
	@touch $@

# What the tests need on top: pytest, ruff, playwright and Debian's chromium, Ray, every target runtime.
$(VENV)/.gfsub-test: scripts/install.sh pyproject.toml
	@bash scripts/install.sh test
	@touch $@

demo: $(VENV)/.gfsub-demo
	@$(PY) -m gfsub.demo --out $(DEMO)

test: $(VENV)/.gfsub-test
	@$(PY) -m ruff check $(LINTED)
	@$(PY) -m pytest -q

lint: $(VENV)/.gfsub-test
	@$(PY) -m ruff check $(LINTED)

clean:
	rm -rf $(DEMO) .pytest_cache build *.egg-info
