"""A real Dovecot IMAP server for one test: configured in a temporary folder, on loopback
ports (STARTTLS and TLS, with a certificate of a CA the test makes), one passwd-file user,
Maildir mail; started with ``dovecot -c`` and stopped afterwards."""

from __future__ import annotations

import contextlib
import grp
import imaplib
import os
import pwd
import re
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.delivery.sending_support import free_port
from tests.tls_support import issue, make_ca

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
USER = "odboji"
PASSWORD = "geslo-za-odboje-2026"


@dataclass
class Dovecot:
    folder: Path
    imap_port: int
    imaps_port: int
    ca_file: Path

    def url(self, scheme: str = "imap", folder: str = "INBOX") -> str:
        port = self.imap_port if scheme == "imap" else self.imaps_port
        return f"{scheme}://{USER}@127.0.0.1:{port}/{folder}"

    @contextlib.contextmanager
    def client(self) -> Iterator[imaplib.IMAP4]:
        context = ssl.create_default_context(cafile=str(self.ca_file))
        client = imaplib.IMAP4_SSL("127.0.0.1", self.imaps_port, ssl_context=context, timeout=10)
        client.login(USER, PASSWORD)
        try:
            yield client
        finally:
            client.logout()

    def append(self, raw: bytes, folder: str = "INBOX") -> None:
        with self.client() as client:
            status, data = client.append(folder, None, None, raw)
            assert status == "OK", data

    def messages(self, folder: str = "INBOX") -> list[tuple[set[str], bytes]]:
        """Each message of ``folder``: its flags and its bytes (read without marking it)."""
        with self.client() as client:
            status, _ = client.select(f'"{folder}"', readonly=True)
            if status != "OK":
                return []
            _, data = client.uid("FETCH", "1:*", "(FLAGS BODY.PEEK[])")
            found = []
            for item in data:
                if isinstance(item, tuple):
                    flags = re.search(rb"FLAGS \(([^)]*)\)", item[0])
                    names = set(flags[1].decode().split()) if flags else set()
                    found.append((names, item[1]))
            return found


def _accounts() -> tuple[str, str, str, int, int]:
    """(internal user, its group, login user, mail uid, mail gid): Dovecot's own system users
    when the tests run as root (it refuses to run its logins as root), else ourselves."""
    if os.geteuid() != 0:
        me = pwd.getpwuid(os.geteuid())
        group = grp.getgrgid(os.getegid()).gr_name
        return me.pw_name, group, me.pw_name, me.pw_uid, me.pw_gid
    try:
        internal = pwd.getpwnam("dovecot")
        login = pwd.getpwnam("dovenull")
    except KeyError:
        pytest.skip("Dovecot's system users (dovecot, dovenull) are missing: reinstall it")
    group = grp.getgrgid(internal.pw_gid).gr_name
    return internal.pw_name, group, login.pw_name, internal.pw_uid, internal.pw_gid


def _config(folder: Path, imap_port: int, imaps_port: int) -> str:
    internal, group, login, uid, gid = _accounts()
    return f"""
protocols = imap
listen = 127.0.0.1
base_dir = {folder}/run
state_dir = {folder}/state
instance_name = publisher-test-{imap_port}
log_path = {folder}/dovecot.log
ssl = yes
ssl_cert = <{folder}/server.pem
ssl_key = <{folder}/server.key
disable_plaintext_auth = yes
auth_mechanisms = plain login
default_internal_user = {internal}
default_internal_group = {group}
default_login_user = {login}
first_valid_uid = 1
first_valid_gid = 1
mail_location = maildir:{folder}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {folder}/users
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={folder}/mail/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap_port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps_port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
"""


@contextlib.contextmanager
def dovecot() -> Iterator[Dovecot]:
    """A running Dovecot; skips, saying why, where it cannot run."""
    if not os.access(DOVECOT, os.X_OK):
        pytest.skip("dovecot is not installed (Debian: dovecot-imapd); `.ci/run` installs it")
    # Under /tmp itself, not pytest's private folder: Dovecot's own users must reach the mail.
    folder = Path(tempfile.mkdtemp(prefix="publisher-dovecot-"))
    folder.chmod(0o755)
    try:
        _, _, _, uid, gid = _accounts()
        (folder / "mail").mkdir()
        os.chown(folder / "mail", uid, gid)
        ca = make_ca("Publisher test CA")
        server = issue(ca, "localhost", hosts=("127.0.0.1", "localhost"))
        (folder / "ca.pem").write_bytes(ca.cert_pem)
        (folder / "server.pem").write_bytes(server.cert_pem)
        (folder / "server.key").write_bytes(server.key_pem)
        (folder / "users").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n")
        imap_port, imaps_port = free_port(), free_port()
        conf = folder / "dovecot.conf"
        conf.write_text(_config(folder, imap_port, imaps_port))
        # It forks into the background: its output goes to a file, not to a pipe we would wait on.
        with (folder / "start.log").open("w") as out:
            started = subprocess.run([DOVECOT, "-c", str(conf)], stdout=out, stderr=out, timeout=30)
        if started.returncode != 0:
            reason = (folder / "start.log").read_text().strip()[-500:]
            pytest.skip(f"dovecot could not start here: {reason}")
        try:
            _wait_for(imaps_port, folder)
            yield Dovecot(folder, imap_port, imaps_port, folder / "ca.pem")
        finally:
            subprocess.run(
                [DOVECOT, "-c", str(conf), "stop"],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=30,
            )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _wait_for(port: int, folder: Path) -> None:
    give_up = time.monotonic() + 15
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if time.monotonic() > give_up:
                log = folder / "dovecot.log"
                raise AssertionError(
                    "dovecot did not listen within 15 s: "
                    + (log.read_text()[-1000:] if log.exists() else "")
                ) from None
            time.sleep(0.05)
