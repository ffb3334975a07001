# offcourse — find wrong turns in GPS watch data.
# Every target that needs Python creates .venv and installs what it needs first.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help install sysdeps demo serve-demo test lint docs dist dist-check bench bench-families bench-real bench-field fuzz clean

help: ## show this help
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev,bench,fast,plot,dask,field,serve]"
	@touch $@

install: $(STAMP) ## create .venv and install offcourse with test and dev tools

demo: $(STAMP) ## run offcourse on the bundled route and sample
	$(VENV)/bin/offcourse info routes/allermuir-hill-race.gpx samples/allermuir-wrong-turn.gpx
	$(VENV)/bin/offcourse check routes/allermuir-hill-race.gpx samples/allermuir-wrong-turn.gpx

SERVE_PORT ?= 8080
serve-demo: $(STAMP) ## race control live: offcourse serve with a simulated field (open the address it prints)
	$(PY) -m offcourse.serve.demo --port $(SERVE_PORT)

SYSDEPS := chromium gpsd gpsd-clients
sysdeps: ## Debian packages the tests use: chromium (field page test), gpsd and gpsfake (live test)
	@if command -v chromium >/dev/null && command -v gpsfake >/dev/null; then :; \
	elif command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(SYSDEPS) >/dev/null; \
	else echo "make: $(SYSDEPS) not installed (needs root and apt-get): their tests skip"; fi

test: $(STAMP) sysdeps ## run the test suite (installs what it needs: .venv, Python packages, Debian packages)
	$(PY) -m pytest -q

lint: $(STAMP) ## ruff and mypy --strict
	$(VENV)/bin/ruff check offcourse tests bench fuzz examples docs/hooks.py
	$(VENV)/bin/mypy --strict offcourse

DOCS_STAMP := $(VENV)/.installed-docs
$(DOCS_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e ".[docs]"
	@touch $@

docs: $(DOCS_STAMP) ## documentation site into site/ (mkdocs build --strict: a warning fails it)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict

DIST_LOG := dist/build.log
dist: $(STAMP) ## sdist and wheel into dist/; fails on any warning from the build
	$(PY) -m pip install --quiet build
	@rm -rf dist && mkdir -p dist
	@# PYTHONDONTWRITEBYTECODE makes setuptools warn that it skips byte-compiling: not ours
	env -u PYTHONDONTWRITEBYTECODE $(PY) -m build --outdir dist . > $(DIST_LOG) 2>&1 || (cat $(DIST_LOG); exit 1)
	@if grep -i -n "warning" $(DIST_LOG); then echo "make dist: the build warned (full log: $(DIST_LOG))"; exit 1; fi
	@ls dist/*.tar.gz dist/*.whl

DIST_TESTS ?= tests/test_packaging.py tests/test_docs.py tests/test_examples.py tests/detect/test_engine.py \
	tests/cli/test_info.py tests/test_defects.py
# every supported Python found on the machine (pyenv's, then the system's): requires-python >=3.11
SUPPORTED_PYTHONS := 3.11 3.12 3.13
DIST_PYTHONS ?= $(shell for v in $(SUPPORTED_PYTHONS); do \
	for p in $${PYENV_ROOT:-$$HOME/.pyenv}/versions/$$v.*/bin/python /usr/bin/python$$v /usr/local/bin/python$$v; do \
	  if [ -x "$$p" ] && "$$p" -c 'import venv' 2>/dev/null; then echo "$$p"; break; fi; done; done)
dist-check: dist ## unpack the sdist, install it in a fresh venv per supported Python found, run DIST_TESTS there
	@test -n "$(DIST_PYTHONS)" || (echo "make dist-check: no Python $(SUPPORTED_PYTHONS) found"; exit 1)
	@set -e; sdist=$$(ls $(CURDIR)/dist/offcourse-*.tar.gz); for py in $(DIST_PYTHONS); do \
	  v=$$($$py -c 'import sys; print("%d.%d" % sys.version_info[:2])'); d=dist/check/$$v; \
	  echo "== the sdist's tests on Python $$v ($$py)"; \
	  rm -rf $$d && mkdir -p $$d && tar -xzf $$sdist -C $$d; \
	  $$py -m venv $$d/venv; \
	  $$d/venv/bin/python -m pip install --quiet "$$sdist[test,field]"; \
	  (cd $$d/offcourse-* && ../venv/bin/python -m pytest -q -p no:cacheprovider $(DIST_TESTS)); \
	done

bench: $(STAMP) ## speed and accuracy benchmarks (see BENCHMARKS.md)
	@command -v gpsbabel >/dev/null || (apt-get update -qq && apt-get install -y -qq gpsbabel) \
		|| echo "gpsbabel not installed: its peer is skipped"
	$(PY) bench/bench_fit.py
	$(PY) bench/bench_engine.py
	$(PY) bench/bench_check.py
	$(PY) bench/run.py
	$(PY) bench/run.py --family all
	$(PY) bench/extra_ceiling.py
	$(PY) bench/compare_real.py
	$(PY) bench/bench_field.py --runners 100 --fixes 20000

bench-families: $(STAMP) ## detection on the held-out families B and C and the report set A, beside the debounced distance check
	$(PY) bench/run.py --family all
	$(PY) bench/extra_ceiling.py

bench-real: $(STAMP) ## the labelled real recordings (bench/real_labels.json) beside offcourse's verdicts
	$(PY) bench/compare_real.py

bench-field: $(STAMP) ## race-field batch benchmark: 1,000 runners x 20,000 fixes, 1 and 2 workers (~15 min)
	$(PY) bench/bench_field.py --runners 1000 --fixes 20000

FUZZ_SECONDS ?= 3600
fuzz: $(STAMP) ## fuzz the readers with atheris for FUZZ_SECONDS (default 3600); crashes go to fuzz/crashes/
	$(PY) -m pip install --quiet -e ".[fuzz]"
	@mkdir -p fuzz/crashes
	$(PY) fuzz/fuzz_readers.py -max_total_time=$(FUZZ_SECONDS) -timeout=20 -rss_limit_mb=2048 -max_len=65536 \
		-print_final_stats=1 -artifact_prefix=fuzz/crashes/ fuzz/corpus

clean: ## remove the virtualenv, caches and build outputs
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache site dist build
