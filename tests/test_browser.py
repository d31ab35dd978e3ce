"""The web page at `/`, end to end: a real `python app.py` server driven by headless Chromium.

The server runs as a subprocess on a free port with its own SQLite database, CSV_DIR (worked
examples ex1 and ex2, both asked about 2023-01-23T12:00:00Z, and the range example ex7, whose
polls all come after that instant) and REPORT_DIR.
Debian's /usr/bin/chromium is driven with Playwright (never `playwright install`); without it
the tests skip, except in CI (CI=true) where they fail.

Every test saves a screenshot of the whole page in its pytest tmp dir (`page.png`); set
STORE_MONITOR_SCREENSHOT=/some/file.png to save the first test's one there as well.
"""
from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Iterator

import pytest

from conftest import IN_CI, SPEC_EXAMPLES, combine_examples
from support.server import ROOT, ServerProcess
from support.waiting import wait_until

pytestmark = pytest.mark.browser

EXAMPLES = SPEC_EXAMPLES
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
HEADER = ("store_id,uptime_last_hour,uptime_last_day,uptime_last_week,"
          "downtime_last_hour,downtime_last_day,downtime_last_week")
AS_OF_INPUT = "2023-01-23T12:00"  # what the operator types; the page must send 2023-01-23T12:00:00Z
SERVER_START_TIMEOUT = 60.0
REPORT_TIMEOUT_MS = 30_000
BROWSER_EXAMPLES = ["ex1", "ex2", "ex7"]
EX7_FROM, EX7_TO = (EXAMPLES / "ex7" / "range").read_text().split()[1::2]  # --from X --to Y


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"the browser test is required in CI: {reason}")
    pytest.skip(reason)


def _expected_rows(names: list[str]) -> dict[str, dict[str, str]]:
    rows: dict[str, dict[str, str]] = {}
    for name in names:
        assert (EXAMPLES / name / "as_of").read_text().strip() == AS_OF_INPUT + ":00Z"
        for row in csv.DictReader(io.StringIO((EXAMPLES / name / "expected.csv").read_text())):
            rows[row["store_id"]] = row
    return rows


def base_url(server: ServerProcess) -> str:
    return f"http://127.0.0.1:{server.port}"


def _get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    base = tmp_path_factory.mktemp("browser")
    (base / "reports").mkdir()
    env = {
        "DATABASE_URL": f"sqlite:///{base / 'db.sqlite'}",
        "CSV_DIR": str(combine_examples(BROWSER_EXAMPLES, base / "csv")),
        "REPORT_DIR": str(base / "reports"),
    }
    # cwd=base: no stray `.env` of the checkout changes the settings above
    srv = ServerProcess(env, base / "server.log", name="browser-server", cwd=base)
    try:
        srv.start(timeout=SERVER_START_TIMEOUT)
        # the start-up load runs in the background
        wait_until(lambda: srv.get("/health").json().get("polls", 0) > 0, SERVER_START_TIMEOUT,
                   f"the server's start-up load\n{srv.logs_tail()}")
        yield srv
        srv.stop()
    finally:
        srv.cleanup()


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is missing (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


class ConsoleWatch:
    """Console errors and uncaught exceptions of a page (CSP violations show up as console errors)."""

    def __init__(self, page) -> None:
        self.errors: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.errors.append(f"uncaught: {exc}"))

    def _console(self, message) -> None:
        if message.type == "error":
            self.errors.append(f"{message.text} @ {message.location.get('url', '')}")

    def unexpected(self, allowed_prefixes: tuple[str, ...] = ()) -> list[str]:
        return [e for e in self.errors if not e.startswith(allowed_prefixes)]


@pytest.fixture
def page(browser, server: ServerProcess):
    # A browser far from UTC: the as_of the operator types must still be read as UTC.
    context = browser.new_context(accept_downloads=True, timezone_id="Asia/Kolkata",
                                  viewport={"width": 1200, "height": 900})
    page = context.new_page()
    page.set_default_timeout(REPORT_TIMEOUT_MS)
    page.console_watch = ConsoleWatch(page)
    page.goto(base_url(server) + "/")
    try:
        yield page
    finally:
        context.close()


