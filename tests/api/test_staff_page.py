"""The staff page: served without a key, self-contained, and (in a real headless Chromium) a
waiter finds a guest by phone, sees the offer and its reason, and redeems it."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from loyalty.models import Customer, LoyaltyAccount, Offer
from tests.offers.scenario import NOW

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def test_page_needs_no_key_and_loads_nothing_from_elsewhere(client):
    response = client.get("/staff")
    assert response.status_code == 200 and response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert "Phone, email or loyalty number" in html and "Redeem" in html
    # Everything inline: no external scripts, styles, images or fonts.
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "@import" not in html and "url(" not in html
    # Data only ever goes in as text.
    assert "innerHTML" not in html and "outerHTML" not in html
    assert "insertAdjacentHTML" not in html and "document.write" not in html
    assert "sessionStorage" in html and "Authorization" in html
    policy = response.headers["Content-Security-Policy"]
    nonce = re.search(r"'nonce-([^']+)'", policy).group(1)
    assert f'<script nonce="{nonce}">' in html and f'<style nonce="{nonce}">' in html
    assert "default-src 'none'" in policy and "connect-src 'self'" in policy
    assert client.get("/staff").headers["Content-Security-Policy"] != policy  # fresh nonce
    assert response.headers["Cache-Control"] == "no-store"


def test_page_is_not_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert "/staff" not in paths


# ---- in a browser ----------------------------------------------------------------------------


def _browser_available() -> str | None:
    if importlib.util.find_spec("playwright") is None:
        return "playwright is not installed (.venv/bin/pip install 'playwright>=1.65,<2')"
    if not Path(CHROMIUM).exists():
        return "chromium is not installed (apt-get install chromium)"
    return None


@pytest.fixture
def server(app) -> Iterator[str]:
    """The app behind a real HTTP server on a free local port."""
    http = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{http.server_port}"
    http.shutdown()
    thread.join(timeout=10)


@pytest.fixture
def browser_page():
    why = _browser_available()
    if why and os.environ.get("CI"):
        pytest.fail(f"CI must test the staff page in a browser: {why}")
    if why:
        pytest.skip(why)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        context = browser.new_context(viewport={"width": 900, "height": 900})
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        yield page, errors
        context.close()
        browser.close()


def _find(page, ref: str) -> None:
    page.fill("#q", ref)
    page.click("#search-btn")


@pytest.mark.browser
def test_waiter_finds_guest_and_redeems_offer(server, browser_page, keys, world, engine):
    from playwright.sync_api import expect

    page, errors = browser_page
    guest = world["customers"][0]  # at risk: the win-back rule gives an offer
    page.goto(f"{server}/staff")
    expect(page.locator("#key-state")).to_contain_text("No key yet")

    # Without a key the page says so instead of calling the API.
    _find(page, "900 000 000")
    expect(page.locator("#error")).to_contain_text("Paste the staff key first")

    page.fill("#key", keys["staff"])
    page.click("#key-form button[type=submit]")
    expect(page.locator("#key-state")).to_have_text("Key saved for this tab.")
    assert page.evaluate("sessionStorage.getItem('loyalty.staffKey')") == keys["staff"]
    assert page.input_value("#key") == ""

    _find(page, "900 000 000")  # the local number, with spaces: the card has +51
    expect(page.locator("#guest-name")).to_have_text("Ana0 Test")
    expect(page.locator("#guest-tier")).to_have_text("Silver")
    expect(page.locator("#guest-card")).to_have_text(f"Card L{guest:06d}")
    expect(page.locator("#offer-reward")).to_have_text("15% off your next visit")
    expect(page.locator("#offer-message")).to_contain_text("Ana0, disfruta 15%")
    expect(page.locator("#offer-reason")).to_have_text(
        "Winback: No visit in 90 days; Reviews complain about the service")
    expect(page.locator("#redeem-btn")).to_be_enabled()
    with Session(engine) as s:
        offer = s.scalars(select(Offer).where(Offer.customer_id == guest)).one()
    expect(page.locator("#offer-code")).to_have_text(offer.code)
    assert offer.status == "issued"

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "staff-page.png"), full_page=True)

    page.click("#redeem-btn")
    expect(page.locator("#confirmation")).to_contain_text("Redeemed")
    expect(page.locator("#confirmation")).to_contain_text(offer.code)
    expect(page.locator("#redeem-btn")).to_be_hidden()
    page.screenshot(path=str(ARTIFACTS / "staff-page-redeemed.png"), full_page=True)
    with Session(engine) as s:
        done = s.scalars(select(Offer).where(Offer.customer_id == guest)).one()
    assert done.status == "redeemed" and done.redeemed_at is not None

    # The same guest again: the offer is used, nothing new to give yet.
    _find(page, "ANA0@example.com")
    expect(page.locator("#no-offer")).to_contain_text("No offer now:")
    expect(page.locator("#offer")).to_be_hidden()
    assert errors == []


@pytest.mark.browser
def test_page_messages_and_escaping(server, browser_page, keys, world, engine):
    from playwright.sync_api import expect

    page, _ = browser_page
    with Session(engine) as s, s.begin():
        evil = Customer(source="test", external_id="EVIL", first_name="<img src=x onerror=1>",
                        last_name="<b>Bold</b>", language="en", signup_date=NOW.date(),
                        email="evil@example.com")
        s.add(evil)
        s.flush()
        s.add(LoyaltyAccount(customer_id=evil.id, loyalty_number="EVIL1", points=0,
                             tier="gold", enrolled_on=NOW.date()))
    page.goto(f"{server}/staff")

    # A key the API refuses: the problem's detail is shown.
    page.fill("#key", "lk_wrong")
    page.click("#key-form button[type=submit]")
    _find(page, "900 000 000")
    expect(page.locator("#error")).to_contain_text("the API key is unknown or revoked")

    # A marketing key finds guests but may not see offers: 403 with the detail.
    page.fill("#key", keys["marketing"])
    page.click("#key-form button[type=submit]")
    _find(page, "900 000 000")
    expect(page.locator("#error")).to_contain_text("a marketing key cannot do this")

    page.fill("#key", keys["staff"])
    page.click("#key-form button[type=submit]")
    _find(page, "nobody@example.com")
    expect(page.locator("#error")).to_contain_text("No guest found for “nobody@example.com”")
    expect(page.locator("#guest")).to_be_hidden()

    _find(page, "900 000 001")  # loyal: no rule matches
    expect(page.locator("#guest-name")).to_have_text("Ana1 Test")
    expect(page.locator("#no-offer")).to_have_text(
        "No offer now: no offer for this guest now: no rule matches")
    expect(page.locator("#offer")).to_be_hidden()

    _find(page, "EVIL1")  # markup in a name stays text
    expect(page.locator("#guest-name")).to_have_text("<img src=x onerror=1> <b>Bold</b>")
    assert page.locator("#guest-name img, #guest-name b").count() == 0
    expect(page.locator("#guest-tier")).to_have_text("Gold")
