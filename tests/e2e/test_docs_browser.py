"""The docs page in a real browser (Debian's Chromium, driven by Playwright) with every request
that leaves the suite blocked: the operations render, the Authorize dialog logs in with a
password, and "Try it out" then lists the user's todos."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, Route, sync_playwright

from tools.infra import CHROMIUM, CHROMIUM_ARGS, ROOT

PASSWORD = "docs pages work offline"
SCREENSHOTS = ROOT / ".state" / "screenshots"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: make test installs it (Debian's chromium) as root")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def offline_page(browser: Browser, base_url: str) -> Iterator[tuple[Page, list[str]]]:
    """A page that may reach the suite and nothing else; the list names what it tried."""
    context = browser.new_context()
    blocked: list[str] = []

    def only_the_suite(route: Route) -> None:
        if route.request.url.startswith(base_url):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    context.route("**/*", only_the_suite)
    yield context.new_page(), blocked
    context.close()


def test_the_docs_page_renders_logs_in_and_tries_a_call(
    offline_page: tuple[Page, list[str]], base_url: str, client: httpx.Client
) -> None:
    page, blocked = offline_page
    name = f"docs_{secrets.token_hex(4)}"
    body = {"email": f"{name}@example.com", "username": name, "password": PASSWORD}
    assert client.post("/api/v1/auth/register", json=body).status_code == 201

    page.goto(f"{base_url}/api/v1/docs")
    page.wait_for_selector(".opblock", timeout=30_000)
    assert page.locator(".opblock").count() >= 25
    assert page.locator("#operations-todos-todos_list").count() == 1

    page.click("button.authorize")
    password_flow = page.locator(".auth-container", has=page.locator("#oauth_username"))
    password_flow.locator("#oauth_username").fill(name)
    password_flow.locator("#oauth_password").fill(PASSWORD)
    password_flow.locator("button.authorize").click()
    # Logged in: the form gives way to "Authorized" and a logout button.
    page.locator('.modal-ux button[aria-label="Remove authorization"]').wait_for(timeout=15_000)
    page.locator(".modal-ux button.btn-done").first.click()

    operation = page.locator("#operations-todos-todos_list")
    operation.locator(".opblock-summary").click()
    operation.locator("button.try-out__btn").click()
    operation.locator("button.execute").click()
    status = operation.locator(".live-responses-table tr.response .response-col_status").first
    status.wait_for(timeout=15_000)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "docs-try-it-out.png"), full_page=False)
    assert status.inner_text().strip() == "200"
    assert '"items": []' in operation.locator(".live-responses-table").inner_text()
    assert blocked == [], blocked
