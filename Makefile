# m6: two commands on a fresh machine: `make corpus` (sets everything up and builds the sample
# corpus) and `make test`. See README.md.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON  ?= python3
VENV    ?= .venv
PY      := $(VENV)/bin/python
M6      := $(VENV)/bin/m6

INPUT     ?= data/sample/crawl data/sample/dumps data/sample/ecommerce
OUTPUT    ?= out/corpus
RUNNER    ?= DirectRunner
WORKERS   ?= 1
BEAM_ARGS ?=
CORPUS_ARGS ?=

.PHONY: help install corpus pretrain test test-fast bench lint clean

help:
	@echo "make corpus   set up .venv and build the sample corpus into $(OUTPUT)"
	@echo "              (INPUT=<glob|folder> OUTPUT=<dir> RUNNER=<Beam runner> WORKERS=N BEAM_ARGS=...)"
	@echo "make test     run the test suite"
	@echo "make pretrain train the tiny preset from the corpus (PRESET= DATA= OUTPUT= STEPS=)"
	@echo "make bench    print the benchmarks (ratios against baselines run beside them)"
	@echo "make lint     ruff"

# torch is pinned and installed first: a bare torch requirement would pull a multi-GB CUDA build.
$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e ".[model,dev]"
	touch $@

install: $(VENV)/.installed

corpus: install
	$(M6) corpus $(foreach i,$(INPUT),--input '$(i)') --output $(OUTPUT) --runner $(RUNNER) --workers $(WORKERS) $(CORPUS_ARGS) $(BEAM_ARGS)

# make pretrain [PRESET=tiny] [DATA=out/corpus] [OUTPUT=out/pretrain] [STEPS=N]: builds the corpus
# first when DATA has no text shards; running it again resumes from the last checkpoint.
PRESET ?= tiny
DATA   ?= out/corpus
STEPS  ?=
PRETRAIN_ARGS ?=
pretrain: OUTPUT = out/pretrain
pretrain: install
	@test -d $(DATA)/text || $(MAKE) corpus OUTPUT=$(DATA)
	$(M6) pretrain --preset $(PRESET) --data $(DATA) --output $(OUTPUT) $(if $(STEPS),--steps $(STEPS)) $(PRETRAIN_ARGS)

test: install
	$(PY) -m pytest -q -p no:cacheprovider --timeout=900

test-fast: install
	$(PY) -m pytest -q -p no:cacheprovider -m "not slow"

bench: install
	@set -e; for f in bench/bench_*.py; do echo "== $$f"; $(PY) $$f; done

lint: install
	$(VENV)/bin/ruff check .

clean:
	rm -rf out build *.egg-info .pytest_cache
