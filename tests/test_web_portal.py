"""The patient's pages (/portal/patient) in Debian's chromium, on the registry's policy.

`xds serve --security required` (signed VIHFs on every SOAP request) with `--portal-links`:
the patient opens the record and authorises two doctors over SOAP; a doctor submits a
document; the patient logs in with `xds portal link`, hides it from professionals; the
colleague's ITI-18 no longer finds it while its author's still does; the patient reads
the colleague's access in the history. Then what must be refused is: a forged cookie, a
form without its CSRF token, another patient's document.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from a11y_support import follow, serious_violations
from browser_support import chromium
from e2e_support import TIMEOUT, feed
from security_support import INS, OTHER_INS, DevPki, make_pki, vihf
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from cda import read_header
from ebrim.storedquery import FindDocumentsQuery, StoredQueryRequest
from ebrim.vocabulary import AvailabilityStatus
from pki.assertion import AuthenticationMode, Code
from soap.client import XdsClient
from xds_cli.demo import CLASS_CODE, SOURCE_ID, cda_bytes
from xds_cli.metadata import from_cda
from xds_cli.server import ServerProcess

AUTHOR = "801234567897"  # the author the demo CDA names
COLLEAGUE = "899700777777"
DIRECT = AuthenticationMode.DIRECT
SHOTS = __import__("os").environ.get("XDS_CONSOLE_SCREENSHOTS")


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> DevPki:
    return make_pki(tmp_path_factory.mktemp("portal-pki"))


def client(server: ServerProcess, pki: DevPki, professional: str, **changes) -> XdsClient:
    signed = lambda _patient: vihf(  # noqa: E731
        pki, professional_id=professional, authentication_mode=DIRECT, **changes
    )
    return XdsClient(server.url, assertions=signed, timeout=(5, TIMEOUT))


@pytest.fixture(scope="module")
def server(pki: DevPki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    args = ["--security", "required", "--assertion-ca", str(pki.ca.chain), "--portal-links"]
    with ServerProcess(tmp_path_factory.mktemp("portal"), args=args) as running:
        feed(running, INS)
        feed(running, OTHER_INS)
        own = [Code("ONESELF", "2.16.840.1.113883.5.111")]
        patient = client(running, pki, "PATIENT-1", roles=own)
        assert patient.records.open(INS).success
        assert patient.records.grant(INS, AUTHOR).success
        assert patient.records.grant(INS, COLLEAGUE).success
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    driver = chromium(size="1400,900")
    try:
        yield driver
    finally:
        driver.quit()


def login_link(server: ServerProcess, patient: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "xds_cli.main", "portal", "link", patient,
         "--data", str(server.data), "--url", server.url],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def found_by(server: ServerProcess, pki: DevPki, professional: str) -> set[str]:
    query = FindDocumentsQuery(patient_id=INS, statuses=(AvailabilityStatus.APPROVED.value,))
    result = client(server, pki, professional).query(StoredQueryRequest(query))
    assert result.response.status.name == "SUCCESS", result.response.errors
    return {d.unique_id or "" for d in result.metadata.documents}


def table(browser: WebDriver, server: ServerProcess, css: str) -> str:
    """The text of the element `css`; when it is missing, the page and the server's log say why."""
    found = browser.find_elements(By.CSS_SELECTOR, css)
    page, log = browser.page_source[-1500:], server.log()[-3000:]
    assert found, f"{css} missing at {browser.current_url}:\n{page}\n{log}"
    return str(found[0].text)


