"""Debian's chromium, headless, through its chromedriver; optionally a person's browser: a
home whose NSS database trusts the dev CA and, for a professional, holds their card.

Chromium reads client certificates from `$HOME/.pki/nssdb` (NSS; `certutil` and `pk12util`
from Debian's libnss3-tools fill it). Asked for a certificate, a headless chromium would wait
for a person to choose one: the profile's `auto_select_certificate` content setting (what the
AutoSelectCertificateForUrls policy sets) chooses it for the server's origin instead.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    load_pem_private_key,
    pkcs12,
)
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver

from pki.devca import ProfessionalCard

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
TIMEOUT = 20


def chromium(
    *,
    size: str = "1400,1000",
    home: Path | None = None,
    trust: Path | None = None,
    card: ProfessionalCard | None = None,
    origin: str | None = None,
) -> WebDriver:
    """A headless chromium; with `home`, a person's own: it trusts the CA bundle `trust` and,
    with `card`, presents that card to `origin` when asked."""
    options = Options()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage"):
        options.add_argument(flag)
    options.add_argument(f"--window-size={size}")
    env = None
    if home is not None:
        _nss_database(home, trust, card)
        profile = home / "profile"
        if card is not None:
            assert origin is not None, "a card is presented to one origin"
            _choose_card_for(profile, origin)
        options.add_argument(f"--user-data-dir={profile}")
        env = {**os.environ, "HOME": str(home)}
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER, env=env), options=options)
    driver.set_page_load_timeout(TIMEOUT)
    return driver


def _nss_database(home: Path, trust: Path | None, card: ProfessionalCard | None) -> None:
    nss = home / ".pki" / "nssdb"
    nss.mkdir(parents=True, exist_ok=True)
    database = f"sql:{nss}"
    _run("certutil", "-N", "-d", database, "--empty-password")
    if trust is not None:
        for number, pem in enumerate(x509.load_pem_x509_certificates(trust.read_bytes())):
            one = home / f"ca-{number}.pem"
            one.write_bytes(pem.public_bytes(Encoding.PEM))
            _run(
                "certutil", "-A", "-d", database, "-n", f"ca-{number}", "-t", "CT,,", "-i", str(one)
            )
    if card is not None:
        cert = x509.load_pem_x509_certificate(card.cert.read_bytes())
        key = load_pem_private_key(card.key.read_bytes(), None)
        bundle = home / "card.p12"
        bundle.write_bytes(
            pkcs12.serialize_key_and_certificates(b"card", key, cert, None, NoEncryption())  # type: ignore[arg-type]
        )
        _run("pk12util", "-i", str(bundle), "-d", database, "-W", "")
        bundle.unlink()


def _choose_card_for(profile: Path, origin: str) -> None:
    default = profile / "Default"
    default.mkdir(parents=True, exist_ok=True)
    chosen = {f"{origin},*": {"setting": {"filters": [{}]}}}
    preferences = {
        "profile": {"content_settings": {"exceptions": {"auto_select_certificate": chosen}}}
    }
    (default / "Preferences").write_text(json.dumps(preferences), encoding="utf-8")


def _run(*command: str) -> None:
    subprocess.run(command, check=True, capture_output=True, timeout=60)
