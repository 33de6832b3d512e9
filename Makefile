# duanka — two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# Debian packages: Chromium prints packet PDFs (and drives browser tests), WenQuanYi is the
# CJK font it embeds, poppler-utils checks the PDFs (pdffonts, pdftotext).
SYSTEM_PACKAGES := chromium fonts-wqy-microhei poppler-utils

.PHONY: demo test install system-deps sample lint clean bench

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "需要 Python 3.11+ ($(PYTHON) not found)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]' > $(VENV)/pip.log 2>&1 \
	  || { tail -40 $(VENV)/pip.log; echo "安装失败 (install failed), see $(VENV)/pip.log"; exit 1; }
	$(BIN)/python -c "import duanka, prefect, great_expectations, duckdb, polars, networkx"
	touch $(STAMP)

install: $(STAMP) system-deps

system-deps:
	@if command -v chromium >/dev/null && command -v pdffonts >/dev/null \
	    && fc-list 2>/dev/null | grep -qi wqy; then :; else \
	  echo "安装系统依赖 (installing Debian packages): $(SYSTEM_PACKAGES)"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	    $(SYSTEM_PACKAGES) >/dev/null; fi

## Run the nightly flow on the bundled sample deliveries and print where the packets are.
demo: $(STAMP) system-deps
	$(BIN)/duanka demo --home demo-home

## The whole test suite (what CI runs).
test: $(STAMP) system-deps
	$(BIN)/python -m pytest

## Regenerate the bundled sample (deterministic from its seed).
sample: $(STAMP)
	rm -rf data/sample
	$(BIN)/duanka sample --out data/sample --seed 20261103 --leads 2500 --nights 2

lint: $(STAMP)
	$(BIN)/ruff check duanka flows tests

clean:
	rm -rf demo-home .pytest_cache
