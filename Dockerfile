# One image per service, each a target of this file:
#
#   docker build --target gateway    -t freescaling-gateway .
#   docker build --target ensemble   -t freescaling-ensemble .
#   docker build --target learning   -t freescaling-learning .
#   docker build --target classifier -t freescaling-classifier .                      # CPU torch
#   docker build --target classifier --build-arg TORCH_VARIANT=cu128 -t freescaling-classifier:cuda .
#
# `make images` builds all of them. Multi-stage: each service's virtualenv is built in its own
# stage and only the virtualenv is copied into the runtime image (no compiler, no pip cache, no
# source tree). Only the classifier's image holds torch and transformers. The CUDA variant needs
# no CUDA base image: PyTorch's CUDA wheels carry the CUDA runtime, and the node's NVIDIA driver
# comes in through the NVIDIA container toolkit. Every image runs as uid/gid 10001, never root,
# and writes nothing outside /tmp and its mounted volumes (the root filesystem is read-only in
# the manifests).
#
# Build arguments and inputs, all optional:
#   BASE_IMAGE      the image every stage starts from (the official Python image by default);
#                   any image whose PATH has a `python` of PYTHON_VERSION with venv will do,
#                   e.g. the Debian bookworm base tools/images_check.py makes with debootstrap
#                   where Docker Hub cannot be reached.
#   TORCH_INDEX     PyTorch's wheel index (a mirror of it); TORCH_VARIANT picks cpu or cu128.
#   --build-context torch-wheels=DIR   a folder holding the torch wheel (pip's cache, a
#                   `pip download`): installed from there, with its hash checked, no index.
#   --secret id=pip_index_url,src=FILE   a private PyPI mirror's URL (it may hold a token) and
#   --secret id=pip_ca,src=FILE          the CA bundle its TLS needs: build secrets, mounted
#                   only while pip runs, so neither lands in a layer or in the image's history.
#
# tests/deploy/test_images.py runs the RUN and ENTRYPOINT lines of the gateway, ensemble and
# learning targets in a fresh virtualenv, since these machines have no container engine: keep
# RUN lines to the venv and pip commands that test can run.

ARG PYTHON_VERSION=3.11
ARG BASE_IMAGE=python:${PYTHON_VERSION}-slim-bookworm

# Empty unless `--build-context torch-wheels=DIR` replaces it with a folder of wheels.
FROM scratch AS torch-wheels

FROM ${BASE_IMAGE} AS base
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/venv/bin:$PATH

# --- build stages: one virtualenv per service ------------------------------------------------
# Every package comes from requirements.lock, checked against its hashes (--require-hashes):
# tools/lock.py picks the entries one service's extra needs, installed with --no-deps so that
# nothing unlocked comes in; then the project itself, from this source, built by the locked
# setuptools without build isolation; `pip check` proves the set complete.
FROM base AS build
WORKDIR /src
COPY pyproject.toml README.md requirements.lock /src/
COPY tools/lock.py tools/pip_secrets.sh /src/tools/
COPY freescaling /src/freescaling
COPY services /src/services
RUN python -m venv /opt/venv
RUN --mount=type=secret,id=pip_index_url --mount=type=secret,id=pip_ca . /src/tools/pip_secrets.sh && python /src/tools/lock.py select --packages pip setuptools > /src/build-requirements.txt && /opt/venv/bin/python -m pip install --require-hashes --no-deps -r /src/build-requirements.txt

FROM build AS build-gateway
RUN --mount=type=secret,id=pip_index_url --mount=type=secret,id=pip_ca . /src/tools/pip_secrets.sh && python /src/tools/lock.py select gateway > /src/requirements.txt && /opt/venv/bin/python -m pip install --require-hashes --no-deps -r /src/requirements.txt && /opt/venv/bin/python -m pip install --no-deps --no-build-isolation /src && /opt/venv/bin/python -m pip check

FROM build AS build-ensemble
RUN --mount=type=secret,id=pip_index_url --mount=type=secret,id=pip_ca . /src/tools/pip_secrets.sh && python /src/tools/lock.py select ensemble > /src/requirements.txt && /opt/venv/bin/python -m pip install --require-hashes --no-deps -r /src/requirements.txt && /opt/venv/bin/python -m pip install --no-deps --no-build-isolation /src && /opt/venv/bin/python -m pip check