def _screenshot(page, tmp_path: Path) -> Path:
    path = tmp_path / "page.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def _table_ids(page, selector: str = "#results-table") -> list[str]:
    return page.eval_on_selector_all(f"{selector} tbody tr[data-store-id]", "rows => rows.map(r => r.dataset.storeId)")


def _trigger_and_wait(page) -> str:
    from playwright.sync_api import expect

    page.click("#trigger")
    expect(page.locator("#status")).to_have_text("Complete", timeout=REPORT_TIMEOUT_MS)
    expect(page.locator("#error")).to_be_hidden()
    assert page.eval_on_selector("#progress", "el => el.value") == 1
    expect(page.locator("#download")).to_be_visible()
    return page.locator("#report-id").inner_text().strip()


def _download(page) -> str:
    with page.expect_download() as info:
        page.click("#download")
    download = info.value
    assert download.suggested_filename.endswith(".csv")
    return Path(download.path()).read_text(encoding="utf-8")


def _check_rows(text: str, expected: dict[str, dict[str, str]]) -> None:
    lines = text.splitlines()
    assert lines[0] == HEADER
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["store_id"] for r in rows] == sorted(expected)
    for row in rows:
        want = expected[row["store_id"]]
        for column in HEADER.split(",")[1:]:
            assert float(row[column]) == pytest.approx(float(want[column]), abs=0.01), (row, column)