def shot(browser: WebDriver, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        browser.save_screenshot(str(Path(SHOTS) / f"portal-{name}.png"))


@pytest.fixture(scope="module")
def submitted(server: ServerProcess, pki: DevPki) -> str:
    """A document of the patient, submitted by its author over ITI-41."""
    header = read_header(cda_bytes())
    metadata = from_cda(header, class_code=CLASS_CODE, source_id=SOURCE_ID)
    answer = client(server, pki, AUTHOR).provide_and_register(
        metadata, {metadata.documents[0].entry_uuid: cda_bytes()}
    )
    assert answer.status.name == "SUCCESS", answer.errors
    return metadata.documents[0].unique_id or ""


def test_the_patient_hides_a_document_and_sees_who_looked(
    server: ServerProcess, pki: DevPki, browser: WebDriver, submitted: str
) -> None:
    assert submitted in found_by(server, pki, COLLEAGUE)

    browser.get(login_link(server, INS))
    assert browser.current_url.endswith("/portal/patient")  # the token left the address bar
    assert "token" not in browser.current_url
    browser.get(f"{server.url}/portal/patient?lang=en")  # French first; these checks read English
    shot(browser, "documents")
    title = read_header(cda_bytes()).title
    row = browser.find_element(By.LINK_TEXT, title).find_element(By.XPATH, "./ancestor::tr")
    follow(browser, row.find_element(By.CSS_SELECTOR, "button.mask"), watched=row)

    assert (
        "hidden from professionals" in browser.find_element(By.CSS_SELECTOR, "table.documents").text
    )
    assert submitted not in found_by(server, pki, COLLEAGUE)  # ITI-18 over SOAP, the policy's
    assert submitted in found_by(server, pki, AUTHOR)  # the author still sees it

    browser.get(f"{server.url}/portal/patient/history")
    history = table(browser, server, "table.history")
    assert "looked for documents in your record" in history
    assert "You changed a document" in history
    assert "You looked for" not in history  # the patient's own reading is not an access
    shot(browser, "history")

    browser.get(f"{server.url}/portal/patient")
    follow(browser, browser.find_element(By.CSS_SELECTOR, "button.unmask"))
    assert submitted in found_by(server, pki, COLLEAGUE)


def test_the_patient_opens_a_document_rendered(
    server: ServerProcess, browser: WebDriver, submitted: str
) -> None:
    browser.get(login_link(server, INS))
    follow(browser, browser.find_element(By.CSS_SELECTOR, "table.documents tbody a"))
    assert read_header(cda_bytes()).title in browser.find_element(By.TAG_NAME, "h1").text
    assert browser.execute_script("return document.scripts.length") == 0


def test_what_must_be_refused(server: ServerProcess, submitted: str) -> None:
    forged = requests.get(
        f"{server.url}/portal/patient", cookies={"xds_portal": "forged"}, timeout=TIMEOUT
    )
    assert forged.status_code == 401 and "Mes documents" not in forged.text

    link = login_link(server, INS)
    session = requests.Session()
    landed = session.get(link, timeout=TIMEOUT)
    assert landed.status_code == 200 and "Mes documents" in landed.text  # French first
    assert session.get(link, timeout=TIMEOUT).status_code == 403  # a link opens one session
    cookie = next(c for c in session.cookies if c.name == "xds_portal")
    assert cookie.has_nonstandard_attr("HttpOnly") or "HttpOnly" in str(cookie._rest)
    entry = re.search(r"/portal/patient/documents/([0-9a-f-]{36})\"", landed.text)
    assert entry is not None
    document = entry.group(1)

    no_csrf = session.post(
        f"{server.url}/portal/patient/documents/{document}/mask", timeout=TIMEOUT
    )
    assert no_csrf.status_code == 403

    other = requests.Session()
    other.get(login_link(server, OTHER_INS), timeout=TIMEOUT)
    foreign = other.get(f"{server.url}/portal/patient/documents/{document}", timeout=TIMEOUT)
    assert foreign.status_code == 404 and "cannot" not in foreign.text.lower().replace(
        "no such document", ""
    )
    csrf = re.search(r'name="csrf" value="([^"]+)"', other.get(f"{server.url}/portal/patient").text)
    assert csrf is not None
    masked = other.post(
        f"{server.url}/portal/patient/documents/{document}/mask",
        data={"csrf": csrf.group(1)},
        timeout=TIMEOUT,
        allow_redirects=False,
    )
    assert masked.status_code == 404  # another patient's document: not theirs to change


def test_links_are_off_unless_asked(tmp_path: Path) -> None:
    with ServerProcess(tmp_path / "nolinks") as running:
        feed(running, INS)
        link = login_link(running, INS)
        answer = requests.get(link, timeout=TIMEOUT)
    assert answer.status_code == 403 and "désactivés" in answer.text


def test_the_patient_blocks_a_professional_who_is_then_refused(
    server: ServerProcess, pki: DevPki, browser: WebDriver, submitted: str
) -> None:
    browser.get(login_link(server, INS))
    browser.get(f"{server.url}/portal/patient/record?lang=en")
    assert COLLEAGUE in table(browser, server, "table.authorisations")
    browser.find_element(By.ID, "block-who").send_keys(COLLEAGUE)
    follow(browser, browser.find_element(By.ID, "block"))
    assert COLLEAGUE in browser.find_element(By.CSS_SELECTOR, "ul.blocked").text
    shot(browser, "record")

    query = FindDocumentsQuery(patient_id=INS, statuses=(AvailabilityStatus.APPROVED.value,))
    refused = client(server, pki, COLLEAGUE).query(StoredQueryRequest(query))
    assert refused.response.status.name == "FAILURE"
    assert refused.response.errors[0].code.value == "LocalPolicyRestrictionError"
    assert submitted in found_by(server, pki, AUTHOR)

    follow(browser, browser.find_element(By.CSS_SELECTOR, "ul.blocked button"))
    assert submitted in found_by(server, pki, COLLEAGUE)


@pytest.mark.parametrize("page", ["patient", "patient/history", "patient/record"])
def test_the_patient_pages_pass_an_accessibility_check(
    server: ServerProcess, browser: WebDriver, submitted: str, page: str
) -> None:
    browser.set_script_timeout(TIMEOUT)
    browser.get(login_link(server, INS))
    browser.get(f"{server.url}/portal/{page}")
    assert serious_violations(browser) == [], server.log()[-4000:]


def test_french_first_english_on_request(server: ServerProcess, submitted: str) -> None:
    visitor = requests.Session()
    french = visitor.get(login_link(server, INS), timeout=TIMEOUT)
    assert '<html lang="fr">' in french.text and "Masquer aux professionnels" in french.text
    english = visitor.get(f"{server.url}/portal/patient?lang=en", timeout=TIMEOUT)
    assert '<html lang="en">' in english.text and "Hide from professionals" in english.text
    kept = visitor.get(f"{server.url}/portal/patient/history", timeout=TIMEOUT)
    assert "Who opened my record" in kept.text  # the choice is kept


def test_every_text_of_the_portal_has_its_french() -> None:
    from web.i18n import FRENCH
    from web.portal import _WORDS
    from web.pro import PURPOSES

    folder = Path(__file__).parent.parent / "web" / "templates"
    texts = set(_WORDS.values()) | set(PURPOSES.values())
    for template in [*folder.glob("portal_*.html"), *folder.glob("pro_*.html")]:
        source = template.read_text(encoding="utf-8")
        texts |= set(re.findall(r"""(?<![\w.])t\(\"([^"]+)\"\)""", source))
        texts |= set(re.findall(r"""(?<![\w.])t\('([^']+)'\)""", source))  # not .get('…')
    assert texts and not texts - set(FRENCH)


def test_a_legal_representative_acts_for_the_patient_within_the_policy(
    server: ServerProcess, pki: DevPki, browser: WebDriver, submitted: str
) -> None:
    """A document the author hid from legal representatives (INVISIBLE_REPRESENTANTS_LEGAUX)
    shows to the patient and not to their representative, who otherwise acts for them."""
    original = b'<id root="1.2.250.1.213.1.1.1.46.2023.1.1"/>'
    data = (
        cda_bytes()
        .replace(original, original.replace(b'"/>', b'" extension="REP-1"/>'))
        .replace(b"<title>NOTE DE VACCINATION</title>", b"<title>NOTE DE VACCINATION (2)</title>")
    )
    metadata = from_cda(
        read_header(data), class_code=CLASS_CODE, source_id=SOURCE_ID,
        masks=("INVISIBLE_REPRESENTANTS_LEGAUX",),
    )  # fmt: skip
    answer = client(server, pki, AUTHOR).provide_and_register(
        metadata, {metadata.documents[0].entry_uuid: data}
    )
    assert answer.status.name == "SUCCESS", answer.errors

    def rows_seen(link: str) -> int:
        browser.get(link)
        browser.get(f"{server.url}/portal/patient?lang=en")
        return len(browser.find_elements(By.CSS_SELECTOR, "table.documents tbody tr"))

    as_patient = rows_seen(login_link(server, INS))
    done = subprocess.run(
        [sys.executable, "-m", "xds_cli.main", "portal", "link", INS, "--representative",
         "PARENT-1", "--data", str(server.data), "--url", server.url],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    as_representative = rows_seen(done.stdout.strip())
    assert as_representative == as_patient - 1
    banner = browser.find_element(By.ID, "acting-for").text
    assert "legal representative" in banner and "PARENT-1" in banner


def test_the_patient_opposes_emergency_access_and_withdraws_an_authorisation(
    server: ServerProcess, pki: DevPki, submitted: str
) -> None:
    """Through the page's forms (with their CSRF token), each change is the SOAP one: the
    policy then refuses what the patient refused; a block without its professional is a
    refusal in words."""
    from pki.assertion import PurposeOfUse

    stranger = "899700555555"
    visitor = requests.Session()
    visitor.get(login_link(server, INS), timeout=TIMEOUT)
    page = visitor.get(f"{server.url}/portal/patient/record?lang=en", timeout=TIMEOUT).text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf is not None
    token = csrf.group(1)
    query = FindDocumentsQuery(patient_id=INS, statuses=(AvailabilityStatus.APPROVED.value,))

    def emergency_search() -> str:
        emergency = client(server, pki, stranger, purpose_of_use=PurposeOfUse.BREAK_THE_GLASS)
        return emergency.query(StoredQueryRequest(query)).response.status.name

    def post(action: str, **fields: str) -> requests.Response:
        return visitor.post(
            f"{server.url}/portal/patient/record/{action}",
            data={"csrf": token, **fields},
            timeout=TIMEOUT,
        )

    assert emergency_search() == "SUCCESS"
    opposed = post("oppose", opposed="true")
    assert opposed.status_code == 200 and "You oppose access in an emergency" in opposed.text
    assert emergency_search() == "FAILURE"
    assert post("oppose", opposed="false").status_code == 200
    assert emergency_search() == "SUCCESS"

    assert submitted in found_by(server, pki, COLLEAGUE)
    withdrawn = post("revoke", professional=COLLEAGUE)
    assert withdrawn.status_code == 200
    colleague = client(server, pki, COLLEAGUE).query(StoredQueryRequest(query))
    assert colleague.response.errors[0].code.value == "LocalPolicyRestrictionError"
    own = [Code("ONESELF", "2.16.840.1.113883.5.111")]
    assert client(server, pki, "PATIENT-1", roles=own).records.grant(INS, COLLEAGUE).success

    nobody = post("block", professional="  ")
    assert nobody.status_code == 403 and "professional&#39;s identifier" in nobody.text


def test_the_patient_closes_the_record_in_the_browser_then_reopens_it(
    server: ServerProcess, pki: DevPki, browser: WebDriver, submitted: str
) -> None:
    """Closing withdraws consent: professionals then read nothing (and, under the DMP
    profile, add nothing: `registry.register`); the patient still reads the record, and
    reopening it gives consent again."""
    browser.get(login_link(server, INS))
    browser.get(f"{server.url}/portal/patient/record?lang=en")
    follow(browser, browser.find_element(By.ID, "close"))  # the box not ticked
    assert "Tick the box" in browser.find_element(By.ID, "problem").text
    assert "open" in browser.find_element(By.ID, "record-status").text

    browser.find_element(By.ID, "close-confirm").click()
    follow(browser, browser.find_element(By.ID, "close"))
    try:
        assert "closed" in browser.find_element(By.ID, "record-status").text
        assert serious_violations(browser) == []
        shot(browser, "record-closed")
        query = FindDocumentsQuery(patient_id=INS, statuses=(AvailabilityStatus.APPROVED.value,))
        refused = client(server, pki, COLLEAGUE).query(StoredQueryRequest(query))
        assert refused.response.errors[0].code.value == "LocalPolicyRestrictionError"
        browser.get(f"{server.url}/portal/patient?lang=en")
        assert browser.find_elements(By.CSS_SELECTOR, "table.documents tbody tr")
    finally:
        browser.get(f"{server.url}/portal/patient/record?lang=en")
        follow(browser, browser.find_element(By.ID, "reopen"))
    assert "open" in browser.find_element(By.ID, "record-status").text
    assert submitted in found_by(server, pki, COLLEAGUE)  # its authorisation kept


def test_behind_a_tls_proxy_the_session_cookie_is_secure(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """The proxy terminates TLS: the server sees plain HTTP, the browser an https address."""
    args = ["--portal-links", "--public-url", "https://xds.example.test"]
    with ServerProcess(tmp_path_factory.mktemp("portal-proxy"), args=args) as running:
        feed(running, INS)
        assert XdsClient(running.url).records.open(INS).success
        landed = requests.get(login_link(running, INS), timeout=TIMEOUT, allow_redirects=False)

    set_cookie = landed.headers.get("Set-Cookie", "")
    assert "xds_portal=" in set_cookie, (landed.status_code, landed.headers)
    assert "; Secure" in set_cookie and "HttpOnly" in set_cookie


def test_over_plain_http_the_session_cookie_is_not_marked_secure(server: ServerProcess) -> None:
    landed = requests.get(login_link(server, INS), timeout=TIMEOUT, allow_redirects=False)

    set_cookie = landed.headers.get("Set-Cookie", "")
    assert "xds_portal=" in set_cookie, (landed.status_code, landed.headers)
    assert "Secure" not in set_cookie  # a browser would never send it back over http
