"""The live board of the web page (SPEC 10) in headless Chromium against a real `python app.py`:
a poll sent to POST /polls shows the store down on the open page without a reload, and a poll
that brings it back removes it; with AUTH_REQUIRED the board follows the stream with the key.
Runs like tests/test_browser.py (Debian's chromium through Playwright)."""
from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator

import pytest

from support.server import ROOT, ServerProcess
from test_browser import ConsoleWatch, base_url, browser  # noqa: F401  (the shared browser fixture)

pytestmark = pytest.mark.browser


def instant(seconds_ago: float) -> str:
    return (datetime.now(timezone.utc) - timedelta(seconds=seconds_ago)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def start_server(tmp: Path, **env: str) -> ServerProcess:
    (tmp / "csv").mkdir(exist_ok=True)
    server = ServerProcess({"DATABASE_URL": f"sqlite:///{tmp / 'db.sqlite'}", "CSV_DIR": str(tmp / "csv"),
                            "REPORT_DIR": str(tmp / "reports"), **env}, tmp / "server.log", name="live-board",
                           cwd=tmp)
    return server.start(timeout=60)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    srv = start_server(tmp_path)
    try:
        yield srv
    finally:
        srv.cleanup()


def send(server: ServerProcess, store_id: str, status: str, seconds_ago: float, key: str | None = None) -> None:
    headers = {"Authorization": f"Bearer {key}"} if key else None
    response = server.post("/polls", json_body=[{"store_id": store_id, "status": status,
                                                 "timestamp_utc": instant(seconds_ago)}], headers=headers)
    assert response.status == 200, response.body[:300]


def open_page(browser, server: ServerProcess):  # noqa: F811
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.console_watch = ConsoleWatch(page)
    page.goto(base_url(server) + "/")
    return context, page


def test_live_board_updates_without_reload(browser, server: ServerProcess, tmp_path: Path) -> None:  # noqa: F811
    from playwright.sync_api import expect

    context, page = open_page(browser, server)
    try:
        expect(page.locator("#live-state")).to_have_text("Live")
        expect(page.locator("#live-rows")).to_contain_text("No store is down or stale.")
        page.evaluate("window.__marker = 'same page'")  # gone if the page reloads
        send(server, "board-1", "active", 30)
        send(server, "board-2", "inactive", 20)
        row = page.locator("#live-rows tr[data-store-id='board-2']")
        expect(row).to_have_attribute("data-status", "down")
        expect(page.locator("#live-rows tr[data-store-id]")).to_have_count(1)
        expect(page.locator("#live-count")).to_have_text("1 store down or stale.")
        send(server, "board-1", "inactive", 10)
        expect(page.locator("#live-rows tr[data-store-id]")).to_have_count(2)
        # longest first: board-2 went down before board-1
        assert page.eval_on_selector_all("#live-rows tr[data-store-id]", "rs => rs.map(r => r.dataset.storeId)") == [
            "board-2", "board-1"]
        send(server, "board-2", "active", 5)
        expect(row).to_have_count(0)
        assert page.evaluate("window.__marker") == "same page"
        page.screenshot(path=str(tmp_path / "page.png"), full_page=True)
        assert page.console_watch.unexpected() == []
    finally:
        context.close()


def test_live_board_with_an_api_key(browser, tmp_path: Path) -> None:  # noqa: F811
    from playwright.sync_api import expect

    server = start_server(tmp_path, AUTH_REQUIRED="true")
    try:
        created = subprocess.run(
            [sys.executable, "-m", "flask", "--app", "app", "api-key", "create", "--role", "admin"],
            cwd=ROOT, env={**server.env}, capture_output=True, text=True, timeout=60)
        assert created.returncode == 0, created.stderr
        key = created.stdout.strip().splitlines()[-1]
        context, page = open_page(browser, server)
        try:
            page.fill("#api-key", key)
            page.click("#auth-form button[type=submit]")
            expect(page.locator("#live-state")).to_have_text("Live")
            send(server, "keyed", "inactive", 5, key=key)
            expect(page.locator("#live-rows tr[data-store-id='keyed']")).to_have_attribute("data-status", "down")
            # the 401s of the page before the key was given are expected console errors
            assert [e for e in page.console_watch.unexpected() if "401" not in e] == []
        finally:
            context.close()
    finally:
        server.cleanup()
