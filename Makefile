# studyforge: every target makes .venv itself when it is missing and reuses it afterwards.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench lint clean

$(STAMP): pyproject.toml setup.py studyforge/_speedups.c
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/studyforge build --study specs/palace --out output/palace

# The whole suite with Python-object strings, then the string-layout-sensitive tests (XPT, Dataset-JSON,
# dataset writer, SDTM, layout equality) again with pyarrow-backed strings (tests/conftest.py).
ARROW_TESTS := tests/test_xpt.py tests/test_xpt_fastpath.py tests/test_xpt_properties.py tests/test_datasetjson.py \
	tests/test_dataset_writer.py tests/test_string_backends.py tests/test_speedups.py tests/sdtm

test: $(STAMP)
	STUDYFORGE_STRING_STORAGE=python $(BIN)/python -m pytest -n 2 -q
	STUDYFORGE_STRING_STORAGE=pyarrow $(BIN)/python -m pytest -n 2 -q $(ARROW_TESTS)

# Every benchmark under both string layouts; raw -> SDTM also on BASELINE (the round's starting code, in a
# temporary git worktree) in the same run, so the ratio is real. `make bench BASELINE=` skips it.
BASELINE ?= ca6fa4f
bench: $(STAMP)
	$(BIN)/python -m benchmarks $(if $(BASELINE),--baseline $(BASELINE)) $(BENCH)

lint: $(STAMP)
	$(BIN)/ruff check studyforge sdtm adam results benchmarks tests
	$(BIN)/studyforge spec check specs/palace
	$(BIN)/studyforge spec check specs/meridian
	$(BIN)/studyforge spec fmt --check specs/meridian

clean:
	rm -rf output build *.egg-info