def test_trigger_follow_and_download_all_stores(page, server: ServerProcess, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    expect(page.locator("#health")).to_contain_text("4 stores")
    polls = sum(len((EXAMPLES / n / "store_status.csv").read_text().strip().splitlines()) - 1 for n in BROWSER_EXAMPLES)
    expect(page.locator("#health")).to_contain_text(f"{polls} polls")
    # the data's own date range: ex2's first poll to ex7's last
    expect(page.locator("#data-range")).to_have_text("Data: 2023-01-22 20:00 UTC → 2023-01-24 17:00 UTC")
    expect(page.locator("#health")).to_contain_text("last load")
    page.fill("#as-of", AS_OF_INPUT)
    expect(page.locator("#as-of-sent")).to_contain_text("2023-01-23T12:00:00Z")

    report_id = _trigger_and_wait(page)
    assert page.locator("#download").get_attribute("href") == f"/get_report?report_id={report_id}"
    expect(page.locator("#report-now")).to_have_text("2023-01-23T12:00:00Z")
    expect(page.locator("#report-rows")).to_have_text("2")

    _check_rows(_download(page), _expected_rows(["ex1", "ex2"]))

    # the recent list shows it (it refreshes when the report finishes), with its own download link
    row = page.locator(f"#recent tr[data-report-id='{report_id}']")
    expect(row).to_contain_text("Complete")
    expect(row).to_contain_text("All stores")
    expect(row.locator("a[download]")).to_have_attribute("href", f"/get_report?report_id={report_id}")

    # the stores of the report, worst week uptime first: store-2 (0 %) before store-1 (58 %)
    expect(page.locator("#results")).to_be_visible()
    expect(page.locator("#results-table tbody tr")).to_have_count(2)
    assert _table_ids(page) == ["store-2", "store-1"]
    expect(page.locator("#results-table th[aria-sort='ascending']")).to_contain_text("Uptime % (week)")
    expect(page.locator("#results-table tr[data-store-id='store-1'] td").nth(1)).to_have_text("58.00")  # 1.74 h up of 3.00 h, as the CSV rounds them
    # a click on a column sorts by it; a second click reverses
    page.click("#results-table button[data-key='store_id']")
    assert _table_ids(page) == ["store-1", "store-2"]
    page.click("#results-table button[data-key='store_id']")
    assert _table_ids(page) == ["store-2", "store-1"]
    # the filter box narrows the rows
    page.fill("#results-filter", "E-1")
    expect(page.locator("#results-table tbody tr")).to_have_count(1)
    assert _table_ids(page) == ["store-1"]
    expect(page.locator("#results-count")).to_have_text("1 of 2 stores")
    page.fill("#results-filter", "nothing")
    expect(page.locator("#results-table tbody")).to_contain_text("No store matches the filter.")

    _screenshot(page, tmp_path)
    screenshot = os.environ.get("STORE_MONITOR_SCREENSHOT")
    if screenshot:
        page.screenshot(path=screenshot, full_page=True)
    assert page.console_watch.unexpected() == []


def test_report_for_listed_stores(page, server: ServerProcess, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    page.fill("#store-ids", "store-2, no-such-store\n\n store-2 \n")
    expect(page.locator("#scope")).to_have_text("Scope: 3 stores")
    page.fill("#as-of", AS_OF_INPUT)
    report_id = _trigger_and_wait(page)
    _check_rows(_download(page), _expected_rows(["ex2"]))
    summary = _get_json(f"{base_url(server)}/reports/{report_id}")
    assert summary["store_ids"] == ["store-2", "no-such-store"] and summary["as_of"] == "2023-01-23T12:00:00Z"
    # the report's warning about the unknown id is shown, and the table has the one known store
    expect(page.locator("#warnings")).to_be_visible()
    expect(page.locator("#warning-list li")).to_have_count(1)
    expect(page.locator("#warning-list")).to_contain_text("no-such-store")
    assert _table_ids(page) == ["store-2"]
    _screenshot(page, tmp_path)
    assert page.console_watch.unexpected() == []


def test_api_errors_show_next_to_the_form(page, server: ServerProcess, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    before = _get_json(base_url(server) + "/reports?limit=200")["reports"]
    page.fill("#store-ids", "x" * 300)
    page.click("#trigger")
    expect(page.locator("#error")).to_be_visible()
    expect(page.locator("#error")).to_contain_text("store_id longer than 255 characters")

    page.fill("#store-ids", "")
    page.fill("#as-of", "1900-01-01T00:00")
    page.click("#trigger")
    expect(page.locator("#error")).to_contain_text("as_of must lie between 1970 and 2100")

    # nothing was triggered, and the page did not start following anything
    expect(page.locator("#current-empty")).to_be_visible()
    expect(page.locator("#download")).to_be_hidden()
    assert _get_json(base_url(server) + "/reports?limit=200")["reports"] == before
    _screenshot(page, tmp_path)

    # Chrome reports every HTTP error answer as a console error; only these two 400s are expected
    rejected = "Failed to load resource: the server responded with a status of 400"
    assert page.console_watch.unexpected((rejected,)) == []
    assert all(e.endswith("/trigger_report") for e in page.console_watch.errors), page.console_watch.errors


def test_range_report_and_one_store_over_a_range(page, server: ServerProcess, tmp_path: Path) -> None:
    """ex7 (SPEC 5): a range report's table, then r1's days chart and its two incidents."""
    from playwright.sync_api import expect

    expected = json.loads((EXAMPLES / "ex7" / "expected_store_r1.json").read_text())
    page.fill("#store-ids", "r1, r2")
    page.fill("#range-from", EX7_FROM.rstrip("Z"))
    page.fill("#range-to", EX7_TO.rstrip("Z"))
    _trigger_and_wait(page)
    expect(page.locator("#report-kind")).to_contain_text(f"Range {EX7_FROM}")
    # a range report's columns, worst uptime first: r2 (0 %) before r1 (84.38 %)
    expect(page.locator("#results-table tbody tr")).to_have_count(2)
    headers = page.eval_on_selector_all("#results-table thead th", "ths => ths.map(t => t.innerText.trim())")
    assert [h.upper() for h in headers] == [h.upper() for h in
                                            ["Store", "Business (h)", "Up (h)", "Down (h)", "Uptime % ▲", "Incidents"]]
    assert _table_ids(page) == ["r2", "r1"]
    expect(page.locator("#results-table tr[data-store-id='r1']")).to_contain_text("84.38")

    # a click on r1 opens the per-store view over the report's range
    page.click("#results-table tr[data-store-id='r1'] button")
    expect(page.locator("#store-result")).to_be_visible()
    assert page.input_value("#store-id") == "r1"
    expect(page.locator("#store-heading")).to_have_text(
        f"r1 · America/Chicago · {EX7_FROM[:10]} {EX7_FROM[11:16]} UTC → {EX7_TO[:10]} {EX7_TO[11:16]} UTC")
    expect(page.locator("#store-uptime")).to_have_text("84.38 %")
    expect(page.locator("#store-business")).to_have_text("16 h")
    expect(page.locator("#store-down")).to_have_text("2.5 h")
    expect(page.locator("#store-incident-count")).to_have_text("2")

    # the days chart: one bar group per local day, each with its up and down hours
    days = page.locator("#days-chart svg g.day")
    expect(days).to_have_count(len(expected["days"]))
    for index, day in enumerate(expected["days"]):
        group = days.nth(index)
        assert group.get_attribute("data-date") == day["date"]
        assert float(group.locator("rect.bar-up").get_attribute("data-hours")) == day["uptime_hours"]
        assert float(group.locator("rect.bar-down").get_attribute("data-hours")) == day["downtime_hours"]
        assert float(group.locator("rect.bar-up").get_attribute("height")) > float(
            group.locator("rect.bar-down").get_attribute("height")) > 0

    # the incidents: on the timeline (left to right, in order) and in the list
    spans = page.locator("#timeline svg rect.incident")
    expect(spans).to_have_count(2)
    assert [spans.nth(i).get_attribute("data-start") for i in range(2)] == [i["start"] for i in expected["incidents"]]
    xs = [float(spans.nth(i).get_attribute("x")) for i in range(2)]
    assert 0 < xs[0] < xs[1]
    rows = page.locator("#incidents tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("2023-01-23 21:45 UTC")
    expect(rows.nth(0)).to_contain_text("2023-01-23 23:00 UTC")
    expect(rows.nth(1)).to_contain_text("2023-01-24 15:00 UTC")
    expect(rows.nth(1).locator("td.num")).to_have_text("75")
    _screenshot(page, tmp_path)

    # typed by hand: another store and "last N hours"; an unknown store is said so
    page.fill("#store-id", "r2")
    page.fill("#store-from", "")
    page.fill("#store-to", EX7_TO.rstrip("Z"))
    page.fill("#store-last-hours", "33")
    page.press("#store-last-hours", "Enter")
    expect(page.locator("#store-heading")).to_contain_text("r2 · UTC")
    expect(page.locator("#timeline svg rect.incident")).to_have_count(1)
    expect(page.locator("#days-chart svg g.day")).to_have_count(2)
    page.fill("#store-id", "no-such-store")
    page.click("#store-show")
    expect(page.locator("#store-error")).to_be_visible()
    expect(page.locator("#store-error")).to_contain_text("Could not show store no-such-store")
    assert page.console_watch.unexpected(("Failed to load resource: the server responded with a status of 404",)) == []


def test_schedules_create_list_delete(page, server: ServerProcess, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    expect(page.locator("#schedules tbody")).to_contain_text("No schedules yet.")
    # a bad cron is refused with the server's message, and nothing is stored
    page.fill("#schedule-cron", "61 * * * *")
    page.click("#schedule-create")
    expect(page.locator("#schedule-error")).to_be_visible()
    expect(page.locator("#schedule-error")).to_contain_text("Could not create the schedule")
    page.fill("#schedule-params", "{not json")
    page.fill("#schedule-cron", "0 6 * * *")
    page.click("#schedule-create")
    expect(page.locator("#schedule-error")).to_contain_text("Parameters: not valid JSON")
    assert _get_json(base_url(server) + "/schedules")["schedules"] == []

    page.fill("#schedule-zone", "America/Chicago")
    page.fill("#schedule-params", '{"last_hours": 24}')
    page.click("#schedule-create")
    expect(page.locator("#schedule-error")).to_be_hidden()
    row = page.locator("#schedules tbody tr[data-schedule-id]")
    expect(row).to_have_count(1)
    stored = _get_json(base_url(server) + "/schedules")["schedules"]
    assert len(stored) == 1 and stored[0]["cron"] == "0 6 * * *" and stored[0]["timezone"] == "America/Chicago"
    assert row.get_attribute("data-schedule-id") == stored[0]["schedule_id"]
    expect(row).to_contain_text("America/Chicago")
    expect(row).to_contain_text("last_hours=24")
    # 06:00 in Chicago is 11:00 or 12:00 UTC
    expect(row.locator("td").nth(3)).to_contain_text(" UTC")
    assert row.locator("td").nth(3).inner_text()[11:16] in ("11:00", "12:00")
    expect(row.locator("td").nth(4)).to_have_text("—")
    expect(page.locator("#schedule-cron")).to_have_value("")
    _screenshot(page, tmp_path)

    row.locator("button", has_text="Delete").click()
    expect(page.locator("#schedules tbody")).to_contain_text("No schedules yet.")
    expect(page.locator("#schedule-status")).to_contain_text("Deleted schedule 0 6 * * *")
    assert _get_json(base_url(server) + "/schedules")["schedules"] == []
    rejected = "Failed to load resource: the server responded with a status of 400"
    assert page.console_watch.unexpected((rejected,)) == []


def _create_key(env: dict[str, str], cwd: Path, *args: str) -> str:
    """`flask --app app api-key create …` (SPEC 8): the key is alone on the last line."""
    done = subprocess.run([sys.executable, "-m", "flask", "--app", str(ROOT / "app.py"), "api-key", "create", *args],
                          cwd=cwd, env={**os.environ, **env}, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.strip().splitlines()[-1].strip()


def test_api_key_prompt(browser, tmp_path: Path) -> None:
    """AUTH_REQUIRED=true: the page asks for a key on 401, uses it, says 401/403, and forgets it."""
    from playwright.sync_api import expect

    (tmp_path / "reports").mkdir()
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}",
        "CSV_DIR": str(combine_examples(["ex1", "ex2"], tmp_path / "csv")),
        "REPORT_DIR": str(tmp_path / "reports"),
        "AUTH_REQUIRED": "true",
    }
    with ServerProcess(env, tmp_path / "server.log", name="auth-server", cwd=tmp_path) as srv:
        wait_until(lambda: srv.get("/health").json().get("polls", 0) > 0, SERVER_START_TIMEOUT, "the start-up load")
        unauthenticated = srv.get("/reports")
        assert unauthenticated.status == 401, (unauthenticated.status, unauthenticated.body[:300])
        admin = _create_key(env, tmp_path, "--role", "admin", "--name", "browser")
        owner = _create_key(env, tmp_path, "--role", "owner", "--store-id", "store-1", "--name", "owner")

        context = browser.new_context(viewport={"width": 1200, "height": 900})
        page = context.new_page()
        page.set_default_timeout(REPORT_TIMEOUT_MS)
        page.console_watch = ConsoleWatch(page)
        try:
            page.goto(base_url(srv) + "/")
            # the page's first calls answer 401: it asks for a key
            expect(page.locator("#auth")).to_be_visible()
            expect(page.locator("#auth-message")).to_contain_text("requires an API key (HTTP 401)")
            expect(page.locator("#key-state")).to_be_hidden()
            # a wrong key is refused, clearly
            page.fill("#api-key", "not-a-key")
            page.press("#api-key", "Enter")
            expect(page.locator("#auth")).to_be_visible()
            expect(page.locator("#auth-message")).to_contain_text("refused this API key (HTTP 401")

            # an owner key works for its own store, and a 403 for another store is said so
            page.fill("#api-key", owner)
            page.click("#auth-form button[type=submit]")
            expect(page.locator("#auth")).to_be_hidden()
            expect(page.locator("#key-state")).to_be_visible()
            assert page.evaluate("sessionStorage.getItem('store-monitor.api-key')") == owner
            page.fill("#store-ids", "store-2")
            page.fill("#as-of", AS_OF_INPUT)
            page.click("#trigger")
            expect(page.locator("#forbidden")).to_be_visible()
            expect(page.locator("#forbidden-text")).to_contain_text("HTTP 403")
            expect(page.locator("#error")).to_contain_text("Could not trigger the report")

            # forget it, then use the admin key: a report, its table, and a download with the key
            page.click("#forget-key")
            expect(page.locator("#key-state")).to_be_hidden()
            assert page.evaluate("sessionStorage.getItem('store-monitor.api-key')") is None
            expect(page.locator("#auth")).to_be_visible()
            page.fill("#api-key", admin)
            page.press("#api-key", "Enter")
            expect(page.locator("#auth")).to_be_hidden()
            expect(page.locator("#forbidden")).to_be_hidden()  # a new key clears the old key's 403 notice
            page.fill("#store-ids", "")
            report_id = _trigger_and_wait(page)
            assert _table_ids(page) == ["store-2", "store-1"]
            _check_rows(_download(page), _expected_rows(["ex1", "ex2"]))
            expect(page.locator(f"#recent tr[data-report-id='{report_id}']")).to_contain_text("Complete")
            _screenshot(page, tmp_path)
            refused = ("Failed to load resource: the server responded with a status of 401",
                       "Failed to load resource: the server responded with a status of 403")
            assert page.console_watch.unexpected(refused) == []
        finally:
            context.close()


def test_planned_closure_added_and_removed_on_the_store_view(page, server: ServerProcess, tmp_path: Path) -> None:
    """SPEC 9 on the page: a closure added in r1's local time (Chicago) over the Tuesday morning
    part of its outage shows on the timeline and in the list, takes 1.25 h out of business time
    and removes that incident; removing it brings the numbers back."""
    from playwright.sync_api import expect

    page.fill("#store-id", "r1")
    page.fill("#store-from", EX7_FROM.rstrip("Z"))
    page.fill("#store-to", EX7_TO.rstrip("Z"))
    page.click("#store-show")
    expect(page.locator("#store-business")).to_have_text("16 h")
    expect(page.locator("#store-closed")).to_have_text("0 h")
    expect(page.locator("#closures tbody tr.placeholder")).to_have_count(1)

    page.fill("#closure-start", "2023-01-24T09:00")
    page.fill("#closure-end", "2023-01-24T10:15")
    page.fill("#closure-reason", "inventory")
    page.click("#closure-add")
    expect(page.locator("#closure-status")).to_contain_text("2023-01-24T15:00:00Z")  # 09:00 CST
    expect(page.locator("#store-business")).to_have_text("14.75 h")
    expect(page.locator("#store-closed")).to_have_text("1.25 h")
    expect(page.locator("#store-incident-count")).to_have_text("1")
    closure = page.locator("#timeline svg rect.closure")
    expect(closure).to_have_count(1)
    assert closure.get_attribute("data-start") == "2023-01-24T15:00:00Z"
    assert closure.get_attribute("data-end") == "2023-01-24T16:15:00Z"
    rows = page.locator("#closures tbody tr[data-closure-id]")
    expect(rows).to_have_count(1)
    expect(rows.nth(0)).to_contain_text("2023-01-24 09:00")
    expect(rows.nth(0)).to_contain_text("inventory")
    _screenshot(page, tmp_path)

    # a bad closure is refused with the server's reason, nothing changes
    page.fill("#closure-start", "2023-01-24T12:00")
    page.fill("#closure-end", "2023-01-24T11:00")
    page.click("#closure-add")
    expect(page.locator("#closure-error")).to_contain_text("end must be after start")
    expect(rows).to_have_count(1)

    rows.nth(0).locator("button").click()
    expect(page.locator("#closure-status")).to_contain_text("removed")
    expect(page.locator("#store-business")).to_have_text("16 h")
    expect(page.locator("#store-incident-count")).to_have_text("2")
    expect(page.locator("#timeline svg rect.closure")).to_have_count(0)
    expect(page.locator("#closures tbody tr.placeholder")).to_have_count(1)
    refused = "Failed to load resource: the server responded with a status of 400"
    assert page.console_watch.unexpected((refused,)) == []
