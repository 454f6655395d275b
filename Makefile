# make run  — set everything up (venv, pinned installs, model, index) and start the assistant
# make test — set up, check style and types (make lint), then run the whole test suite
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
DEPS := $(VENV)/.deps-installed
TEST_DEPS := $(VENV)/.test-deps-installed
# two workers (pytest-xdist), one test file per worker at a time so that module fixtures (a browser, an app)
# start once; the suite is mostly waiting on models, browsers and servers, so two halves overlap well
PYTEST := $(PY) -m pytest -n 2 --dist loadfile

.PHONY: setup model index thorough run chat test test-fast lint eval bench load clean

setup: $(DEPS)

# --no-compile: pip would byte-compile every module of every package (~50 s of a fresh setup, most of it torch
# and gradio modules never imported here); Python compiles what is imported on first use and caches it, which
# needs bytecode writing on for the venv's processes, whatever the caller's environment says
unexport PYTHONDONTWRITEBYTECODE
PIP := $(PY) -m pip install --quiet --disable-pip-version-check --no-compile

# what serving and training need; the test tools (browsers' driver, schemathesis, mypy, …) only for `make test`,
# so that a new user's first answer does not wait for them
# $(call install,TARGET): the venv, torch from local disk, then the project as TARGET (one pip resolve)
define install
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) torch==2.13.0
	$(PIP) -c requirements-lock.txt -e "$(1)"
endef

$(DEPS): pyproject.toml requirements-lock.txt
	$(call install,.)
	touch $@

# the test extra covers everything $(DEPS) installs, so it stamps both
$(TEST_DEPS): pyproject.toml requirements-lock.txt
	$(call install,.[test])
	touch $(DEPS) $@

# materialise the base model → fine-tune it on tune + eval/train.jsonl when KQA_FINETUNE is on (only if its data,
# hyper-parameters or base changed) → export it to ONNX at KQA_ENCODER_PRECISION; with KQA_PROFILE unset, the
# profile that answers: quick until thorough is built, then nothing (`make thorough` retrains thorough)
model: setup
	$(PY) -m index.model

index: model
	$(PY) -m assistant build

# the thorough profile (all 12 layers, ~15–20 min once; docs/evaluation.md#a-thorough-profile). With KQA_PROFILE
# unset, `make run` answers with the quick one at once, builds this one in the background and then switches
# to it; the other commands use it as soon as it is built
thorough: setup
	KQA_PROFILE=thorough $(PY) -m index.model
	KQA_PROFILE=thorough $(PY) -m assistant build

run: index
	$(PY) app.py

chat: index
	$(PY) -m assistant chat

# lint runs beside the model step (a cold mypy takes one core for ~40 s, fine-tuning minutes); either failing
# stops the run before the suite
test: $(TEST_DEPS)
	$(MAKE) --no-print-directory lint & lint=$$!; $(MAKE) --no-print-directory model && wait $$lint
	$(PYTEST)

test-fast: $(TEST_DEPS)
	$(PYTEST) -m "not model and not browser"

# style and types, configured in pyproject.toml ([tool.ruff], [tool.mypy]); part of `test`
lint: $(TEST_DEPS)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

eval: index
	$(PY) -m eval --queries eval/dev.jsonl --retriever all --report eval/out/dev

bench: index
	$(PY) -m eval.bench --json eval/out/bench.json

load: index $(TEST_DEPS)
	$(PY) -m eval.load --json eval/out/load.json

# also what cross-fitting left behind: fold models of older runs (models/crossfit) and of interrupted ones
clean:
	rm -rf data models eval/out test-artifacts
	rm -rf "$${TMPDIR:-/tmp}"/kqa-crossfit-*
