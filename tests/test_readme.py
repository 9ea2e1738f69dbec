"""The README stays true: its configuration table matches the settings classes, and its grpcurl
examples work against the running services (driven through reflection, as grpcurl does)."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys

import grpc
import pytest

from tests.support.grpcurl import Grpcurl
from tests.support.processes import ROOT

DEFAULT_PORTS = {
    "50051": "gateway",
    "50052": "classifier",
    "50053": "ensemble",
    "50054": "learning",
}


def _grpcurl_examples() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Using it with grpcurl") :]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block, "the grpcurl section has no sh block"
    return [line for line in block.group(1).splitlines() if line.startswith("grpcurl ")]


def test_configuration_table_matches_the_settings():
    done = subprocess.run(
        [sys.executable, "tools/config_table.py", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("example", _grpcurl_examples())
def test_grpcurl_example_works_against_the_services(stack, example):
    args = shlex.split(example)[1:]
    assert args.pop(0) == "-plaintext"
    data = None
    if args[0] == "-d":
        data = args[1]
        args = args[2:]
    address, verb, *rest = args
    host, port = address.split(":")
    assert host == "localhost"
    name = DEFAULT_PORTS[port]
    service = stack.gateway if name == "gateway" else getattr(stack, name)
    curl = Grpcurl(service.channel())
    if verb == "list":
        assert service.grpc_name in curl.list()
    elif verb == "describe":
        assert curl.describe(rest[0]).full_name == rest[0]
    else:
        assert data is not None
        try:
            reply = curl.invoke(verb, data)
        except grpc.RpcError as exc:
            # Allowed only where GetInfo itself says the capability is not built yet.
            assert exc.code() == grpc.StatusCode.UNIMPLEMENTED
            info = json.loads(curl.invoke(f"{service.grpc_name}/GetInfo", "{}"))
            (capability,) = [c for c in info["capabilities"] if c["method"] == verb]
            assert not capability.get("built", False)
        else:
            # grpcurl prints a JSON object (all-default fields omitted, so possibly "{}").
            assert isinstance(json.loads(reply), dict)
