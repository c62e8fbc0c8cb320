# Set-up and the two entry points of README.md. Everything installs itself on a fresh machine.
VENV ?= .venv
PY := $(VENV)/bin/python
APT_PACKAGES := bubblewrap dataset-fashion-mnist chromium chromium-driver postgresql
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
DEMO_OUT ?= out/demo

.PHONY: setup system demo serve test lint validate release bench clean

setup: system $(VENV)/.installed

# Debian packages: bwrap (the sandbox), Fashion-MNIST (a6 data), Chromium and its driver (report
# render and service browser tests), PostgreSQL (service tests start their own server).
system:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev,ray]'
	touch $@

# Main job end to end: release the assignments, grade the example submissions, write reports.
demo: setup
	$(PY) -m grader.cli release all
	$(PY) -m grader.cli data fetch fashion_mnist
	$(PY) examples/make_examples.py examples/build a1_backprop a2_softmax a6_mnist
	@for a in a1_backprop a2_softmax a6_mnist; do \
	  $(PY) -m grader.cli grade $$a examples/build/$$a --out $(DEMO_OUT) --regrade || exit $$?; \
	  $(PY) -m grader.cli report $$a --results $(DEMO_OUT) || exit $$?; \
	done
	@echo "results, feedback.md/html, gradebook.csv and report.html are in $(DEMO_OUT)/"

# The web service on the example course with demo accounts; its data (SQLite database, uploads,
# results) goes to $(SERVE_DATA). Stop it with Ctrl-C.
SERVE_DATA ?= $(CURDIR)/out/serve
serve: setup
	$(PY) -m grader.cli release all
	@for u in alice bob; do GRADER_SERVICE_DATA=$(SERVE_DATA) $(PY) -m grader.cli users add $$u \
	  --password $$u-demo-password >/dev/null 2>&1 || true; done
	@GRADER_SERVICE_DATA=$(SERVE_DATA) $(PY) -m grader.cli users add ta --role ta \
	  --password ta-demo-password >/dev/null 2>&1 || true
	@echo "demo accounts: alice / alice-demo-password and bob / bob-demo-password (students)," \
	  "ta / ta-demo-password (TA)"
	GRADER_SERVICE_DATA=$(SERVE_DATA) $(PY) -m grader.cli serve

test: setup lint
	$(PY) -m pytest -q

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check grader tests solutions autotests benchmarks examples

validate: setup
	$(PY) -m grader.cli validate all

release: setup
	$(PY) -m grader.cli release all

bench: setup
	$(PY) benchmarks/overhead.py

clean:
	rm -rf out examples/build build
