# The two commands: `make demo` and `make test`. Both set up .venv on a fresh machine first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# CPU build of PyTorch, installed before the package so its torch>= range is already satisfied.
TORCH_PIN := torch==2.13.0
STAMP := $(VENV)/.installed

.PHONY: demo test test-gpu lint install system-deps bench images clean

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q $(TORCH_PIN)
	$(BIN)/pip install -q -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/hoirecon demo

# Headless Chromium renders the demo report in the tests; g++ builds the compiled-fit test (Debian packages, root).
system-deps:
	@command -v chromium >/dev/null 2>&1 && command -v g++ >/dev/null 2>&1 || \
		(apt-get update -qq && apt-get install -y -qq chromium g++ >/dev/null)

# Lint first: ruff, then the layer contract (geometry/body/objects/render < data < prior < fitting < ...).
lint: $(STAMP)
	$(BIN)/ruff check src tests bench tools
	$(BIN)/lint-imports

# The CUDA tests (marker gpu) are deselected here and run by test-gpu on a machine with a CUDA build of torch.
test: $(STAMP) system-deps lint
	$(BIN)/python -m pytest -q -m "not gpu"

test-gpu: $(STAMP)
	$(BIN)/python -m pytest -q -m gpu

bench: $(STAMP)
	for f in bench/bench_*.py; do $(BIN)/python $$f; done

images: $(STAMP)
	$(BIN)/hoirecon preview --all --out docs/images
	$(BIN)/python tools/draw_reconstruct_images.py --out docs/images

clean:
	rm -rf $(VENV) build src/*.egg-info
