# gfsub: the two commands are `make demo` and `make test`; both install what is missing first.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.gfsub-installed
DEMO   := demo

.PHONY: install demo test lint clean

install: $(STAMP)

$(STAMP): scripts/install.sh pyproject.toml
	bash scripts/install.sh
	touch $@

demo: $(STAMP)
	$(PY) -m builder.demo --out $(DEMO)

test: $(STAMP)
	$(PY) -m ruff check builder agent_runtime tests benchmarks
	$(PY) -m pytest -q

lint: $(STAMP)
	$(PY) -m ruff check builder agent_runtime tests benchmarks

clean:
	rm -rf $(DEMO) .pytest_cache build *.egg-info
