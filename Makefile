# Free Scaling: `make run` brings the four services up, `make test` runs the suite.
# Both install what they need into ./.venv first.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# Every install takes its packages from requirements.lock, pinned and hashed (`make lock`
# refreshes it from pyproject.toml; README, "Dependencies"). torch is the one package outside
# it, since the right build depends on the machine: TORCH_SPEC names it, and TORCH_HASH the
# sha256 its file must have. Here `torch==2.13.0` resolves to the machine's local CPU wheel
# (CPython 3.11, Linux x86_64), whose hash is the default; its dependencies are in the lock, so
# it installs with --no-deps. Another build (CUDA, another platform): set both, or
# TORCH_HASH= to install it unchecked, with the dependencies it declares.
LOCK := requirements.lock
TORCH_SPEC ?= torch==2.13.0
TORCH_HASH ?= $(if $(filter torch==2.13.0,$(TORCH_SPEC)),sha256:6746dbcbeb526eb61330b76b41ff1b4eb848951103a892eeb080dfa2b264667b)
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=
BENCH_ARGS ?= --quick

# Container images (`make images`): one per service, tagged $(IMAGE_PREFIX)<service>:$(IMAGE_TAG),
# plus the classifier's CUDA variant ($(IMAGE_TAG)-cuda, PyTorch's $(CUDA_VARIANT) wheels;
# CUDA_VARIANT= skips it). Docker (with BuildKit, its default builder) or Podman; for Podman with
# another OCI runtime: CONTAINER_ENGINE="podman --runtime runc". All optional:
#   BASE_IMAGE, TORCH_INDEX   the Dockerfile's build args (the official Python image, PyTorch's index)
#   TORCH_WHEELS              a folder holding the torch wheel, installed from there (hash checked)
#   IMAGE_PIP_INDEX_URL_FILE  a file with a private PyPI mirror's URL  } build secrets, in no
#   IMAGE_PIP_CA_FILE         the CA bundle that mirror's TLS needs      } layer of the images
#   IMAGE_BUILD_FLAGS         anything more for `build` (--network host, --no-cache ...)
IMAGE_PREFIX ?= freescaling/
IMAGE_TAG ?= $(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)
CUDA_VARIANT ?= cu128
# The first of docker and podman that answers `info` (a docker client without its daemon does not),
# else whichever is installed, for the error message.
CONTAINER_ENGINE ?= $(shell for e in docker podman; do if command -v $$e >/dev/null && $$e info >/dev/null 2>&1; then echo $$e; exit; fi; done; command -v docker || command -v podman)
BASE_IMAGE ?=
TORCH_INDEX ?=
TORCH_WHEELS ?=
IMAGE_PIP_INDEX_URL_FILE ?=
IMAGE_PIP_CA_FILE ?=
IMAGE_BUILD_FLAGS ?=
comma := ,
IMAGE_BUILD := $(CONTAINER_ENGINE) build $(IMAGE_BUILD_FLAGS) \
	$(if $(BASE_IMAGE),--build-arg BASE_IMAGE=$(BASE_IMAGE)) \
	$(if $(TORCH_INDEX),--build-arg TORCH_INDEX=$(TORCH_INDEX)) \
	$(if $(IMAGE_PIP_INDEX_URL_FILE),--secret id=pip_index_url$(comma)src=$(IMAGE_PIP_INDEX_URL_FILE)) \
	$(if $(IMAGE_PIP_CA_FILE),--secret id=pip_ca$(comma)src=$(IMAGE_PIP_CA_FILE))

.PHONY: install lock audit protos protos-check docs run try test lint format bench clean checkpoint images

