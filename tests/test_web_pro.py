"""The professional's pages (/portal/pro) over mutual TLS: the professional's card presented by
chromium, the registry's policy, and a break-the-glass reason the patient reads in their
history, the patient's chromium holding no certificate at all.

`xds serve --tls --security required --portal-links`: the patient portal is on, so the
handshake asks for a certificate without requiring one, and everything but the patient's
pages still refuses a connection without one (tested here too).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from a11y_support import follow, serious_violations
from browser_support import chromium
from e2e_support import TIMEOUT, feed, pnr_envelope, submission
from security_support import INS, DevPki, make_pki, vihf
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from cda import read_header
from pki.assertion import AuthenticationMode, Code
from pki.devca import ProfessionalCard, issue_professional
from pki.professional import Professional
from registry import create_engine_for, migrate
from soap.app import REFUSED_WITHOUT_CERTIFICATE
from soap.client import XdsClient
from soap.settings import SoapSettings
from web.pro import PRO_COOKIE, ProPages
from web.sessions import Sessions
from xds_cli.demo import CLASS_CODE, SOURCE_ID, cda_bytes
from xds_cli.metadata import from_cda
from xds_cli.server import ServerProcess

AUTHOR = "801234567897"  # the author the demo CDA names, whom the patient authorised
STRANGER = "899700555555"  # a doctor the patient did not authorise
REASON = "Unconscious patient brought to the emergency room"
SHOTS = os.environ.get("XDS_CONSOLE_SCREENSHOTS")


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
        "--tls", "--tls-cert", str(pki.server.cert), "--tls-key", str(pki.server.key),
        "--tls-ca", str(pki.ca.chain), "--tls-crl", str(pki.ca.crl),
        "--security", "required", "--portal-links",
    ]  # fmt: skip
    hospital = (pki.hospital.tls_cert, pki.hospital.tls_key)
    with ServerProcess(
        tmp_path_factory.mktemp("pro"), args=args, ca=pki.ca.chain, client_cert=hospital
    ) as running:
        feed(running, INS)

        def as_(professional_id: str, roles: list[Code] | None = None) -> XdsClient:
            extra = {"roles": roles} if roles else {}
            return XdsClient(
                running.url, cert=hospital, verify=pki.ca.chain,
                assertions=lambda _p: vihf(
                    pki, professional_id=professional_id,
                    authentication_mode=AuthenticationMode.DIRECT, **extra,
                ),
            )  # fmt: skip

        patient = as_("PATIENT-1", [Code("ONESELF", "2.16.840.1.113883.5.111")])
        assert patient.records.open(INS).success
        assert patient.records.grant(INS, AUTHOR).success
        metadata = from_cda(read_header(cda_bytes()), class_code=CLASS_CODE, source_id=SOURCE_ID)
        answer = as_(AUTHOR).provide_and_register(
            metadata, {metadata.documents[0].entry_uuid: cda_bytes()}
        )
        assert answer.status.name == "SUCCESS", answer.errors
        yield running


def with_card(pki: DevPki, professional: ProfessionalCard) -> requests.Session:
    session = requests.Session()
    session.cert = (str(professional.cert), str(professional.key))
    session.verify = str(pki.ca.chain)
    session.trust_env = False  # else REQUESTS_CA_BUNDLE would replace `verify`
    return session


def shot(browser: WebDriver, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        browser.save_screenshot(str(Path(SHOTS) / f"portal-{name}.png"))


def test_without_a_personal_certificate_the_pages_are_refused(
    server: ServerProcess, pki: DevPki
) -> None:
    ca = str(pki.ca.chain)
    assert requests.get(f"{server.url}/portal/pro", verify=ca, timeout=TIMEOUT).status_code == 403
    organisation = (str(pki.hospital.tls_cert), str(pki.hospital.tls_key))  # names no person
    refused = requests.get(
        f"{server.url}/portal/pro", cert=organisation, verify=ca, timeout=TIMEOUT
    )
    assert refused.status_code == 403


def test_outside_the_patients_pages_a_certificate_is_still_required(
    server: ServerProcess, pki: DevPki
) -> None:
    ca = str(pki.ca.chain)
    envelope = pnr_envelope(submission(INS))
    soap = requests.post(
        f"{server.url}/xds/repository",
        data=envelope,
        headers={"Content-Type": "application/soap+xml; charset=UTF-8"},
        verify=ca,
        timeout=TIMEOUT,
    )
    assert soap.status_code == 403 and "env:Sender" in soap.text
    assert REFUSED_WITHOUT_CERTIFICATE in soap.text
    for path in ("/console", "/fhir/DocumentReference?patient.identifier=x", "/xds/registry?wsdl"):
        refused = requests.get(f"{server.url}{path}", verify=ca, timeout=TIMEOUT)
        assert refused.status_code == 403, path
        assert REFUSED_WITHOUT_CERTIFICATE in refused.text, path
    for path, status in (("/portal/login", 200), ("/portal/%70ro", 403), ("//portal//pro/", 403)):
        answer = requests.get(f"{server.url}{path}", verify=ca, timeout=TIMEOUT)
        assert answer.status_code == status, path

    foreign = (str(pki.stranger.tls_cert), str(pki.stranger.tls_key))  # another CA's
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"{server.url}/portal/login", cert=foreign, verify=ca, timeout=TIMEOUT)
    revoked = (str(pki.revoked.tls_cert), str(pki.revoked.tls_key))
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"{server.url}/portal/login", cert=revoked, verify=ca, timeout=TIMEOUT)


def test_wrong_inputs_and_a_missing_token_are_refused_in_words(
    server: ServerProcess, pki: DevPki, stranger: ProfessionalCard
) -> None:
    pro = with_card(pki, stranger)
    page = pro.get(f"{server.url}/portal/pro", timeout=TIMEOUT)
    assert page.status_code == 200 and "MARTIN Paul" in page.text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf is not None
    form = {"csrf": csrf.group(1), "patient": INS, "purpose": "normal", "reason": ""}

    for wrong, words in (
        ({"patient": "not an INS"}, "id^^^&amp;OID&amp;ISO"),
        ({"patient": ""}, "patient&#39;s identifier"),
        ({"purpose": "curiosity"}, "how you access"),
        ({"purpose": "bris_de_glace"}, "reason"),  # an emergency needs its reason
    ):
        refused = pro.post(
            f"{server.url}/portal/pro/search", data={**form, **wrong}, timeout=TIMEOUT
        )
        assert refused.status_code == 403 and words in refused.text, refused.text

    emergency = {**form, "purpose": "bris_de_glace", "reason": REASON, "csrf": "forged"}
    no_token = pro.post(f"{server.url}/portal/pro/search", data=emergency, timeout=TIMEOUT)
    assert no_token.status_code == 403 and "NOTE DE VACCINATION" not in no_token.text


def test_with_the_card_in_chromium_a_refusal_then_the_glass_broken_the_patient_reads_why(
    server: ServerProcess, pki: DevPki, stranger: ProfessionalCard, tmp_path: Path
) -> None:
    browser = chromium(
        home=tmp_path / "doctor", trust=pki.ca.chain, card=stranger, origin=server.url
    )
    try:
        browser.get(f"{server.url}/portal/pro?lang=en")
        assert "MARTIN Paul" in browser.find_element(By.TAG_NAME, "main").text
        assert "professional access" in browser.find_element(By.CLASS_NAME, "brand").text
        assert serious_violations(browser) == []
        browser.find_element(By.ID, "patient").send_keys(INS)
        shot(browser, "pro-search")
        follow(browser, browser.find_element(By.ID, "search"))
        problem = browser.find_element(By.ID, "problem").text  # not authorised, in words
        assert problem and "NOTE DE VACCINATION" not in browser.page_source
        shot(browser, "pro-refused")

        browser.find_element(By.CSS_SELECTOR, "input[name=purpose][value=bris_de_glace]").click()
        browser.find_element(By.ID, "reason").send_keys(REASON)
        follow(browser, browser.find_element(By.ID, "search"))
        rows = browser.find_elements(By.CSS_SELECTOR, "table.documents tbody tr")
        assert rows and "NOTE DE VACCINATION" in rows[0].text
        assert serious_violations(browser) == []
        shot(browser, "pro-documents")
        follow(browser, rows[0].find_element(By.CSS_SELECTOR, "button.open"))
        assert "NOTE DE VACCINATION" in browser.find_element(By.TAG_NAME, "body").text
        assert browser.execute_script("return document.scripts.length") == 0
        shot(browser, "pro-document")
    finally:
        browser.quit()

    link = subprocess.run(
        [sys.executable, "-m", "xds_cli.main", "portal", "link", INS,
         "--data", str(server.data), "--url", server.url],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout.strip()  # fmt: skip
    patient = chromium(home=tmp_path / "patient", trust=pki.ca.chain)  # no card
    try:
        patient.get(link)
        patient.get(f"{server.url}/portal/patient/history?lang=en")
        history = patient.find_element(By.CSS_SELECTOR, "table.history").text
        shot(patient, "emergency-history")
    finally:
        patient.quit()
    assert "MARTIN Paul" in history and "in an emergency" in history
    assert REASON in history  # the professional's own words


def test_the_search_takes_the_iti18_criteria_and_refuses_wrong_ones_in_words(
    server: ServerProcess, pki: DevPki, stranger: ProfessionalCard
) -> None:
    pro = with_card(pki, stranger)
    page = pro.get(f"{server.url}/portal/pro?lang=en", timeout=TIMEOUT)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf is not None and "Note de vaccination" in page.text  # the type list
    emergency = {"csrf": csrf.group(1), "patient": INS, "purpose": "bris_de_glace"}
    emergency["reason"] = REASON
    vaccination, consultation = "87273-9|2.16.840.1.113883.6.1", "11488-4|2.16.840.1.113883.6.1"

    def found(**criteria: str) -> bool:
        answer = pro.post(
            f"{server.url}/portal/pro/search", data={**emergency, **criteria}, timeout=TIMEOUT
        )
        assert answer.status_code == 200, answer.text
        return "NOTE DE VACCINATION" in answer.text

    assert found(type=vaccination) and not found(type=consultation)
    assert found(created_from="2021-04-09", created_to="2021-04-09")  # the day it was made
    assert not found(created_to="2021-04-08") and not found(created_from="2021-04-10")
    assert found(author="MULLER") and not found(author="DUPONT")
    assert found(author="100%_^") is False  # wildcards are the page's, not the user's
    assert found(older="yes")

    for wrong, words in (
        ({"type": "00000-0|1.2.3"}, "document type in the list"),
        ({"created_from": "09/04/2021"}, "YYYY-MM-DD"),
        ({"created_from": "2021-04-10", "created_to": "2021-04-09"}, "ends before it starts"),
    ):
        refused = pro.post(
            f"{server.url}/portal/pro/search", data={**emergency, **wrong}, timeout=TIMEOUT
        )
        assert refused.status_code == 403 and words in refused.text, wrong
        assert "NOTE DE VACCINATION" not in refused.text


@pytest.mark.parametrize(
    ("secure_cookie", "scheme", "secure"),
    [(False, "http", False), (False, "https", True), (True, "http", True)],
)
def test_the_session_cookie_is_secure_whenever_clients_come_over_https(
    tmp_path: Path, secure_cookie: bool, scheme: str, secure: bool
) -> None:
    """`secure_cookie`: behind a TLS-terminating proxy the server itself sees plain HTTP."""
    engine = create_engine_for(f"sqlite:///{tmp_path / 'sessions.sqlite'}")
    migrate(engine)
    pages = ProPages(None, None, Sessions(engine), SoapSettings(), secure_cookie=secure_cookie)
    who = Professional("810000000001", "MARTIN Claire", "10", None)

    _session, cookie = pages.session({"wsgi.url_scheme": scheme}, who)

    assert cookie is not None and cookie.startswith(f"{PRO_COOKIE}=")
    assert ("; Secure" in cookie) is secure
    engine.dispose()