FROM build AS build-learning
RUN --mount=type=secret,id=pip_index_url --mount=type=secret,id=pip_ca . /src/tools/pip_secrets.sh && python /src/tools/lock.py select learning > /src/requirements.txt && /opt/venv/bin/python -m pip install --require-hashes --no-deps -r /src/requirements.txt && /opt/venv/bin/python -m pip install --no-deps --no-build-isolation /src && /opt/venv/bin/python -m pip check

FROM build AS build-classifier
# cpu, or a CUDA build of PyTorch's index (cu126, cu128...) for the GPU image.
ARG TORCH_VARIANT=cpu
ARG TORCH_SPEC=torch==2.13.0
# The sha256 of the file TORCH_SPEC resolves to on PyTorch's CPU index for CPython 3.11 on
# Linux x86_64 (the Makefile's default too); its dependencies are in the lock, so it installs
# with --no-deps. Another variant or platform: pass its hash, or TORCH_HASH= (empty) to install
# it unchecked with the dependencies it declares (a CUDA build's CUDA libraries).
ARG TORCH_HASH=sha256:6746dbcbeb526eb61330b76b41ff1b4eb848951103a892eeb080dfa2b264667b
# PyTorch's own index by default; a mirror of it where that cannot be reached.
ARG TORCH_INDEX=https://download.pytorch.org/whl
# A wheel in the torch-wheels context wins, installed with no index at all (its dependencies
# must then be in the lock, as the default torch's are); otherwise TORCH_INDEX's.
RUN --mount=type=bind,from=torch-wheels,target=/wheels --mount=type=secret,id=pip_index_url --mount=type=secret,id=pip_ca . /src/tools/pip_secrets.sh && \
    if ls /wheels/torch-*.whl >/dev/null 2>&1; then source="--no-index --find-links /wheels"; else source="--index-url ${TORCH_INDEX}/${TORCH_VARIANT}"; fi && \
    if [ -n "${TORCH_HASH}" ]; then echo "${TORCH_SPEC} --hash=${TORCH_HASH}" > /src/torch-requirement.txt && /opt/venv/bin/python -m pip install --require-hashes --no-deps $source -r /src/torch-requirement.txt; else /opt/venv/bin/python -m pip install $source "${TORCH_SPEC}"; fi
RUN --mount=type=secret,id=pip_index_url --mount=type=secret,id=pip_ca . /src/tools/pip_secrets.sh && python /src/tools/lock.py select classifier > /src/requirements.txt && /opt/venv/bin/python -m pip install --require-hashes --no-deps -r /src/requirements.txt && /opt/venv/bin/python -m pip install --no-deps --no-build-isolation /src && /opt/venv/bin/python -m pip check

# --- runtime images ------------------------------------------------------------------------
FROM base AS runtime
# No home directory is needed: HOME is the writable /tmp (an emptyDir in Kubernetes).
ENV HOME=/tmp
WORKDIR /tmp
USER 10001:10001

FROM runtime AS gateway
COPY --from=build-gateway /opt/venv /opt/venv
# gRPC, Prometheus /metrics, OpenAI-compatible HTTP.
EXPOSE 50051 51051 8080
ENTRYPOINT ["python", "-m", "services.gateway"]

FROM runtime AS ensemble
COPY --from=build-ensemble /opt/venv /opt/venv
# litellm's price map from its bundled copy: clusters are often air-gapped.
ENV LITELLM_LOCAL_MODEL_COST_MAP=True
EXPOSE 50053 51053
ENTRYPOINT ["python", "-m", "services.ensemble"]

FROM runtime AS learning
COPY --from=build-learning /opt/venv /opt/venv
EXPOSE 50054 51054
# Migrations as a release step or init container: python -m services.learning.migrate
ENTRYPOINT ["python", "-m", "services.learning"]

FROM runtime AS classifier
COPY --from=build-classifier /opt/venv /opt/venv
# The hub snapshot goes to a mounted volume (HF_HOME) so that a restart does not fetch it again.
ENV HF_HOME=/cache/huggingface
EXPOSE 50052 51052
ENTRYPOINT ["python", "-m", "services.classifier"]
