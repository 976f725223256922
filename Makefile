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
REPORT    ?= 1
# make crawl: the crawl folder is never the corpus folder (m6 corpus reads it as INPUT)
URLS         ?=
CRAWL_OUTPUT ?= out/crawl
CRAWL_ARGS   ?=

.PHONY: help install constraints image kenlm quality-models corpus crawl crawl-urls crawl-cc pretrain test test-fast bench bench-scale lint clean

help:
	@echo "make corpus   set up .venv and build the sample corpus into $(OUTPUT)"
	@echo "              (INPUT=<glob|folder> OUTPUT=<dir> RUNNER=<Beam runner> WORKERS=N BEAM_ARGS=...)"
	@echo "              and writes OUTPUT/report.html (REPORT=0 turns the report off)"
	@echo "make crawl    URLS=<file|glob> crawl URL lists / sitemaps politely into $(CRAWL_OUTPUT)"
	@echo "              (CRAWL_OUTPUT=<dir> CRAWL_ARGS='--user-agent ... --delay 1 --depth 1');"
	@echo "              or CC_INDEX=<Common Crawl index glob or cc-index-table.paths.gz>"
	@echo "              [CC_BASE_URL=https://data.commoncrawl.org/] (CRAWL_ARGS='--limit 10000 --dry-run');"
	@echo "              then: make corpus INPUT=$(CRAWL_OUTPUT)"
	@echo "make test     run the test suite"
	@echo "make pretrain train the tiny preset from the corpus (PRESET= DATA= OUTPUT= STEPS= NPROC=)"
	@echo "make bench    print the benchmarks (ratios against baselines run beside them)"
	@echo "make bench-scale  peak RSS and pages/s of m6 corpus at SCALES=\"50000 200000 1000000\" generated pages"
	@echo "make lint     ruff"
	@echo "make constraints  pin the installed dependency closure into constraints.txt"
	@echo "make image    build the Beam worker image (IMAGE=REGISTRY/m6-beam:TAG; needs Docker)"

# torch is pinned and installed first: a bare torch requirement would pull a multi-GB CUDA build.
# Every other version comes from constraints.txt (`make constraints` writes it; README,
# "Pinned versions"), the same file the worker image installs with.
$(VENV)/.installed: pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt torch==2.13.0
	$(PY) -m pip install -q -c constraints.txt -e ".[model,dev]"
	touch $@

# constraints.txt: the exact installed version of every package of the dependency closure of
# pyproject.toml (core, model, dev); run after changing a dependency list and installing it.
constraints: install
	$(PY) scripts/constraints.py > constraints.txt.tmp && mv constraints.txt.tmp constraints.txt

# The Beam SDK worker image for Dataflow, Flink and Spark (Dockerfile; needs a Docker engine).
IMAGE ?= m6-beam:0.1.0
image:
	docker build -t $(IMAGE) .

install: $(VENV)/.installed

# kenlm's lmplz and build_binary, compiled from the kenlm sources into $(VENV)/bin (pip's kenlm
# only queries models). Idempotent: does nothing when both are there; ~40 s on 2 cores.
kenlm: install
	scripts/build_kenlm.sh --venv $(VENV)

# The quality models `make corpus` uses unless others are given (LM_MODEL=..., SPAM_MODEL=...): a
# 5-gram character kenlm model of the sample encyclopedia (also the perplexity filter's reference
# distribution, from 20% held-out entries) and the fastText spam classifier of the sample's
# labelled set. QUALITY_ARGS passes them to `m6 corpus`.
LM_MODEL   ?= out/models/lm/encyclopedia.char5.bin
SPAM_MODEL ?= out/models/spam/spam.bin
QUALITY_ARGS = --set quality.perplexity.model=$(LM_MODEL) --set quality.spam.model=$(SPAM_MODEL)

out/models/lm/encyclopedia.char5.bin: data/sample/dumps/encyclopedia.jsonl corpus/quality/lm_text.py corpus/quality/lm_train.py | kenlm
	$(M6) lm train --input $< --order 5 --unit char --holdout 0.2 --out $@

out/models/spam/spam.bin: data/sample/spam/labelled.jsonl corpus/quality/spam.py corpus/quality/spam_cli.py | install
	$(M6) spam train --input $< --out $@

quality-models: $(LM_MODEL) $(SPAM_MODEL)

corpus: install quality-models
	$(M6) corpus $(foreach i,$(INPUT),--input '$(i)') --output $(OUTPUT) --runner $(RUNNER) --workers $(WORKERS) $(QUALITY_ARGS) $(if $(filter 0 no false,$(REPORT)),--no-report) $(CORPUS_ARGS) $(BEAM_ARGS)

