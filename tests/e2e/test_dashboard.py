"""The dashboard at /ui in a real browser (headless Chromium), against the four services with
scripted models and a gateway that wants an API key: the key typed once into the page, every
view loaded without a console error, calls paged through, feedback clicked on a call's page
moving the ranking exactly as the RPC does. Each view's screenshot is saved under
test-artifacts/ui/."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import grpc
import httpx
import pytest

from freescaling.common.v1 import ratings_pb2, records_pb2
from freescaling.gateway.v1 import gateway_pb2, gateway_pb2_grpc
from freescaling.learning.v1 import learning_pb2, learning_pb2_grpc
from tests.support import browser as chrome
from tests.support.processes import wait_for

KEY = "dash-key-5f1e-not-a-real-one"
AUTH = (("authorization", f"Bearer {KEY}"),)
BATCH = 30


@pytest.fixture(scope="module")
def driver():
    chrome.chromium()  # skip early, before the stack starts, where there is no browser
    started = chrome.start_browser()
    yield started
    started.quit()


@pytest.fixture(scope="module")
def keyed(system):
    """A second gateway over the same services, with an API key."""
    gateway = system.gateway_for(system.classifier.address, FREESCALING_GATEWAY_API_KEYS=KEY)
    gateway.start().wait_serving().wait_ready()
    yield gateway
    assert gateway.stop() == 0


@pytest.fixture(scope="module")
def stubs(system, keyed):
    return (
        gateway_pb2_grpc.GatewayStub(keyed.channel()),
        learning_pb2_grpc.LearningStub(system.learning.channel()),
    )


@pytest.fixture(scope="module")
def traffic(stubs):
    """Calls to look at: a batch of votes (default panel yes1, yes2, no1: YES by 2 to 1, every
    vote heard), some with feedback, and three models profiled so that the map and the saving
    exist."""
    gateway, learning = stubs
    items = [gateway_pb2.ScaleItem(question=f"Is {n} a prime number?") for n in range(BATCH)]
    results = list(
        gateway.ScaleBatch(
            gateway_pb2.ScaleBatchRequest(
                items=items, k=3, answer_patterns=["YES", "NO"], no_shadow=True
            ),
            metadata=AUTH,
            timeout=120,
        )
    )
    ids = [r.response.result.call_id for r in results]
    assert len(ids) == BATCH and all(ids)
    records = [
        wait_for(lambda c=c: _record(learning, c), timeout=20, what=f"the record of {c}")
        for c in ids
    ]
    # Oldest first, as the calls view pages them newest first.
    ids = [r.call_id for r in sorted(records, key=lambda r: r.created_at.ToMicroseconds())]
    profile = gateway_pb2.ProfileModelsRequest(
        models=["yes1", "no1", "yes4"],
        items=[
            gateway_pb2.LabelledItem(item_id=f"dash{i}", question=f"Is {n} odd?", label="YES")
            for i, n in enumerate(range(1, 25, 2))
        ],
        answer_patterns=["YES", "NO"],
        trials=1,
    )
    list(gateway.ProfileModels(profile, metadata=AUTH, timeout=120))
    # Feedback on the older calls (the page clicks on the newest).
    for call_id in ids[:-1][:20]:
        gateway.Feedback(
            ratings_pb2.FeedbackRequest(call_id=call_id, reaction="👍"), metadata=AUTH, timeout=10
        )
    return ids


def _record(learning, call_id: str) -> records_pb2.CallRecord | None:
    try:
        return learning.GetCall(learning_pb2.GetCallRequest(call_id=call_id), timeout=5)
    except grpc.RpcError as exc:
        if exc.code() != grpc.StatusCode.NOT_FOUND:
            raise
        return None


def _ratings(learning) -> dict[str, float]:
    reply = learning.GetRankings(ratings_pb2.RankingsRequest(), timeout=10)
    return {r.model: r.rating for r in reply.ratings}


def _shown(rating: float) -> str:
    """A rating as the page prints it: JavaScript's toFixed(1), half up on the exact double."""
    return str(Decimal(rating).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def test_the_page_and_its_api_need_the_key_and_never_put_it_in_a_url(keyed, traffic):
    base = keyed.http_url()
    page = httpx.get(f"{base}/ui/", timeout=10)
    assert page.status_code == 200 and 'data-key-required="true"' in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert httpx.get(f"{base}/ui", timeout=10, follow_redirects=False).status_code == 308
    assert httpx.get(f"{base}/ui/static/app.js", timeout=10).status_code == 200
    assert httpx.get(f"{base}/ui/static/../app.py", timeout=10).status_code == 404
    refused = httpx.get(f"{base}/ui/api/overview", timeout=10)
    assert refused.status_code == 401
    headers = {"authorization": f"Bearer {KEY}"}
    overview = httpx.get(f"{base}/ui/api/overview", headers=headers, timeout=10).json()
    assert overview["totals"]["calls"] >= BATCH
    # The best profiled model (yes1 and yes4 are right on every item; yes1 comes first at the
    # same price) answering each call once: 12 tokens in and 3 out at $1 and $2 per million,
    # against three such answers per vote (yes2 answers after yes1 and no1 have split).
    # Here the panel costs more than the model alone.
    assert overview["baseline"]["model"] == "yes1"
    baseline = BATCH * (12 * 1.0 + 3 * 2.0) / 1e6
    assert overview["baseline"]["cost_usd"] == pytest.approx(baseline)
    assert overview["cost_usd"] == pytest.approx(3 * baseline)
    assert overview["saved_usd"] == pytest.approx(baseline - overview["cost_usd"])
    bad = httpx.get(f"{base}/ui/api/calls?kind=poem", headers=headers, timeout=10)
    assert bad.status_code == 400 and "kind must be one of" in bad.text
    missing = httpx.get(f"{base}/ui/api/calls/no-such-call", headers=headers, timeout=10)
    assert missing.status_code == 404


def test_every_view_in_a_browser_with_feedback_and_paging(driver, keyed, stubs, traffic):
    from selenium.webdriver.common.by import By

    _gateway, learning = stubs
    base = keyed.http_url()
    driver.get(f"{base}/ui/")
    form = driver.find_element(By.ID, "key-form")
    wait_for(form.is_displayed, timeout=10, what="the key form")
    assert chrome.console_errors(driver) == []
    driver.find_element(By.ID, "key-input").send_keys(KEY)
    form.submit()
    main = chrome.wait_view(driver, "overview")
    assert KEY not in driver.current_url
    assert driver.execute_script("return sessionStorage.getItem('freescaling-api-key')") == KEY
    text = main.text.lower()  # the cards' labels are in capitals on screen
    assert "calls\n30" in text and "extra cost" in text and "against always asking yes1" in text
    assert chrome.console_errors(driver) == []
    chrome.screenshot(driver, "overview")

    main = chrome.open_view(driver, base, "models")
    rows = main.find_elements(By.CSS_SELECTOR, "#ranking tbody tr")
    shown = {r.get_attribute("data-model"): r for r in rows}
    assert {"yes1", "yes2", "no1"} <= set(shown)
    before = _ratings(learning)
    for model in ("yes1", "no1"):
        cell = shown[model].find_element(By.CSS_SELECTOR, "td.rating")
        assert float(cell.get_attribute("data-rating")) == before[model]
        assert cell.text == _shown(before[model])
    assert main.find_elements(By.CSS_SELECTOR, "svg.chart path")
    chrome.screenshot(driver, "models")

    main = chrome.open_view(driver, base, "capabilities")
    heat = main.find_element(By.ID, "heatmap").text
    assert "yes1" in heat and "100.0%" in heat and "no1" in heat
    assert main.find_element(By.ID, "correlation")
    assert "yes1" in main.find_element(By.ID, "suggested").text
    chrome.screenshot(driver, "capabilities")

    main = chrome.open_view(driver, base, "calls")
    first = [
        r.get_attribute("data-call") for r in main.find_elements(By.CSS_SELECTOR, "#calls tbody tr")
    ]
    assert len(first) == 25
    driver.find_element(By.ID, "older").click()
    main = chrome.wait_view(driver, "calls")
    second = [
        r.get_attribute("data-call") for r in main.find_elements(By.CSS_SELECTOR, "#calls tbody tr")
    ]
    assert second and not set(first) & set(second)
    assert "page 2" in main.text
    driver.find_element(By.ID, "newer").click()
    main = chrome.wait_view(driver, "calls")
    again = [
        r.get_attribute("data-call") for r in main.find_elements(By.CSS_SELECTOR, "#calls tbody tr")
    ]
    assert again == first
    assert chrome.console_errors(driver) == []
    chrome.screenshot(driver, "calls")

    # The newest call of the batch: its page, then feedback that says NO was right.
    newest = traffic[-1]
    main = chrome.open_view(driver, base, f"call/{newest}", "call")
    votes = {
        r.get_attribute("data-vote") for r in main.find_elements(By.CSS_SELECTOR, "#votes tbody tr")
    }
    assert votes == {"yes1", "yes2", "no1"}
    assert "66.7%" in main.text  # the confidence: 2 votes of 3
    before = _ratings(learning)
    driver.find_element(By.ID, "override-label").send_keys("NO")
    driver.find_element(By.ID, "fb-override").click()
    result = wait_for(
        lambda: "Recorded" in (t := driver.find_element(By.ID, "feedback-result").text) and t,
        timeout=15,
        what="the feedback's result",
    )
    after = _ratings(learning)
    assert after["no1"] > before["no1"] and after["yes1"] < before["yes1"]
    assert f"no1 {_shown(before['no1'])} → {_shown(after['no1'])}" in result
    record = learning.GetCall(learning_pb2.GetCallRequest(call_id=newest), timeout=10)
    assert record.kind == records_pb2.CALL_KIND_SCALE
    chrome.screenshot(driver, "call")

    # The ranking page shows the moved ratings, exactly as GetRankings has them.
    main = chrome.open_view(driver, base, "models")
    for row in main.find_elements(By.CSS_SELECTOR, "#ranking tbody tr"):
        model = row.get_attribute("data-model")
        cell = row.find_element(By.CSS_SELECTOR, "td.rating")
        assert float(cell.get_attribute("data-rating")) == after[model]

    main = chrome.open_view(driver, base, "calibration")
    assert main.find_elements(By.CSS_SELECTOR, "svg.chart rect.bin")
    assert "21 voted calls with feedback" in main.text
    chrome.screenshot(driver, "calibration")
    assert chrome.console_errors(driver) == []


def test_a_forgotten_key_is_asked_for_again(driver, keyed, traffic):
    from selenium.webdriver.common.by import By

    base = keyed.http_url()
    driver.get(f"{base}/ui/#/overview")
    chrome.wait_view(driver, "overview")
    driver.find_element(By.ID, "key-button").click()
    driver.find_element(By.ID, "key-forget").click()
    assert driver.execute_script("return sessionStorage.getItem('freescaling-api-key')") is None
    assert "The key is forgotten" in driver.find_element(By.ID, "view").text
    # A wrong key is refused by the API and the page asks again.
    driver.find_element(By.ID, "key-input").send_keys("wrong")
    driver.find_element(By.ID, "key-form").submit()
    wait_for(
        lambda: "not valid" in driver.find_element(By.ID, "view").text,
        timeout=10,
        what="the refusal",
    )
    # The refused fetch is the browser's own console line, and the only one.
    assert all("401" in line for line in chrome.console_errors(driver))


def test_a_call_page_shows_the_cascade_steps_with_their_evidence(driver, keyed, stubs, traffic):
    """A k=auto call among the profiled models, aiming at a confidence the first can't reach
    alone: its record keeps the steps as the answer had them, and its page shows each step,
    the evidence that chose each model it added, and each vote's weight and why."""
    from selenium.webdriver.common.by import By

    gateway, learning = stubs
    response = gateway.Scale(
        gateway_pb2.ScaleRequest(
            question="Is 97 a prime number?",
            answer_patterns=["YES", "NO"],
            models=["yes1", "yes4", "no1"],
            min_confidence=0.999,
            no_shadow=True,
        ),
        metadata=AUTH,
        timeout=60,
    )
    steps = response.cascade.steps
    assert response.cascade.path != "fixed" and steps
    assert all(c.evidence for s in steps for c in s.added)
    call_id = response.result.call_id
    record = wait_for(lambda: _record(learning, call_id), timeout=20, what="the k=auto record")
    assert len(record.cascade_steps) == len(steps)
    for kept, step in zip(record.cascade_steps, steps, strict=True):
        assert kept.SerializeToString() == step.SerializeToString()

    base = keyed.http_url()
    # The key, set on the page's origin from a file that runs nothing (the previous test left
    # a wrong one, which the page would try first).
    driver.get(f"{base}/ui/static/style.css")
    driver.execute_script(f"sessionStorage.setItem('freescaling-api-key', '{KEY}')")
    chrome.console_errors(driver)  # drained: the earlier tests' lines
    main = chrome.open_view(driver, base, f"call/{call_id}", "call")
    rows = main.find_elements(By.CSS_SELECTOR, "#cascade tbody tr")
    assert [r.get_attribute("data-step") for r in rows] == [str(i + 1) for i in range(len(steps))]
    for row, step in zip(rows, steps, strict=True):
        assert step.reason in row.text
        assert ", ".join(step.models) in row.text
        for choice in step.added:
            item = row.find_element(By.CSS_SELECTOR, f"li[data-added='{choice.model}']")
            assert choice.evidence in item.text
    for vote in response.result.votes:
        row = main.find_element(By.CSS_SELECTOR, f"#votes tr[data-vote='{vote.model}']")
        shown = row.find_element(By.CSS_SELECTOR, "td.weight").text
        if vote.weight or vote.weight_reason:
            assert shown == str(Decimal(vote.weight).quantize(Decimal("0.01"), ROUND_HALF_UP))
        if vote.weight_reason:
            assert vote.weight_reason in row.find_element(By.CSS_SELECTOR, "td.weight-reason").text
    assert chrome.console_errors(driver) == []
    chrome.screenshot(driver, "call-cascade")