# The lock with --no-deps (it holds every dependency, so nothing unlocked comes in), torch, then
# the project itself from this checkout, built without isolation by the locked setuptools.
$(STAMP): pyproject.toml $(LOCK)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --require-hashes --no-deps -r $(LOCK)
	@if [ -n "$(TORCH_HASH)" ]; then \
		echo "$(TORCH_SPEC) --hash=$(TORCH_HASH)" > $(VENV)/torch-requirement.txt; \
		echo "$(PY) -m pip install --quiet --require-hashes --no-deps -r $(VENV)/torch-requirement.txt"; \
		$(PY) -m pip install --quiet --require-hashes --no-deps -r $(VENV)/torch-requirement.txt; \
	else \
		echo "make install: $(TORCH_SPEC) is installed unchecked (TORCH_HASH is empty)"; \
		$(PY) -m pip install --quiet "$(TORCH_SPEC)"; \
	fi
	$(PY) -m pip install --quiet --no-deps --no-build-isolation --editable .
	$(PY) -m pip check
	touch $(STAMP)

install: $(STAMP)

# Refresh requirements.lock from pyproject.toml (with uv, itself installed from the lock).
lock:
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PYTHON) tools/lock.py select --packages uv > $(VENV)/uv-requirement.txt
	$(PY) -m pip install --quiet --require-hashes --no-deps -r $(VENV)/uv-requirement.txt
	$(PY) tools/lock.py compile

# The dependency audit: pip-audit against the lock (a known vulnerability fails it unless the
# README's allow-list names it), then the lock's own checks (fresh, hashed, no excluded release).
audit: $(STAMP)
	$(PY) tools/lock.py audit

# Regenerate the committed Python code for protos/ (messages, stubs, .pyi).
protos: $(STAMP)
	$(PY) tools/gen_protos.py

# Fail when the committed generated code does not match protos/.
protos-check: $(STAMP)
	$(PY) tools/gen_protos.py --check

# Regenerate the README's configuration table from the settings classes.
docs: $(STAMP)
	$(PY) tools/config_table.py --write

# All four services, SQLite under ./data, logs prefixed by service; Ctrl-C stops them all.
run: $(STAMP)
	$(PY) -m services.stack --data-dir data

# The same stack with no key and no download: a scripted local provider plays every model
# (canned answers, labelled so) and the classifier loads the test checkpoint; state in data/try.
try: $(STAMP)
	$(PY) -m services.stack --data-dir data --try

# A small random-weight classifier checkpoint in the published format, to try the stack offline
# (its answers are meaningless): FREESCALING_CLASSIFIER_MODEL=data/tiny-classifier make run
checkpoint: $(STAMP)
	$(PY) -m services.classifier.tiny_checkpoint data/tiny-classifier

test: $(STAMP) protos-check
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: $(STAMP)
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

# Every benchmark under bench/, quick mode by default (BENCH_ARGS= for the full runs,
# BENCH_ARGS=--smoke to see that each still runs: `make test` does that too).
bench: $(STAMP)
	@set -e; found=0; for b in bench/*.py; do \
		[ -f "$$b" ] || continue; found=1; echo "== $$b"; $(PY) "$$b" $(BENCH_ARGS); \
	done; [ $$found = 1 ] || echo "no benchmarks under bench/ yet"

# Builds where a container engine runs; says so and fails where none does (these machines).
images:
	@if [ -z "$(CONTAINER_ENGINE)" ] || ! $(CONTAINER_ENGINE) info >/dev/null 2>&1; then \
		echo "make images: no container engine is running here ($(or $(CONTAINER_ENGINE),no docker or podman found)); nothing was built. Run it where Docker or Podman runs (tests/deploy/test_images.py checks the Dockerfile's commands without one)." >&2; \
		exit 1; \
	fi
	set -e; for service in gateway ensemble learning; do \
		$(IMAGE_BUILD) --target $$service -t $(IMAGE_PREFIX)$$service:$(IMAGE_TAG) .; \
	done
	$(IMAGE_BUILD) --target classifier $(if $(TORCH_WHEELS),--build-context torch-wheels=$(TORCH_WHEELS)) \
		-t $(IMAGE_PREFIX)classifier:$(IMAGE_TAG) .
	$(if $(CUDA_VARIANT),$(IMAGE_BUILD) --target classifier --build-arg TORCH_VARIANT=$(CUDA_VARIANT) --build-arg TORCH_HASH= \
		-t $(IMAGE_PREFIX)classifier:$(IMAGE_TAG)-cuda .)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build *.egg-info
