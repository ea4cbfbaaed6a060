"""The console driven in a real browser: Debian's chromium, through its chromedriver.

`xds serve` on the embedded default (SQLite, capture on); an ITI-41 sent with the project's
client shows in the message log and opens; a broken message pasted into the validator
shows its XDS error codes; a CDA document opens rendered, its script inert. Screenshots
go to $XDS_CONSOLE_SCREENSHOTS when it is set (docs/ holds the committed ones).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from a11y_support import follow, serious_violations
from browser_support import chromium
from conftest import DATA
from e2e_support import feed, submission
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from cda import read_header
from soap.client import XdsClient
from xds_cli.demo import CLASS_CODE, SOURCE_ID, cda_bytes
from xds_cli.metadata import from_cda
from xds_cli.server import ServerProcess

SHOTS = os.environ.get("XDS_CONSOLE_SCREENSHOTS")
TIMEOUT = 20
SCRIPT = b"&lt;script&gt;document.title='pwned'&lt;/script&gt;"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with ServerProcess(tmp_path_factory.mktemp("console")) as running:
        feed(running)
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    driver = chromium()
    try:
        yield driver
    finally:
        driver.quit()


def shot(browser: WebDriver, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        browser.save_screenshot(str(Path(SHOTS) / f"console-{name}.png"))


def test_an_iti41_shows_in_the_log_and_opens(server: ServerProcess, browser: WebDriver) -> None:
    metadata = submission(mime_type="text/plain", title="Seen in the console")
    client = XdsClient(server.url, timeout=(5, TIMEOUT))
    answer = client.provide_and_register(metadata, {metadata.documents[0].entry_uuid: b"hello"})
    assert answer.status.name == "SUCCESS"
    unique_id = metadata.documents[0].unique_id

    browser.get(f"{server.url}/console/messages?transaction=ITI-41")
    shot(browser, "messages")
    rows = browser.find_elements(By.CSS_SELECTOR, "table.log tbody tr")
    assert rows and "ITI-41" in rows[0].text and "Success" in rows[0].text
    follow(browser, rows[0].find_element(By.LINK_TEXT, "ITI-41"))

    assert browser.find_element(By.ID, "outcome").text == "Success"
    request = browser.find_element(By.ID, "request").text
    assert unique_id in request  # the request's uniqueId, in the pretty-printed metadata
    response = browser.find_element(By.ID, "response").text
    assert "ResponseStatusType:Success" in response
    assert "text/plain" in request  # the MTOM attachment, summarised
    shot(browser, "message")


def test_a_broken_message_pasted_shows_its_error_codes(
    server: ServerProcess, browser: WebDriver
) -> None:
    broken = (DATA / "rich_submission.xml").read_text().replace('"text/xml"', '"not a mime"', 1)
    browser.get(f"{server.url}/console/validate")
    area = browser.find_element(By.ID, "message")
    browser.execute_script("arguments[0].value = arguments[1];", area, broken)
    shot(browser, "validate")
    follow(browser, browser.find_element(By.ID, "check"))

    assert browser.find_element(By.ID, "status").text == "FAILED"
    codes = {c.text for c in browser.find_elements(By.CSS_SELECTOR, "table.findings td.code")}
    assert codes == {"XDSRegistryMetadataError"}
    assert "Document01" in browser.find_element(By.CSS_SELECTOR, "table.findings").text
    shot(browser, "report")


def test_a_cda_opens_rendered_and_inert(server: ServerProcess, browser: WebDriver) -> None:
    data = cda_bytes().replace(b"<text>", b"<text><paragraph>" + SCRIPT + b"</paragraph>", 1)
    header = read_header(data)
    feed(server, header.patient_id)
    metadata = from_cda(header, class_code=CLASS_CODE, source_id=SOURCE_ID)
    client = XdsClient(server.url, timeout=(5, TIMEOUT))
    answer = client.provide_and_register(metadata, {metadata.documents[0].entry_uuid: data})
    assert answer.status.name == "SUCCESS", answer.errors

    browser.get(f"{server.url}/console/patients")
    shot(browser, "patients")
    follow(browser, browser.find_element(By.PARTIAL_LINK_TEXT, header.patient_id.split("^")[0]))
    shot(browser, "patient")
    follow(browser, browser.find_element(By.LINK_TEXT, header.title))
    history = browser.find_element(By.CSS_SELECTOR, "table.history").text
    assert "ITI-42" in history  # its registration, from the audit trail
    shot(browser, "document")
    view = browser.find_element(By.ID, "open-document").get_attribute("href")
    assert view is not None
    browser.get(view)

    assert header.title in browser.find_element(By.TAG_NAME, "h1").text
    assert (
        "<script>document.title='pwned'</script>" in browser.find_element(By.TAG_NAME, "body").text
    )
    assert browser.title != "pwned"  # shown as text, never run
    assert browser.execute_script("return document.scripts.length") == 0
    headers = requests.get(view, timeout=TIMEOUT).headers
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    shot(browser, "cda")


def test_the_endpoints_page_and_the_audit_trail(server: ServerProcess, browser: WebDriver) -> None:
    browser.get(f"{server.url}/console/endpoints")
    text = browser.find_element(By.CSS_SELECTOR, "table.endpoints").text
    assert f"{server.url}/xds/registry" in text and "repositoryUniqueId" in text
    assert f"127.0.0.1:{server.mllp_port}" in text
    shot(browser, "endpoints")

    browser.get(f"{server.url}/console/messages?transaction=ITI-8")
    feeds = browser.find_elements(By.CSS_SELECTOR, "table.log tbody tr")
    assert feeds and "hl7v2" in feeds[-1].text and "Success" in feeds[-1].text
    follow(browser, feeds[-1].find_element(By.LINK_TEXT, "ITI-8"))
    assert "MSH|" in browser.find_element(By.ID, "request").text
    assert "MSA|AA" in browser.find_element(By.ID, "response").text

    browser.get(f"{server.url}/console/audit?transaction=console:ViewMessage")
    rows = browser.find_elements(By.CSS_SELECTOR, "tbody tr")
    assert rows, "viewing a captured message leaves an audit event"
    shot(browser, "audit")


def test_from_behind_a_proxy_the_console_is_refused(server: ServerProcess) -> None:
    relayed = requests.get(
        f"{server.url}/console/messages",
        headers={"X-Forwarded-For": "203.0.113.9"},
        timeout=TIMEOUT,
    )
    assert relayed.status_code == 403
    assert "ITI-41" not in relayed.text


def test_with_capture_off_no_body_is_stored(tmp_path: Path) -> None:
    with ServerProcess(tmp_path / "off", args=["--capture", "off"]) as running:
        feed(running)
        metadata = submission(mime_type="text/plain", title="Not kept")
        client = XdsClient(running.url, timeout=(5, TIMEOUT))
        client.provide_and_register(metadata, {metadata.documents[0].entry_uuid: b"secret"})
        page = requests.get(f"{running.url}/console/messages", timeout=TIMEOUT).text

    assert "capture off" in page and "ITI-41" not in page
    from sqlalchemy import func, select

    from registry import create_engine_for
    from registry.exchanges_schema import exchanges

    engine = create_engine_for(f"sqlite:///{tmp_path / 'off' / 'registry.sqlite'}")
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(exchanges)).scalar_one() == 0
    engine.dispose()


@pytest.mark.parametrize(
    "page",
    ["", "messages", "messages/1", "validate", "patients", "audit", "endpoints"],
)
def test_the_console_pages_pass_an_accessibility_check(
    server: ServerProcess, browser: WebDriver, page: str
) -> None:
    browser.set_script_timeout(TIMEOUT)
    browser.get(f"{server.url}/console/{page}")
    assert serious_violations(browser) == []
