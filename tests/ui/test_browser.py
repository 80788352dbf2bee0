"""The web page in a real browser: Debian's chromium driven by Playwright against a real
`virt serve`. Loads the journal, searches, opens an interaction, edits its tags, sees a miss
arrive live with its explanation, and takes the screenshots docs/ui.md shows (docs/img/ui-*.png).
"""

from __future__ import annotations

import base64
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import BrowserContext, ConsoleMessage, Page, expect, sync_playwright

from tests.helpers import REPO, VirtProcess, clean_env, free_port, health_ok

CHROMIUM = Path("/usr/bin/chromium")
"""Debian's chromium: Playwright's own browser download is not available on build machines."""
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SHOTS = REPO / "docs" / "img"
"""Where the screenshots go: the docs show them, so each run makes them afresh."""
TIMEOUT_MS = 10_000
PNG = base64.b64encode(
    base64.b64decode(
        "iVBORw0KGgoAAAANSUhEUgAAABAAAAAQCAYAAAAf8/9hAAAAKElEQVR42mNkYPj/n4EBCBgZGRj+M1AEGEcN"
        "GDVg1IBRA0YNGDWAOgAAm5QF/Q2ZRpQAAAAASUVORK5CYII="
    )
).decode()


def _recordings() -> list[dict[str, object]]:
    """A small shop: users, orders, a search by form, a product image."""
    json_type = [["Content-Type", "application/json"]]
    out: list[dict[str, object]] = []
    for n, name in enumerate(("Ada Lovelace", "Grace Hopper", "Edsger Dijkstra"), start=1):
        body = (
            f'{{"id": {n}, "name": "{name}", "email": "user{n}@shop.example", "roles": ["buyer"]}}'
        )
        out.append(
            {
                "request": {"method": "GET", "url": f"http://api.shop.example/v1/users/{n}"},
                "response": {"status": 200, "headers": json_type, "body": body},
                "tags": ["users"],
            }
        )
    for n in (101, 102):
        body = f'{{"id": {n}, "user": 1, "items": [{{"sku": "tea-{n}", "qty": 2}}], "total": 12.5}}'
        out.append(
            {
                "request": {"method": "GET", "url": f"http://api.shop.example/v1/orders/{n}"},
                "response": {"status": 200, "headers": json_type, "body": body},
            }
        )
    out.append(
        {
            "request": {
                "method": "POST",
                "url": "http://api.shop.example/v1/search",
                "headers": [["Content-Type", "application/x-www-form-urlencoded"]],
                "body": "q=green+tea&sort=price",
            },
            "response": {"status": 200, "headers": json_type, "body": '{"hits": ["tea-101"]}'},
        }
    )
    out.append(
        {
            "request": {"method": "GET", "url": "http://cdn.shop.example/img/tea.png"},
            "response": {
                "status": 200,
                "headers": [["Content-Type", "image/png"]],
                "body_base64": PNG,
            },
        }
    )
    return out


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, confdir: Path) -> Iterator[str]:
    """A `virt serve` with the shop recorded; its direct door's base URL."""
    tmp = tmp_path_factory.mktemp("ui")
    db = tmp / "shop.db"
    db.touch()
    port = free_port()
    # --no-fallback: a request near a recording is a miss, explained beside it
    args = ["serve", "--db", str(db), "--port", str(port), "--no-proxy", "--no-fallback"]
    proc = VirtProcess([*args, "--confdir", str(confdir)], clean_env(), tmp)
    proc.start(lambda: health_ok(port))
    base = f"http://127.0.0.1:{port}"
    try:
        for interaction in _recordings():
            r = httpx.post(f"{base}/__virt/interactions", json=interaction)
            assert r.status_code == 201, r.text
        yield base
    finally:
        proc.stop()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (make system-deps does)")
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(profile),
            executable_path=str(CHROMIUM),
            headless=True,
            args=ARGS,
            viewport={"width": 1280, "height": 800},
        )
        context.set_default_timeout(TIMEOUT_MS)
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def page(browser: BrowserContext) -> Iterator[Page]:
    """A fresh tab that fails the test on any script error or refused resource (CSP)."""
    tab = browser.new_page()
    errors: list[str] = []

    def seen(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(message.text)

    tab.on("console", seen)
    tab.on("pageerror", lambda e: errors.append(str(e)))
    yield tab
    tab.close()
    assert errors == []


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    made = SHOTS / f".{name}.{os.getpid()}.tmp.png"
    page.screenshot(path=str(made), full_page=False)
    shutil.move(made, SHOTS / name)  # whole or not at all: a concurrent run never sees half


def test_search_finds_a_recording_and_enter_opens_it_pretty_printed(
    server: str, page: Page
) -> None:
    page.goto(f"{server}/__virt/ui/recordings")
    expect(page.locator("#recordings tbody tr.row")).to_have_count(7)
    page.keyboard.press("/")
    page.keyboard.type("Hopper")
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{server}/__virt/ui/recordings?q=Hopper")
    expect(page.locator("#recordings tbody tr.row")).to_have_count(1)
    page.locator("[data-search]").blur()
    page.keyboard.press("j")
    expect(page.locator("tr.selected")).to_have_count(1)
    page.goto(f"{server}/__virt/ui/recordings")
    shot(page, "ui-recordings.png")
    page.goto(f"{server}/__virt/ui/recordings?q=Hopper")
    page.keyboard.press("j")
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{server}/__virt/ui/recordings/2")
    expect(page.locator("pre.body-json")).to_contain_text('"name": "Grace Hopper"')
    shot(page, "ui-interaction.png")


def test_a_form_is_a_table_and_an_image_is_shown(server: str, page: Page) -> None:
    page.goto(f"{server}/__virt/ui/recordings/6")
    expect(page.locator("table.form")).to_contain_text("green tea")
    page.goto(f"{server}/__virt/ui/recordings/7")
    image = page.locator("img.body-image")
    expect(image).to_be_visible()
    assert image.evaluate("img => img.naturalWidth") == 16


def test_tags_are_edited_in_the_page_and_saved_through_the_admin_api(
    server: str, page: Page
) -> None:
    page.goto(f"{server}/__virt/ui/recordings/4")
    field = page.locator("#tags input[name=tags]")
    field.fill("orders, checked")
    page.locator("#tags button").click()
    expect(page.locator("#tags-status")).to_have_text("saved")
    assert httpx.get(f"{server}/__virt/interactions/4").json()["tags"] == ["checked", "orders"]
    page.goto(f"{server}/__virt/ui/recordings?tag=checked")
    expect(page.locator("#recordings tbody tr.row")).to_have_count(1)


def test_a_miss_appears_live_and_opens_with_its_explanation(server: str, page: Page) -> None:
    host = {"Host": "api.shop.example"}
    for path in ("/v1/users/1", "/v1/users/2", "/v1/orders/101"):
        httpx.get(f"{server}{path}", headers=host)
    page.goto(f"{server}/__virt/ui")
    expect(page.locator("#live")).to_have_text("live")
    misses = page.locator('[data-count="miss"]')
    before = int(misses.inner_text())
    # sent after the page loaded: only the live feed can show it
    r = httpx.get(f"{server}/v1/users/1?fields=email", headers=host)
    assert r.headers["x-virt-match"] == "miss"
    row = page.locator("#journal-rows tr.kind-row-miss", has_text="/v1/users/1?fields=email")
    expect(row).to_have_count(1)
    expect(misses).to_have_text(str(before + 1))
    shot(page, "ui-journal.png")
    row.locator("a").click()
    expect(page.locator("h1")).to_contain_text("/v1/users/1?fields=email")
    expect(page.locator(".candidate").first).to_contain_text("recording 1")
    expect(page.locator("table.compare tr.differs").first).to_be_visible()
    expect(page.locator("#rule")).to_contain_text('path = "/v1/users/{id}"')
    expect(page.locator("#rule")).to_contain_text('ignore = ["query:fields"]')
    shot(page, "ui-miss.png")
    button = page.locator("button[data-copy=curl]")
    button.click()
    expect(button).to_have_text("Copied")


def test_a_route_shows_its_template_answer_volatile_fields_and_schemas(
    server: str, page: Page
) -> None:
    page.goto(f"{server}/__virt/ui/routes")
    page.locator("#routes a", has_text="/v1/users/{id}").click()
    expect(page.locator("table.facts")).to_contain_text("/v1/users/{id}")
    expect(page.locator("#fallback")).to_contain_text("--no-fallback")
    expect(page.locator("pre.body-json").first).to_contain_text('"name": "Ada Lovelace"')
    expect(page.locator("#schema")).to_contain_text("responses")
    shot(page, "ui-route.png")
