# Both targets create and fill their own virtual environment (.venv) from pyproject.toml.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: audit test docs conformance wheel-audit clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

audit: $(STAMP)
	$(BIN)/refloss audit

test: $(STAMP)
	$(BIN)/python -m pytest

docs: $(STAMP)
	$(BIN)/python -m sphinx -W --keep-going -b html docs docs/_build/html

# The records the conformance page is generated from (docs/conformance/<framework>.json).
conformance: $(STAMP)
	for f in torch jax optax sklearn scipy; do $(BIN)/refloss conform $$f --json > docs/conformance/$$f.json || exit 1; done

# The wheel carries everything the audit needs (the definitions in refloss.proofs, the golden data): build
# it, install it with the audit extra into a fresh environment, and audit from a directory outside the checkout.
wheel-audit: $(STAMP)
	rm -rf build/wheel && $(BIN)/python -m pip wheel --quiet --no-deps -w build/wheel .
	set -e; where=$$(mktemp -d); trap 'rm -rf "$$where"' EXIT; \
	$(PYTHON) -m venv "$$where/venv"; \
	"$$where/venv/bin/python" -m pip install --quiet "$$(ls $(CURDIR)/build/wheel/refloss-*.whl)[audit]"; \
	cd "$$where" && "$$where/venv/bin/refloss" audit --examples 10

clean:
	rm -rf $(VENV) build docs/_build docs/catalogue.rst docs/api docs/derivations .pytest_cache .hypothesis
