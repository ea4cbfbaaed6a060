"""PEM files of the development PKI: keys readable by their owner only."""

from __future__ import annotations

import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

KEY_BITS = 2048


def new_key() -> rsa.RSAPrivateKey:
    """An RSA key: XML-DSig rsa-sha256/rsa-sha1 and every TLS stack accept RSA."""
    return rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)


def write_key(path: Path, key: rsa.RSAPrivateKey) -> Path:
    """Write an unencrypted PKCS#8 key, created 0600: never world-readable, even briefly."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.chmod(path, 0o600)  # O_CREAT's mode does not apply when the file already existed
    return path


def write_certs(path: Path, *certs: x509.Certificate) -> Path:
    """Write one or more certificates (leaf first) as a PEM bundle."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs))
    return path


def read_key(path: Path) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError(f"{path}: not an RSA private key")
    return key


def read_cert(path: Path) -> x509.Certificate:
    """The first certificate of a PEM file."""
    return x509.load_pem_x509_certificate(path.read_bytes())


def read_certs(path: Path) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(path.read_bytes())
