"""The patient's login by OpenID Connect against a real provider (panva's certified
`oidc-provider`, from npm, started by the tests), in Debian's chromium.

The provider's development login accepts any login and asserts it as the `ins` claim; the
portal takes the INS from the verified ID token only. Then: the patient lands on their own
documents; a tampered callback, or one without its pending login, opens nothing.
"""

from __future__ import annotations

import fcntl
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from browser_support import chromium
from e2e_support import TIMEOUT, feed
from selenium.webdriver.common.by import By
from selenium.webdriver.support.expected_conditions import presence_of_element_located
from selenium.webdriver.support.wait import WebDriverWait

from soap.client import XdsClient
from xds_cli.server import ServerProcess, free_port

PROVIDER = Path(__file__).parent / "oidc"
INS_NUMBER = "279035121518989"
INS = f"{INS_NUMBER}^^^&1.2.250.1.213.1.4.10&ISO"


@pytest.fixture(scope="module")
def provider_port() -> Iterator[int]:
    node = shutil.which("node")
    assert node is not None, "Node.js runs the tests' OpenID provider"
    with (PROVIDER / "package.json").open() as lock:  # one install, whichever worker asks
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (PROVIDER / "node_modules" / "oidc-provider").is_dir():
            npm = shutil.which("npm")
            assert npm is not None, "npm installs the tests' OpenID provider (tests/oidc)"
            subprocess.run([npm, "ci", "--silent"], cwd=PROVIDER, check=True, timeout=300)
    yield free_port()


@pytest.fixture(scope="module")
def server(provider_port: int, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    folder = tmp_path_factory.mktemp("oidc")
    port = free_port()
    issuer = f"http://127.0.0.1:{provider_port}"
    callback = f"http://127.0.0.1:{port}/portal/oidc/callback"
    provider = subprocess.Popen(
        ["node", "provider.mjs", str(provider_port), "portal", "s3cret-for-tests", callback],
        cwd=PROVIDER, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        _wait_for(provider_port)
        args = [
            "--oidc-issuer", issuer, "--oidc-client-id", "portal",
            "--oidc-represents-claim", "represents", "--public-url", f"http://127.0.0.1:{port}",
        ]  # fmt: skip
        env = {"XDS_OIDC_CLIENT_SECRET": "s3cret-for-tests"}
        with ServerProcess(folder, args=args, port=port, env=env) as running:
            feed(running, INS)
            assert XdsClient(running.url).records.open(INS).success  # the patient's consent
            yield running
    finally:
        provider.terminate()
        provider.wait(timeout=10)


def _wait_for(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError("the OpenID provider did not start")


def log_in(server: ServerProcess, login: str) -> str:
    """Log in through the provider in chromium as `login`; the text of the page reached."""
    browser = chromium()
    wait = WebDriverWait(browser, TIMEOUT)
    try:
        browser.get(f"{server.url}/portal/login?lang=en")
        browser.find_element(By.ID, "oidc-login").click()
        wait.until(presence_of_element_located((By.NAME, "login")))  # the provider's page
        browser.find_element(By.NAME, "login").send_keys(login)
        browser.find_element(By.NAME, "password").send_keys("any")
        browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        wait.until(
            lambda b: "/portal/patient" in b.current_url or "consent" in b.page_source.lower()
        )
        if "/portal/patient" not in browser.current_url:  # the provider asks to consent
            browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        wait.until(lambda b: b.current_url.endswith("/portal/patient"))
        assert "code=" not in browser.current_url
        wait.until(presence_of_element_located((By.TAG_NAME, "h1")))
        return str(browser.find_element(By.TAG_NAME, "body").text)
    finally:
        browser.quit()


def test_the_patient_logs_in_with_the_provider_and_lands_on_their_record(
    server: ServerProcess,
) -> None:
    page = log_in(server, INS_NUMBER)
    assert "My documents" in page and "legal representative" not in page


def test_a_legal_representative_logs_in_for_the_patient_the_provider_names(
    server: ServerProcess,
) -> None:
    page = log_in(server, f"180012B12345678:{INS_NUMBER}")
    assert "My documents" in page
    assert "Acting for the patient as their legal representative: 180012B12345678" in page


def test_a_callback_without_its_pending_login_opens_nothing(server: ServerProcess) -> None:
    forged = requests.get(
        f"{server.url}/portal/oidc/callback?code=stolen&state=guessed", timeout=TIMEOUT
    )
    assert forged.status_code == 403
    assert "xds_portal" not in forged.headers.get("Set-Cookie", "")


def test_a_callback_with_a_wrong_state_opens_nothing(server: ServerProcess) -> None:
    visitor = requests.Session()
    started = visitor.get(f"{server.url}/portal/oidc/start", allow_redirects=False, timeout=TIMEOUT)
    assert started.status_code == 303 and "code_challenge=" in started.headers["Location"]
    refused = visitor.get(
        f"{server.url}/portal/oidc/callback?code=stolen&state=not-the-one", timeout=TIMEOUT
    )
    assert refused.status_code == 403
    assert "xds_portal" not in refused.headers.get("Set-Cookie", "")
