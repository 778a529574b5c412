# make demo   create .venv if missing, install the pinned requirements, run the demo DAG and
#             write Snakemake's HTML report of it (results/snakemake-report.html)
# make test   same install, then the test suite
# make lint   snakemake --lint and snakefmt --check
# make bench  speed and memory benchmarks, printed as name: value lines
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-requirements

# Snakemake runs script: rules with the Python that runs it (the venv's); the venv first on PATH
# keeps every other tool a job may call in the same environment
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: install demo test lint bench

$(STAMP): requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/snakemake --profile profiles/demo
	$(BIN)/snakemake --profile profiles/demo --report results/snakemake-report.html

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/snakemake --lint
	$(BIN)/snakefmt --check Snakefile rules

bench: $(STAMP)
	$(BIN)/python scripts/bench_embed.py
	@if [ -f scripts/bench_cosine_stats.py ]; then $(BIN)/python scripts/bench_cosine_stats.py; fi
