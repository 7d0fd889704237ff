"""The Swagger UI at /docs works as a person uses it, with nothing fetched from outside the service:
list articles with Try it out → Execute, Authorize with a key, create an article from the UI."""

from __future__ import annotations

import json

import pytest
import requests

from .conftest import WAIT_MS, save_screenshot

expect = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed").expect

DESKTOP = {"width": 1280, "height": 900}


def operation(page, method: str, path: str):
    """The operation block for METHOD path, expanded."""
    block = page.locator(f".opblock-{method.lower()}").filter(
        has=page.locator(f'.opblock-summary-path[data-path="{path}"]'))
    expect(block).to_have_count(1)
    control = block.locator(".opblock-summary-control")
    if control.get_attribute("aria-expanded") != "true":
        control.click()
    expect(block.locator(".opblock-body")).to_be_visible()
    return block


def execute(block):
    """Try it out (if not already on) → Execute; returns the live response row."""
    try_out = block.locator("button.try-out__btn")
    if "cancel" not in (try_out.get_attribute("class") or ""):
        try_out.click()
    block.locator("button.execute").click()
    live = block.locator(".live-responses-table .response")
    expect(live).to_have_count(1, timeout=WAIT_MS)
    return live


def test_swagger_ui_lists_and_creates_articles_without_outside_requests(server, open_page, write_key):
    watched = open_page(server.url, viewport=DESKTOP)
    page = watched.page
    page.goto(f"{server.url}/docs")
    expect(page.locator(".information-container .title")).to_contain_text("医保 knowledge API")

    # The articles tag starts collapsed (docExpansion: none).
    page.locator("#operations-tag-articles").click()

    listing = operation(page, "GET", "/api/v1/articles")
    live = execute(listing)
    expect(live.locator(".response-col_status")).to_have_text("200")
    expect(live.locator(".response-col_description")).to_contain_text('"items"')
    expect(listing.locator(".request-url")).to_contain_text(f"{server.url}/api/v1/articles")
    listing.locator(".opblock-summary-control").click()  # collapse it again
    expect(listing.locator(".opblock-body")).to_have_count(0)

    # Authorize: the apiKey scheme sends the Authorization header as typed.
    page.locator(".auth-wrapper button.authorize").click()
    dialog = page.locator(".modal-ux")
    expect(dialog).to_be_visible()
    dialog.locator("input[type=text]").fill(f"Bearer {write_key}")
    dialog.locator("button.authorize").click()
    expect(dialog.locator("button.authorize")).to_have_count(0)  # now it offers Logout
    dialog.locator("button.btn-done").click()
    expect(dialog).to_have_count(0)
    expect(page.locator(".auth-wrapper button.authorize")).to_have_class("btn authorize locked")

    article = {
        "id": "from-swagger-ui",
        "title": "在Swagger UI里新建的医保文章",
        "body": "## 一、说明\n\n1. 这是浏览器测试通过 Swagger UI 新建的文章\n",
    }
    create = operation(page, "POST", "/api/v1/articles")
    create.locator("button.try-out__btn").click()
    create.locator("textarea.body-param__text").fill(json.dumps(article, ensure_ascii=False))
    live = execute(create)
    expect(live.locator(".response-col_status")).to_have_text("201")
    expect(live.locator(".response-col_description")).to_contain_text(article["title"])
    expect(create.locator(".curl-command")).to_contain_text("Authorization: Bearer")
    save_screenshot(page, "docs-full.png")
    # For the README: the page head down to the 201 of the create call.
    box = live.bounding_box()
    bottom = box["y"] + box["height"] + page.evaluate("window.scrollY")
    save_screenshot(page, "docs.png", docs_name="docs.png",
                    clip={"x": 0, "y": 0, "width": DESKTOP["width"], "height": bottom + 16})

    stored = requests.get(f"{server.url}/api/v1/articles/{article['id']}", timeout=10)
    assert stored.status_code == 200
    assert stored.json()["title"] == article["title"]
    requests.delete(stored.url, headers={"Authorization": f"Bearer {write_key}"}, timeout=10)

    watched.assert_clean()
