"""`make try`: the stack with no key and no download (a scripted local provider playing every
model, labelled canned, and the test checkpoint), and the README's Python client, OpenAI SDK
and CLI examples run as written against it: its first answered Scale, voting, routing,
feedback, onboarding, profiling, the capability map, a suggested panel and stats."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import threading

import pytest

from freescaling.client import Client
from tests.support import browser as chrome
from tests.support.processes import ROOT, free_port, wait_for

README = (ROOT / "README.md").read_text(encoding="utf-8")


def _python_block(marker: str) -> str:
    (block,) = [b for b in re.findall(r"```python\n(.*?)```", README, re.S) if marker in b]
    return block


def _cli_examples() -> list[list[str]]:
    """The README's `freescaling ...` lines that run as written (one command, no placeholder
    such as CALL_ID, [optional] or a | b alternatives)."""
    section = README[README.index("## Python client and CLI") :]
    runnable = []
    for block in re.findall(r"```sh\n(.*?)```", section, re.S):
        for line in block.splitlines():
            command = line.split("  #")[0].strip()
            if not command.startswith("freescaling ") or re.search(
                r"\[|\||CALL_ID|\.jsonl|a,b,c", command
            ):
                continue
            runnable.append(shlex.split(command)[1:])
    return runnable


@pytest.fixture(scope="module")
def trial(tmp_path_factory):
    ports = {
        n: free_port() for n in ("gateway", "classifier", "ensemble", "learning", "gateway_http")
    }
    env = {
        **os.environ,
        "FREESCALING_HOST": "127.0.0.1",
        "PYTHONUNBUFFERED": "1",
        "FREESCALING_METRICS": "false",
        # A key in the environment must not matter: the scripted provider needs none.
        "NVIDIA_API_KEY": "nvapi-TRY-must-not-travel",
        **{f"FREESCALING_{n.upper()}_PORT": str(p) for n, p in ports.items()},
    }
    for name in ("FREESCALING_CLASSIFIER_MODEL", "FREESCALING_CLASSIFIER_EMBEDDER"):
        env.pop(name, None)  # make try brings its own
    data = tmp_path_factory.mktemp("try")
    process = subprocess.Popen(
        [sys.executable, "-m", "services.stack", "--data-dir", str(data), "--try"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True)
    reader.start()
    try:
        wait_for(
            lambda: any("all four services are up and ready" in line for line in lines),
            timeout=110,
            what="make try to report the stack ready",
        )
        yield ports, lines, data
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0
        reader.join(10)
        assert "all services stopped cleanly" in "".join(lines)


def test_try_is_labelled_canned_and_answers_a_scale(trial):
    ports, lines, data = trial
    output = "".join(lines)
    assert "make try: CANNED ANSWERS: every model is played by a scripted local provider" in output
    assert (data / "try" / "tiny-classifier" / "config.json").is_file()
    with Client(f"127.0.0.1:{ports['gateway']}") as fs:
        result = fs.scale("Is 17 prime?", k=3, answers=["YES", "NO"])
        assert result.answer == "YES"
        assert "canned answer from the scripted local provider" in result.votes[0].raw_output
        assert not any(m.unavailable for m in fs.models())  # keyless, no dummy key


def test_the_readme_python_example_runs_as_written(trial, capsys):
    ports, _, _ = trial
    block = _python_block("from freescaling.client import Client")
    block = block.replace('"localhost:50051"', f'"127.0.0.1:{ports["gateway"]}"')
    exec(compile(block, "README's Python client example", "exec"), {})
    printed = capsys.readouterr().out
    assert "YES" in printed and "CapabilityMap(" in printed and "SuggestedPanel(" in printed


def test_the_readme_openai_example_runs_as_written(trial, capsys):
    ports, _, _ = trial
    block = _python_block("from openai import OpenAI")
    block = block.replace(
        "http://localhost:8080/v1", f"http://127.0.0.1:{ports['gateway_http']}/v1"
    )
    exec(compile(block, "README's OpenAI example", "exec"), {})
    assert "canned answer" in capsys.readouterr().out


@pytest.mark.parametrize("args", _cli_examples(), ids=" ".join)
def test_the_readme_cli_examples_run_as_written(trial, args):
    ports, _, _ = trial
    done = subprocess.run(
        [sys.executable, "-m", "freescaling", "--target", f"127.0.0.1:{ports['gateway']}", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    if args[0] == "--json":
        json.loads(done.stdout)


def test_the_dashboard_shows_the_calls_the_models_and_the_saving(trial):
    """A newcomer's first look at /ui after `make try`: a few votes and a profile (as the
    README's example makes), then the overview shows the calls and the money saved or spent
    against always asking the best profiled model, the models view ranks the voters, and the
    calls view lists the calls. Screenshots: test-artifacts/ui/try-*.png."""
    from selenium.webdriver.common.by import By

    chrome.chromium()  # skip before any traffic where there is no browser
    ports, _, _ = trial
    with Client(f"127.0.0.1:{ports['gateway']}") as fs:
        voters = set()
        for n in (23, 29, 31):
            result = fs.scale(f"Is {n} prime?", k=3, answers=["YES", "NO"])
            assert result.answer == "YES"
            voters |= {v.model for v in result.votes}
        items = [{"question": f"Is {n} odd?", "label": "YES"} for n in range(1, 24, 2)]
        *_, last = fs.profile_models(["llama-3.3", "gemma-27b"], items)
        assert last.done == last.total
    base = f"http://127.0.0.1:{ports['gateway_http']}"
    driver = chrome.start_browser()
    try:
        main = chrome.open_view(driver, base, "overview")
        text = main.text.lower()  # the cards' labels are in capitals on screen
        calls = int(re.search(r"calls\n([\d,]+)", text).group(1).replace(",", ""))
        assert calls >= 3
        assert re.search(r"(saved|extra cost)\n\$[\d.,]+", text), text
        assert "against always asking " in text and "(best profiled" in text
        # make try's models are NIM's, free on its tier: the card says so rather than $0.00.
        assert "the registry prices these models at $0" in text
        chrome.screenshot(driver, "try-overview")
        main = chrome.open_view(driver, base, "models")
        ranked = {
            r.get_attribute("data-model")
            for r in main.find_elements(By.CSS_SELECTOR, "#ranking tbody tr")
        }
        assert ranked, main.text
        chrome.screenshot(driver, "try-models")
        main = chrome.open_view(driver, base, "calls")
        assert len(main.find_elements(By.CSS_SELECTOR, "#calls tbody tr")) >= 3
        chrome.screenshot(driver, "try-calls")
        assert chrome.console_errors(driver) == []
    finally:
        driver.quit()
