"""The professional's pages (/portal/pro): a personal certificate, the registry's policy,
and a break-the-glass reason the patient reads in their history (in chromium).

`xds serve --security required` behind a TLS-terminating proxy (the tests play it: the
professional's certificate travels in the trusted header, as nginx passes it), so that the
patient's browser reaches the portal too.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
from e2e_support import TIMEOUT, feed
from security_support import INS, DevPki, make_pki, vihf
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

from cda import read_header
from pki.assertion import AuthenticationMode, Code
from pki.devca import ProfessionalCard, issue_professional
from soap.client import XdsClient
from xds_cli.demo import CLASS_CODE, SOURCE_ID, cda_bytes
from xds_cli.metadata import from_cda
from xds_cli.server import ServerProcess

HEADER = "X-SSL-Client-Cert"
AUTHOR = "801234567897"  # the author the demo CDA names, whom the patient authorised
STRANGER = "899700555555"  # a doctor the patient did not authorise
REASON = "Unconscious patient brought to the emergency room"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> DevPki:
    return make_pki(tmp_path_factory.mktemp("pro-pki"))


@pytest.fixture(scope="module")
def stranger(pki: DevPki, tmp_path_factory: pytest.TempPathFactory) -> ProfessionalCard:
    return issue_professional(
        pki.ca, tmp_path_factory.mktemp("pro-card"), professional_id=STRANGER,
        name="MARTIN Paul", structure_id=pki.hospital.structure_id,
    )  # fmt: skip


@pytest.fixture(scope="module")
def server(pki: DevPki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    args = [
        "--security", "required", "--assertion-ca", str(pki.ca.chain), "--portal-links",
        "--trusted-proxy-header", HEADER, "--trusted-proxies", "127.0.0.1",
    ]  # fmt: skip
    with ServerProcess(tmp_path_factory.mktemp("pro"), args=args) as running:
        feed(running, INS)
        own = [Code("ONESELF", "2.16.840.1.113883.5.111")]
        patient = XdsClient(
            running.url,
            assertions=lambda _p: vihf(
                pki, professional_id="PATIENT-1", roles=own,
                authentication_mode=AuthenticationMode.DIRECT,
            ),
        )  # fmt: skip
        assert patient.records.open(INS).success
        assert patient.records.grant(INS, AUTHOR).success
        author = XdsClient(
            running.url,
            assertions=lambda _p: vihf(
                pki, professional_id=AUTHOR, authentication_mode=AuthenticationMode.DIRECT
            ),
        )
        metadata = from_cda(read_header(cda_bytes()), class_code=CLASS_CODE, source_id=SOURCE_ID)
        answer = author.provide_and_register(
            metadata, {metadata.documents[0].entry_uuid: cda_bytes()}
        )
        assert answer.status.name == "SUCCESS", answer.errors
        yield running


def card(professional: ProfessionalCard) -> dict[str, str]:
    return {HEADER: quote(professional.cert.read_text())}


def test_without_a_personal_certificate_the_pages_are_refused(
    server: ServerProcess, pki: DevPki
) -> None:
    assert requests.get(f"{server.url}/portal/pro", timeout=TIMEOUT).status_code == 403
    organisation = {HEADER: quote(pki.hospital.tls_cert.read_text())}  # names no person
    refused = requests.get(f"{server.url}/portal/pro", headers=organisation, timeout=TIMEOUT)
    assert refused.status_code == 403


def test_a_refusal_in_words_then_the_glass_broken_with_a_reason_the_patient_reads(
    server: ServerProcess, stranger: ProfessionalCard, tmp_path: Path
) -> None:
    pro = requests.Session()
    pro.headers.update(card(stranger))
    page = pro.get(f"{server.url}/portal/pro", timeout=TIMEOUT)
    assert page.status_code == 200 and "MARTIN Paul" in page.text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf is not None
    form = {"csrf": csrf.group(1), "patient": INS, "purpose": "normal", "reason": ""}

    normal = pro.post(f"{server.url}/portal/pro/search", data=form, timeout=TIMEOUT)
    assert normal.status_code == 403 and 'id="problem"' in normal.text  # not authorised
    assert "NOTE DE VACCINATION" not in normal.text

    for wrong, words in (
        ({"patient": "not an INS"}, "id^^^&amp;OID&amp;ISO"),
        ({"patient": ""}, "patient&#39;s identifier"),
        ({"purpose": "curiosity"}, "how you access"),
    ):
        refused = pro.post(
            f"{server.url}/portal/pro/search", data={**form, **wrong}, timeout=TIMEOUT
        )
        assert refused.status_code == 403 and words in refused.text, refused.text

    terse = pro.post(
        f"{server.url}/portal/pro/search",
        data={**form, "purpose": "bris_de_glace"},
        timeout=TIMEOUT,
    )
    assert terse.status_code == 403 and "reason" in terse.text  # an emergency needs its reason

    emergency = {**form, "purpose": "bris_de_glace", "reason": REASON}
    found = pro.post(f"{server.url}/portal/pro/search", data=emergency, timeout=TIMEOUT)
    assert found.status_code == 200 and "NOTE DE VACCINATION" in found.text
    entry = re.search(r'name="document" value="([^"]+)"', found.text)
    assert entry is not None
    opened = pro.post(
        f"{server.url}/portal/pro/open",
        data={**emergency, "document": entry.group(1)},
        timeout=TIMEOUT,
    )
    assert opened.status_code == 200 and "NOTE DE VACCINATION" in opened.text
    assert "default-src 'none'" in opened.headers["Content-Security-Policy"]

    no_token = pro.post(
        f"{server.url}/portal/pro/search", data={**emergency, "csrf": "forged"}, timeout=TIMEOUT
    )
    assert no_token.status_code == 403 and "NOTE DE VACCINATION" not in no_token.text

    options = Options()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage"):
        options.add_argument(flag)
    browser = webdriver.Chrome(
        service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver"), options=options
    )
    try:
        link = subprocess.run(
            [sys.executable, "-m", "xds_cli.main", "portal", "link", INS,
             "--data", str(server.data), "--url", server.url],
            capture_output=True, text=True, timeout=60, check=True,
        ).stdout.strip()  # fmt: skip
        browser.get(link)
        browser.get(f"{server.url}/portal/patient/history?lang=en")
        history = browser.find_element(By.CSS_SELECTOR, "table.history").text
        shots = __import__("os").environ.get("XDS_CONSOLE_SCREENSHOTS")
        if shots:
            browser.save_screenshot(str(Path(shots) / "portal-emergency-history.png"))
    finally:
        browser.quit()
    assert "MARTIN Paul" in history and "in an emergency" in history
    assert REASON in history  # the professional's own words
