"""The gateway's web page in a real headless browser (Playwright driving Debian's chromium): it renders,
its charts show the ledger's numbers, the experiment's figures are there, and a non-admin key sees only
its own usage and no keys."""

from __future__ import annotations

import shutil
from collections import defaultdict

import pytest

from .conftest import ADMIN_KEY, client_for, ledger_rows

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.fail("chromium is not installed: `make system-packages` (apt-get install chromium) installs it; the web "
                    "page test needs a real browser.", pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield b
        b.close()


def _open(browser, server, key: str):
    page = browser.new_page()
    page.goto(f"{server.url}/ui")
    page.fill("#key", key)
    page.click("button[type=submit]")
    page.wait_for_selector("body[data-loaded=yes]", timeout=60_000)
    return page


def _bars(page, chart: str) -> dict[str, int]:
    return {r.get_attribute("data-label"): int(r.get_attribute("data-value"))
            for r in page.query_selector_all(f"#chart-{chart} rect.bar")}


def test_the_page_shows_the_ledgers_numbers_to_the_admin(browser, gateway_server, new_key):
    secret, _ = new_key("ui-user")
    client = client_for(gateway_server, secret)
    for model in ("ops-v1", "ops-ab"):
        client.chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}], max_tokens=2,
                                       user="ui-person")
    rows = ledger_rows(gateway_server.database_url)
    page = _open(browser, gateway_server, ADMIN_KEY)
    by_model, by_day = defaultdict(int), defaultdict(int)
    for r in rows:
        by_model[r["model"] or "?"] += r["prompt_tokens"] + r["completion_tokens"]
        by_day[r["day"]] += r["prompt_tokens"] + r["completion_tokens"]
    assert _bars(page, "model") == dict(by_model)
    assert _bars(page, "day") == dict(by_day)
    assert page.inner_text("#scope") == "All requests."
    variants = {r["variant"] for r in rows if r["variant"]}
    assert variants
    for variant in variants:
        cell = page.query_selector(f"table.experiment[data-name=ops-ab] tr[data-variant={variant}] td.requests")
        assert int(cell.inner_text()) == sum(1 for r in rows if r["variant"] == variant)
    assert "ui-user" in page.inner_text("#keys-table")
    page.close()


def test_a_key_sees_its_own_usage_and_no_keys(browser, gateway_server, new_key):
    secret, record = new_key("ui-viewer")
    client_for(gateway_server, secret).chat.completions.create(
        model="ops-v2", messages=[{"role": "user", "content": "hello"}], max_tokens=2)
    [row] = ledger_rows(gateway_server.database_url, "key_id = :k", k=record["id"])
    page = _open(browser, gateway_server, secret)
    assert _bars(page, "key") == {f"ui-viewer ({record['id']})": row["prompt_tokens"] + row["completion_tokens"]}
    assert page.inner_text("#scope") == "This key's requests."
    assert page.query_selector("#keys-table") is None
    assert page.inner_text("#keys-denied") == "Keys are shown to the admin key only."
    page.close()
