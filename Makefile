# The two commands of the README: `make demo` and `make test`. Both build .venv when missing.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test lint typecheck unit docs bench bench-deps clean system-deps image image-deps

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "virt needs Python 3.11 or newer (found $$($(PYTHON) --version))" >&2; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,docs]'
	@touch $(STAMP)

# curl is one of the real clients the tests drive, libfaketime moves virt's clock a day
# ahead in the token tests, and redis-server holds the shared session state of the replica
# tests (each test starts its own on a free port), and chromium is the real browser the web
# page's tests drive (Playwright's own download is not used), and wrk is the load of make bench,
# which its tests drive too; install them where they are missing
FAKETIME_LIB ?= $(firstword $(wildcard /usr/lib/*/faketime/libfaketime.so.1 /usr/lib/faketime/libfaketime.so.1))
system-deps:
	@command -v curl >/dev/null 2>&1 || { \
		echo "installing curl" >&2; \
		(apt-get update -qq && apt-get install -y -qq curl) >/dev/null || \
		{ echo "curl is missing and could not be installed: apt-get install curl" >&2; exit 1; }; }
	@test -n "$(FAKETIME_LIB)" || { \
		echo "installing faketime" >&2; \
		(apt-get update -qq && apt-get install -y -qq faketime) >/dev/null || \
		{ echo "libfaketime is missing and could not be installed: apt-get install faketime" >&2; exit 1; }; }
	@command -v redis-server >/dev/null 2>&1 || { \
		echo "installing redis-server" >&2; \
		(apt-get update -qq && apt-get install -y -qq redis-server) >/dev/null || \
		{ echo "redis-server is missing and could not be installed: apt-get install redis-server" >&2; exit 1; }; }
	@command -v chromium >/dev/null 2>&1 || { \
		echo "installing chromium" >&2; \
		(apt-get update -qq && apt-get install -y -qq chromium) >/dev/null || \
		{ echo "chromium is missing and could not be installed: apt-get install chromium" >&2; exit 1; }; }
	@$(MAKE) --no-print-directory image-deps bench-deps

# buildah builds and runs the image without a Docker engine, debootstrap makes the stand-in
# for python:3.11-slim where no registry answers, and docker-compose checks examples/compose/
# (tests/container/); installed where missing, as above
image-deps:
	@command -v buildah >/dev/null 2>&1 && command -v debootstrap >/dev/null 2>&1 && \
		command -v docker-compose >/dev/null 2>&1 || { \
		echo "installing buildah, debootstrap and docker-compose" >&2; \
		(apt-get update -qq && apt-get install -y -qq buildah debootstrap docker-compose) >/dev/null || \
		{ echo "buildah, debootstrap or docker-compose is missing and could not be installed: apt-get install buildah debootstrap docker-compose" >&2; exit 1; }; }

# the container image (Dockerfile), with docker build where a Docker engine answers, else buildah;
# IMAGE=name:tag to name it, BASE=image to build on another Python base
IMAGE ?= localhost/virt:latest
BASE ?= python:3.11-slim
image: $(STAMP) image-deps
	$(BIN)/python container/build.py --tag $(IMAGE) --base $(BASE)

demo: $(STAMP)
	$(BIN)/python -m demo.run

lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP) system-deps
	$(BIN)/pytest -q

# the documentation site (MkDocs Material) in site/: --strict fails on a broken link or anchor,
# a page missing from the nav, or a generated reference (docs/cli.md's help, docs/admin-api.md)
# that is out of date. Never --quiet: it silences the warnings that --strict counts
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

test: lint typecheck docs unit

# wrk drives the replay load of make bench: written in C, it is not what saturates first
bench-deps:
	@command -v wrk >/dev/null 2>&1 || { \
		echo "installing wrk" >&2; \
		(apt-get update -qq && apt-get install -y -qq wrk) >/dev/null || \
		{ echo "wrk is missing and could not be installed: apt-get install wrk (brew install wrk on macOS)" >&2; exit 1; }; }

# issue #15's workload through virt as users start it, beside its baselines; results in
# bench/RESULTS.md. BENCH_SIZES=1000 make bench for a quick look; bench/__main__.py has the rest
bench: $(STAMP) bench-deps
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache site
