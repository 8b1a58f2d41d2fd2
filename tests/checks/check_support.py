"""Real servers for ``publisher check``: Debian's dnsmasq serving the test's records on a
loopback port, an aiosmtpd relay (STARTTLS or TLS with a certificate of the test's own CA,
AUTH, a sender it refuses) that records whether any DATA ever came, and the deployment's
files (CA, certificates, DKIM key)."""

from __future__ import annotations

import base64
import os
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import dns.message
import dns.query
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.tls_support import Issued, issue, make_ca

DNSMASQ = Path(os.environ.get("DNSMASQ", "/usr/sbin/dnsmasq"))
DOMAIN = "obcina.test"
SELECTOR = "novice2026"
FROM = f"Občina Test <novice@{DOMAIN}>"
RELAY_USER = "novice"
RELAY_PASSWORD = "geslo-za-relay-0123"


def free_port() -> int:
    """A loopback port free for both UDP and TCP (DNS answers on both)."""
    for _ in range(50):
        with socket.socket() as tcp, socket.socket(type=socket.SOCK_DGRAM) as udp:
            tcp.bind(("127.0.0.1", 0))
            port = int(tcp.getsockname()[1])
            try:
                udp.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise AssertionError("no free port for both UDP and TCP")


def txt(name: str, text: str) -> str:
    """dnsmasq's ``--txt-record``: each comma-separated part is one string of the record, and
    one string holds at most 255 bytes, so a long text (a 2048-bit DKIM key) is cut in parts,
    which receivers (and the check) join again."""
    assert "," not in text, "dnsmasq would split the text at its commas"
    parts = [text[start : start + 255] for start in range(0, len(text), 255)]
    return f"--txt-record={name}," + ",".join(parts)


def good_records(dkim_record: str) -> list[str]:
    """A deployment as it should be: SPF allows the relay (127.0.0.1), the DKIM key is the
    configured one's pair, DMARC quarantines, bounces have an MX."""
    return [
        txt(DOMAIN, "v=spf1 ip4:127.0.0.1 -all"),
        txt(f"{SELECTOR}._domainkey.{DOMAIN}", dkim_record),
        txt(f"_dmarc.{DOMAIN}", f"v=DMARC1; p=quarantine; rua=mailto:dmarc@{DOMAIN}"),
        f"--mx-host={DOMAIN},mx.{DOMAIN},10",
        f"--host-record=mx.{DOMAIN},127.0.0.1",
    ]


def _answers(port: int) -> bool:
    query = dns.message.make_query(f"ready.{DOMAIN}", "A")
    try:
        dns.query.udp(query, "127.0.0.1", port=port, timeout=0.5)
    except (OSError, dns.exception.Timeout):
        return False
    return True


@contextmanager
def dnsmasq(records: list[str]) -> Iterator[str]:
    """dnsmasq answering ``records`` (and nothing else: no upstream, no hosts file) on a free
    loopback port; yields the ``dns_resolver`` setting that points at it."""
    if not DNSMASQ.is_file():
        pytest.skip(f"{DNSMASQ} is missing: `apt-get install -y dnsmasq-base` (bash .ci/run does)")
    port = free_port()
    args = [
        str(DNSMASQ),
        "--no-daemon",
        f"--port={port}",
        "--listen-address=127.0.0.1",
        "--bind-interfaces",
        "--no-resolv",
        "--no-hosts",
        "--conf-file=/dev/null",
        "--pid-file=",
        f"--local=/{DOMAIN.rpartition('.')[2]}/",  # unknown names there: NXDOMAIN at once
        "--log-facility=-",
        *(["--user=root"] if os.geteuid() == 0 else []),  # stay root instead of "nobody"
        *records,
    ]
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        give_up = time.monotonic() + 10
        while not _answers(port):
            if process.poll() is not None or time.monotonic() > give_up:
                process.kill()
                output = process.communicate()[0].decode("utf-8", "replace")
                pytest.skip(f"dnsmasq did not start: {output.strip()[-500:]}")
            time.sleep(0.05)
        yield f"127.0.0.1:{port}"
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


@dataclass(frozen=True)
class Pki:
    """The test's CA and what it signed, as files: the relay's and the site's certificate
    (for 127.0.0.1), and a DKIM key with its DNS record."""

    ca_file: Path
    relay: Issued
    relay_cert: Path
    relay_key: Path
    dkim_key: Path
    dkim_record: str

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.relay_cert, self.relay_key)
        return context


def make_pki(folder: Path) -> Pki:
    ca = make_ca("Test CA of publisher check")
    relay = issue(ca, "127.0.0.1", hosts=("127.0.0.1", "localhost"))
    files = {"ca.pem": ca.cert_pem, "relay.pem": relay.cert_pem, "relay.key": relay.key_pem}
    for name, data in files.items():
        (folder / name).write_bytes(data)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    (folder / "dkim.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return Pki(
        ca_file=folder / "ca.pem",
        relay=relay,
        relay_cert=folder / "relay.pem",
        relay_key=folder / "relay.key",
        dkim_key=folder / "dkim.key",
        dkim_record="v=DKIM1; k=rsa; p=" + base64.b64encode(public).decode(),
    )


def other_dkim_record() -> str:
    """The record of some other key (an old one, or another server's)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return "v=DKIM1; k=rsa; p=" + base64.b64encode(public).decode()


@dataclass
class RelayHandler:
    """Accepts or refuses senders; counts every DATA, which a check must never reach."""

    refuse_senders: bool = False
    senders: list[str] = field(default_factory=list)
    data_calls: int = 0

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        self.senders.append(address)
        if self.refuse_senders:
            return "550 5.7.1 Sender address rejected: not owned by user novice"
        envelope.mail_from = address
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.data_calls += 1
        return "250 queued"


def authenticator(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: object
) -> AuthResult:
    good = (
        isinstance(data, LoginPassword)
        and data.login == RELAY_USER.encode()
        and data.password == RELAY_PASSWORD.encode()
    )
    return AuthResult(success=good, handled=False)


@contextmanager
def relay(
    pki: Pki, *, tls: str = "starttls", auth: bool = True, refuse_senders: bool = False
) -> Iterator[tuple[int, RelayHandler]]:
    """An aiosmtpd relay on a free loopback port: ``tls`` is ``starttls`` (offered),
    ``tls`` (from the first byte) or ``none`` (not offered)."""
    handler = RelayHandler(refuse_senders=refuse_senders)
    port = free_port()
    options: dict[str, object] = {}
    if tls == "starttls":
        options["tls_context"] = pki.server_context()
    elif tls == "tls":
        options["ssl_context"] = pki.server_context()
    if auth:
        # aiosmtpd counts only STARTTLS as TLS; a TLS port is encrypted from the first byte
        options |= {"authenticator": authenticator, "auth_require_tls": tls == "starttls"}
    controller = Controller(
        handler, hostname="127.0.0.1", port=port, server_hostname="relay.obcina.test", **options
    )
    controller.start()
    try:
        yield port, handler
    finally:
        controller.stop()
