# Sourced (`. /src/tools/pip_secrets.sh`) by the Dockerfile's pip steps: a private package index
# and the CA bundle its TLS needs come in as build secrets (`--secret id=pip_index_url` and
# `id=pip_ca`), mounted under /run/secrets only while that step runs, so neither is kept in a
# layer, an ENV or the image's history. Without them pip uses PyPI and its own CA bundle.
if [ -s /run/secrets/pip_index_url ]; then
    PIP_INDEX_URL="$(cat /run/secrets/pip_index_url)"
    export PIP_INDEX_URL
fi
if [ -s /run/secrets/pip_ca ]; then
    export PIP_CERT=/run/secrets/pip_ca
fi