# make crawl URLS=FILE | CC_INDEX=GLOB [CRAWL_OUTPUT=out/crawl] [CRAWL_ARGS=...] (README, "Getting
# the crawl"): `m6 crawl urls` for URL lists and sitemaps, `m6 crawl cc` for Common Crawl's records
# selected from its URL index and fetched by range (CC_BASE_URL: where its WARC files are read).
# Rerun the same command to resume. `make corpus INPUT=out/crawl` builds the corpus from either.
CC_INDEX    ?=
CC_BASE_URL ?= https://data.commoncrawl.org/
crawl: $(if $(URLS),crawl-urls) $(if $(CC_INDEX),crawl-cc)
	@test -n "$(URLS)$(CC_INDEX)" || { echo "make crawl: give URLS=<file|glob> (URL lists, sitemaps) or CC_INDEX=<Common Crawl index glob or cc-index-table.paths.gz>" >&2; exit 2; }

crawl-urls: install
	@test "$(abspath $(CRAWL_OUTPUT))" != "$(abspath $(OUTPUT))" || { echo "make crawl: CRAWL_OUTPUT must not be the corpus folder $(OUTPUT)" >&2; exit 2; }
	$(M6) crawl urls $(foreach u,$(URLS),--input '$(u)') --output $(CRAWL_OUTPUT) --runner $(RUNNER) --workers $(WORKERS) $(CRAWL_ARGS) $(BEAM_ARGS)

crawl-cc: install
	@test "$(abspath $(CRAWL_OUTPUT))" != "$(abspath $(OUTPUT))" || { echo "make crawl: CRAWL_OUTPUT must not be the corpus folder $(OUTPUT)" >&2; exit 2; }
	$(M6) crawl cc $(foreach i,$(CC_INDEX),--index '$(i)') --base-url '$(CC_BASE_URL)' --output $(CRAWL_OUTPUT) --runner $(RUNNER) --workers $(WORKERS) $(CRAWL_ARGS) $(BEAM_ARGS)

# make pretrain [PRESET=tiny] [DATA=out/corpus] [OUTPUT=out/pretrain] [STEPS=N] [NPROC=1]: NPROC>1
# runs that many processes with torchrun (gloo on CPU, NCCL on GPUs; model/distributed/parallel.py);
# builds the corpus first when DATA has no text shards; running it again resumes from the last
# checkpoint. Ends with OUTPUT/report.html: the corpus report with the training curves (REPORT=0: no
# report). Any other setting through PRETRAIN_ARGS, e.g. PRETRAIN_ARGS='--set train.lr=1e-4' or
# PRETRAIN_ARGS='--config run.json' (m6 pretrain --help lists them all).
PRESET ?= tiny
DATA   ?= out/corpus
STEPS  ?=
PRETRAIN_ARGS ?=
NPROC  ?= 1
pretrain: OUTPUT = out/pretrain
pretrain: install
	@test -d $(DATA)/text || $(MAKE) corpus OUTPUT=$(DATA)
	$(if $(filter-out 1,$(NPROC)),$(VENV)/bin/torchrun --standalone --nproc_per_node=$(NPROC) -m m6.cli,$(M6)) pretrain --preset $(PRESET) --data $(DATA) --output $(OUTPUT) $(if $(STEPS),--steps $(STEPS)) $(PRETRAIN_ARGS)
	$(if $(filter 0 no false,$(REPORT)),,$(M6) report $(DATA) --run $(OUTPUT) --out $(OUTPUT)/report.html)

test: install kenlm
	$(PY) -m pytest -q -p no:cacheprovider --timeout=900

test-fast: install kenlm
	$(PY) -m pytest -q -p no:cacheprovider -m "not slow"

bench: install
	@set -e; for f in bench/bench_*.py; do echo "== $$f"; $(PY) $$f; done

# make bench-scale [SCALES="50000 200000 1000000"] [WORKERS=1]: peak RSS (whole process tree) and
# pages/s of `m6 corpus` on generated crawls (bench/make_crawl.py) of each size. Not part of
# `make bench` or CI: 1,000,000 pages take hours. Crawls are cached in $(SCALE_WORK).
SCALES     ?= 50000 200000 1000000
SCALE_WORK ?= /tmp/m6-bench-scale
bench-scale: install quality-models
	$(PY) bench/scale.py --scales '$(SCALES)' --work $(SCALE_WORK) --workers $(WORKERS) --runner $(RUNNER)

lint: install
	$(VENV)/bin/ruff check .

clean:
	rm -rf out build *.egg-info .pytest_cache
