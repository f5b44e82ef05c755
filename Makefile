# gfsub: the two commands are `make demo` and `make test`; both install what is missing first.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.gfsub-installed
DEMO   := demo

.PHONY: install runtimes demo test lint clean

install: $(STAMP)

$(STAMP): scripts/install.sh pyproject.toml
	bash scripts/install.sh
	touch $@

# The target runtimes (Kaggle's 2020 image, Keras 2, Python 3.13): venvs in ~/.cache/gfsub/runtimes, made once.
runtimes: $(STAMP)
	$(PY) -m builder.cli runtime create

demo: $(STAMP)
	$(PY) -m builder.demo --out $(DEMO)

test: runtimes
	$(PY) -m ruff check builder agent_runtime harness tests benchmarks scripts
	$(PY) -m pytest -q

lint: $(STAMP)
	$(PY) -m ruff check builder agent_runtime harness tests benchmarks scripts

clean:
	rm -rf $(DEMO) .pytest_cache build *.egg-info
