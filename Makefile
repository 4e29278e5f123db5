# Two commands on a fresh machine (Python 3.11 + make): `make run` and `make test`.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
HOST ?= 127.0.0.1
PORT ?= 8501
export ANONYMIZED_TELEMETRY := False
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: run test ingest bench eval install clean

$(BIN)/python:
	@command -v $(PY) >/dev/null || { echo "Python 3.11 is nodig ($(PY) niet gevonden)"; exit 1; }
	$(PY) -m venv $(VENV)

# torch first, pinned to the CPU build, so sentence-transformers never pulls CUDA wheels.
$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "torch==2.13.0"
	$(BIN)/python -m pip install --quiet -e ".[dev]" --config-settings editable_mode=compat
	touch $(STAMP)

install: $(STAMP)

ingest: $(STAMP)
	$(BIN)/praktijkkaart ingest

# Ingest is incremental: when the store is current it returns in well under 2 s.
run: ingest
	$(BIN)/streamlit run ui/app.py --server.address $(HOST) --server.port $(PORT)

test: $(STAMP)
	$(BIN)/python -m pytest -q

eval: $(STAMP)
	$(BIN)/praktijkkaart eval

bench: $(STAMP)
	$(BIN)/praktijkkaart bench

clean:
	rm -rf $(VENV) .praktijkkaart .pytest_cache
