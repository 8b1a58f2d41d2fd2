"""A real Postfix (Debian's package) as the relay, run from a configuration of its own in a
temporary directory on loopback ports, never touching the system's Postfix."""

from __future__ import annotations

import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

POSTFIX = shutil.which("postfix") or "/usr/sbin/postfix"

MASTER_CF = """\
{port} inet n - n - - smtpd
pickup unix n - n 60 1 pickup
cleanup unix n - n - 0 cleanup
qmgr unix n - n 1 1 qmgr
rewrite unix - - n - - trivial-rewrite
bounce unix - - n - 0 bounce
defer unix - - n - 0 bounce
trace unix - - n - 0 bounce
verify unix - - n - 1 verify
flush unix n - n 1000? 0 flush
proxymap unix - - n - - proxymap
smtp unix - - n - - smtp
relay unix - - n - - smtp
showq unix n - n - - showq
error unix - - n - - error
retry unix - - n - - error
discard unix - - n - - discard
lmtp unix - - n - - lmtp
anvil unix - - n - 1 anvil
scache unix - - n - 1 scache
postlog unix-dgram n - n - 1 postlogd
"""


def postfix_missing() -> str | None:
    """Why Postfix cannot run here, or ``None`` when it can."""
    if not Path(POSTFIX).exists():
        return "Postfix is not installed (apt-get install postfix; .ci/run does)"
    try:
        pwd.getpwnam("postfix")
    except KeyError:
        return "the postfix user does not exist (Debian's package makes it)"
    return None


class Postfix:
    """``postfix -c DIR start`` on ``port``; mail for ``relay_domain`` goes by LMTP to
    ``lmtp_port``, everything else to the "remote" SMTP server on ``remote_port``. Queue
    lifetimes are seconds, so a deferral becomes a DSN within the test."""

    def __init__(
        self, *, port: int, remote_port: int, relay_domain: str, lmtp_port: int, lifetime: int = 8
    ) -> None:
        self.port = port
        self.base = Path(tempfile.mkdtemp(prefix="pf"))  # short: socket paths have a limit
        self.base.chmod(0o755)  # the daemons run as the postfix user and enter it
        self.config = self.base / "etc"
        self.config.mkdir()
        (self.base / "queue").mkdir(mode=0o755)  # root's; Postfix makes what is inside
        self.log = self.base / "maillog"
        settings = {
            "compatibility_level": "3.6",
            "queue_directory": self.base / "queue",
            "data_directory": self.base / "data",
            "mail_owner": "postfix",
            "setgid_group": "postdrop",
            "inet_interfaces": "127.0.0.1",
            "inet_protocols": "ipv4",
            "myhostname": "relay.test",
            "mydomain": "relay.test",
            "myorigin": "relay.test",
            "mydestination": "",
            "mynetworks": "127.0.0.0/8",
            "smtpd_relay_restrictions": "permit_mynetworks, reject_unauth_destination",
            "relay_domains": relay_domain,
            "transport_maps": f"inline:{{ {relay_domain}=lmtp:inet:127.0.0.1:{lmtp_port} }}",
            "relayhost": f"[127.0.0.1]:{remote_port}",
            "smtp_dns_support_level": "disabled",
            "lmtp_host_lookup": "native",
            "smtpd_peername_lookup": "no",
            "alias_maps": "",
            "alias_database": "",
            "local_recipient_maps": "",
            "biff": "no",
            "maillog_file": self.log,
            "maillog_file_prefixes": self.base,
            "queue_run_delay": "1s",
            "minimal_backoff_time": "1s",
            "maximal_backoff_time": "2s",
            "maximal_queue_lifetime": f"{lifetime}s",
            "bounce_queue_lifetime": f"{lifetime}s",
            "delay_warning_time": "1s",
            "smtp_tls_security_level": "none",
            "smtpd_tls_security_level": "none",
            "smtputf8_enable": "no",
        }
        (self.config / "main.cf").write_text(
            "".join(f"{key} = {value}\n" for key, value in settings.items())
        )
        (self.config / "master.cf").write_text(MASTER_CF.format(port=port))

    def _postfix(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [POSTFIX, "-c", str(self.config), *args],
            capture_output=True,
            text=True,
            timeout=60,
        )

    def __enter__(self) -> Postfix:
        started = self._postfix("start")
        if started.returncode != 0:
            log = self.maillog()
            self.__exit__()
            raise RuntimeError(f"postfix did not start: {started.stderr}{started.stdout}{log}")
        return self

    def __exit__(self, *exc: object) -> None:
        self._postfix("stop")
        shutil.rmtree(self.base, ignore_errors=True)

    def maillog(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""
