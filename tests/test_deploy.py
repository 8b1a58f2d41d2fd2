"""The files of README's "Running in production", kept under ``deploy/``: each is shown in the
README as it is, the systemd units pass ``systemd-analyze verify`` (and are hardened), the
nginx site passes ``nginx -t`` and, started for real in front of ``publisher serve``, tells the
app who the client is and that it came over https; the Caddyfile passes ``caddy validate``.

The checks run the real tools on copies of the files in which only what must differ on a test
machine is replaced (the program's path, certificates, ports, the cache folder): each
replacement must find its text, so a file that drifts from what the test expects fails here.
"""

from __future__ import annotations

import os
import shutil
import ssl
import subprocess
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import Engine

from publisher.config import load_settings
from publisher.db import session_scope
from publisher.media.store import media_store
from tests.feeds.helpers import make_settings
from tests.tls_support import issue, make_ca
from tests.web.residents_support import csrf_from, stock_town, subscribe_form
from tests.web.serve_support import free_port, publisher_serve

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
README = ROOT / "README.md"
FILES = sorted(path.relative_to(DEPLOY) for path in DEPLOY.rglob("*") if path.is_file())
UNITS = sorted((DEPLOY / "systemd").iterdir())
PROGRAM = "/opt/publisher/bin/publisher"
SITE = "novice.novomesto.example.org"

SYSTEMD_ANALYZE = shutil.which("systemd-analyze")
NGINX = shutil.which("nginx") or next(
    (path for path in ("/usr/sbin/nginx",) if os.access(path, os.X_OK)), None
)
CADDY = shutil.which("caddy")


def replaced(text: str, *pairs: tuple[str, str]) -> str:
    """``text`` with each ``(old, new)`` replaced; every ``old`` must be there."""
    for old, new in pairs:
        assert old in text, f"expected {old!r} in the file; the test and the file disagree"
        text = text.replace(old, new)
    return text


def test_the_deploy_folder_holds_the_units_the_proxies_and_the_settings() -> None:
    assert {str(path) for path in FILES} >= {
        "systemd/publisher-web.service",
        "systemd/publisher-worker.service",
        "systemd/publisher-bounces.service",
        "systemd/publisher-backup.service",
        "systemd/publisher-backup.timer",
        "nginx/publisher.conf",
        "caddy/Caddyfile",
        "publisher.toml.example",
    }


@pytest.mark.parametrize("name", [str(path) for path in FILES])
def test_the_readme_shows_each_deploy_file_exactly_as_it_is(name: str) -> None:
    content = (DEPLOY / name).read_text(encoding="utf-8")
    readme = README.read_text(encoding="utf-8")
    assert f"\n{content}```\n" in readme, (
        f"README.md does not show deploy/{name} verbatim in a code block: copy the file's "
        "text into its block in 'Running in production'"
    )


def test_the_production_settings_example_is_valid_and_production_ready(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = tmp_path / "dkim.key"
    key.write_text("a key\n", encoding="utf-8")
    monkeypatch.setenv("PUBLISHER_CONFIG", str(DEPLOY / "publisher.toml.example"))
    monkeypatch.setenv("PUBLISHER_DKIM_KEY_PATH", str(key))  # the example's is /etc/publisher
    settings = load_settings()
    assert settings.database_url.startswith("postgresql+psycopg://")
    assert settings.base_url.startswith("https://")
    assert settings.smtp_tls == "starttls"
    assert settings.ratelimit_storage.startswith("redis://")
    assert "127.0.0.1" in settings.trusted_proxies
    assert settings.bounce_domain and settings.dkim_domain
    assert [entry.list for entry in settings.schedule] == ["tedenske-novice"]
    assert settings.secret == "test-only-secret-key-for-the-test-suite-0123456789"  # from env


# --- systemd ---------------------------------------------------------------------------------

needs_systemd = pytest.mark.skipif(
    SYSTEMD_ANALYZE is None, reason="systemd-analyze is not installed (Debian: systemd)"
)


@pytest.fixture
def units(tmp_path: Path) -> Path:
    """The unit files with the program's path pointing at a stand-in that exists here
    (``verify`` refuses a unit whose ExecStart binary is missing)."""
    program = tmp_path / "bin" / "publisher"
    program.parent.mkdir()
    program.write_text("#!/bin/sh\nexit 0\n", encoding="utf-8")
    program.chmod(0o755)
    folder = tmp_path / "units"
    folder.mkdir()
    for unit in UNITS:
        text = unit.read_text(encoding="utf-8")
        if unit.suffix == ".service":
            text = replaced(text, (PROGRAM, str(program)))
        (folder / unit.name).write_text(text, encoding="utf-8")
    return folder


def verify(unit: Path) -> subprocess.CompletedProcess[str]:
    assert SYSTEMD_ANALYZE is not None
    return subprocess.run(
        [SYSTEMD_ANALYZE, "verify", "--man=no", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@needs_systemd
@pytest.mark.parametrize("name", [unit.name for unit in UNITS])
def test_each_unit_file_passes_systemd_analyze_verify_without_a_word(
    units: Path, name: str
) -> None:
    checked = verify(units / name)
    # verify only warns about an unknown directive and exits 0: any output is a failure.
    assert (checked.returncode, checked.stdout + checked.stderr) == (0, "")


@needs_systemd
@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("NoNewPrivileges=yes", "NoNewPrivilege=yes"),  # a misspelled directive
        ("%%F", "%F"),  # an unescaped specifier in the backup's date
    ],
)
def test_a_broken_unit_file_does_not_pass(units: Path, old: str, new: str) -> None:
    broken = units / "publisher-backup.service"
    broken.write_text(replaced(broken.read_text(encoding="utf-8"), (old, new)), encoding="utf-8")
    checked = verify(broken)
    assert checked.returncode != 0 or checked.stdout + checked.stderr != ""


@needs_systemd
@pytest.mark.parametrize("name", [unit.name for unit in UNITS if unit.suffix == ".service"])
def test_each_service_is_hardened(units: Path, name: str) -> None:
    """``systemd-analyze security`` rates exposure 0–10; a plain unit scores 9.6."""
    assert SYSTEMD_ANALYZE is not None
    rated = subprocess.run(
        [SYSTEMD_ANALYZE, "security", "--offline=yes", "--threshold=20", str(units / name)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert rated.returncode == 0, rated.stdout[-2000:]


# --- nginx -----------------------------------------------------------------------------------

needs_nginx = pytest.mark.skipif(
    NGINX is None, reason="nginx is not installed (Debian: nginx-light); `.ci/run` installs it"
)


@dataclass
class NginxSite:
    prefix: Path
    config: Path
    ca_file: Path
    port: int

    def tls(self) -> ssl.SSLContext:
        """What a browser trusts here: the test CA that signed the site's certificate."""
        return ssl.create_default_context(cafile=self.ca_file)


def nginx_site(folder: Path, *, app_port: int = 8000, port: int = 443) -> NginxSite:
    """deploy/nginx/publisher.conf in a minimal nginx.conf of its own under ``folder``: a
    certificate of a test CA, the cache and temporary files in ``folder``, and (for a live
    run) the https port and the app's port on loopback; nothing of the system's nginx."""
    folder.mkdir(parents=True, exist_ok=True)
    ca = make_ca()
    cert = issue(ca, SITE, hosts=(SITE, "127.0.0.1"))
    (folder / "ca.pem").write_bytes(ca.cert_pem)
    (folder / "fullchain.pem").write_bytes(cert.cert_pem)
    (folder / "privkey.pem").write_bytes(cert.key_pem)
    site = replaced(
        (DEPLOY / "nginx" / "publisher.conf").read_text(encoding="utf-8"),
        (f"/etc/letsencrypt/live/{SITE}/fullchain.pem", str(folder / "fullchain.pem")),
        (f"/etc/letsencrypt/live/{SITE}/privkey.pem", str(folder / "privkey.pem")),
        ("/var/cache/nginx/publisher", str(folder / "cache")),
        ("server 127.0.0.1:8000;", f"server 127.0.0.1:{app_port};"),
        ("listen 80;", f"listen 127.0.0.1:{free_port()};"),
        ("listen 443 ssl http2;", f"listen 127.0.0.1:{port} ssl http2;"),
        ("listen [::]:80;\n", ""),  # IPv6 may be missing on a test machine
        ("listen [::]:443 ssl http2;\n", ""),
    )
    (folder / "publisher.conf").write_text(site, encoding="utf-8")
    temp = "\n".join(
        f"    {kind}_temp_path {folder / kind};" for kind in ("client_body", "proxy", "fastcgi")
    )
    user = "user root;\n" if os.geteuid() == 0 else ""  # else workers cannot read the folder
    config = folder / "nginx.conf"
    config.write_text(
        f"{user}pid {folder / 'nginx.pid'};\nerror_log {folder / 'error.log'};\n"
        "worker_processes 1;\nevents {}\n"
        f"http {{\n    access_log {folder / 'access.log'};\n{temp}\n"
        f"    uwsgi_temp_path {folder / 'uwsgi'};\n    scgi_temp_path {folder / 'scgi'};\n"
        f"    include {folder / 'publisher.conf'};\n}}\n",
        encoding="utf-8",
    )
    return NginxSite(folder, config, folder / "ca.pem", port)


def nginx_command(site: NginxSite, *args: str) -> list[str]:
    assert NGINX is not None
    return [NGINX, "-p", str(site.prefix), "-c", str(site.config), "-e", "stderr", *args]


@needs_nginx
def test_the_nginx_site_passes_nginx_t(tmp_path: Path) -> None:
    site = nginx_site(tmp_path)
    checked = subprocess.run(
        nginx_command(site, "-t"), capture_output=True, text=True, timeout=60, check=False
    )
    assert checked.returncode == 0, checked.stderr
    assert "[warn]" not in checked.stderr, checked.stderr


@needs_nginx
def test_a_misspelled_nginx_directive_does_not_pass(tmp_path: Path) -> None:
    site = nginx_site(tmp_path)
    conf = site.prefix / "publisher.conf"
    conf.write_text(
        replaced(
            conf.read_text(encoding="utf-8"), ("proxy_set_header Host", "proxy_set_headr Host")
        ),
        encoding="utf-8",
    )
    checked = subprocess.run(
        nginx_command(site, "-t"), capture_output=True, text=True, timeout=60, check=False
    )
    assert checked.returncode != 0
    assert 'unknown directive "proxy_set_headr"' in checked.stderr


@contextmanager
def running(command: list[str], url: str, tls: ssl.SSLContext, **env: str) -> Iterator[str]:
    """A proxy started by ``command`` in the foreground until the block ends; yields ``url``
    once it answers there (bounded)."""
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=os.environ | env
    )
    try:
        give_up = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{url}/privacy", verify=tls, timeout=5)
                break
            except httpx.TransportError:
                if process.poll() is not None:
                    raise AssertionError(process.communicate()[1].decode()) from None
                assert time.monotonic() < give_up, f"{command[0]} did not answer in 30 s"
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def running_nginx(site: NginxSite) -> AbstractContextManager[str]:
    """nginx of ``site`` in the foreground; its https URL."""
    command = nginx_command(site, "-g", "daemon off;")
    return running(command, f"https://127.0.0.1:{site.port}", site.tls())


def client_from(address: str, url: str, tls: ssl.SSLContext) -> httpx.Client:
    """A browser on the loopback address ``address`` (not the proxy's own 127.0.0.1)."""
    transport = httpx.HTTPTransport(local_address=address, verify=tls)
    return httpx.Client(base_url=url, transport=transport, timeout=10)


def csrf_cookie_header(response: httpx.Response) -> str:
    [cookie] = [value for value in response.headers.get_list("set-cookie") if "csrf" in value]
    return cookie


@contextmanager
def served_behind_a_proxy(engine: Engine, database_url: str) -> Iterator[tuple[str, int]]:
    """``publisher serve`` with the production settings that concern a proxy (an https
    ``base_url``, the proxy on 127.0.0.1 trusted) and a subscribe limit of two an hour per
    client; yields its URL and port."""
    stock_town(engine)
    with publisher_serve(
        database_url,
        base_url=f"https://{SITE}",
        trusted_proxies="127.0.0.1",
        subscribe_limit_ip="2/hour",
        subscribe_limit_address="100/hour",
    ) as served:
        yield served.url, int(served.url.rsplit(":", 1)[1])


def assert_the_app_sees_each_client_and_https(url: str, tls: ssl.SSLContext) -> None:
    """Through the proxy at ``url``: HSTS once (from the app), the cookie Secure (the app was
    told https), and the subscribe limit counting each client (127.0.0.2 and 127.0.0.3), not
    the proxy, and not an ``X-Forwarded-For`` the client made up."""
    with client_from("127.0.0.2", url, tls) as ana:
        page = ana.get("/subscribe")
        hsts = page.headers.get_list("strict-transport-security")
        cookie = csrf_cookie_header(page)
        ana_statuses = [subscribe_form(ana, f"ana{n}@example.org").status_code for n in range(2)]
        ana.headers["X-Forwarded-For"] = "192.0.2.50"
        ana_statuses.append(subscribe_form(ana, "ana9@example.org").status_code)
    with client_from("127.0.0.3", url, tls) as bor:
        bor_status = subscribe_form(bor, "bor@example.org").status_code
    assert hsts == ["max-age=31536000; includeSubDomains"]
    assert "secure" in cookie.lower()
    assert ana_statuses == [200, 200, 429]
    assert bor_status == 200


@needs_nginx
def test_behind_the_nginx_site_the_app_sees_each_client_and_https(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    photo = "ab" * 32 + "-800.jpg"
    with session_scope(engine) as session:
        store = media_store(make_settings(database_url), session)
        store.put(photo, b"\xff\xd8 a photo", "image/jpeg")
    with served_behind_a_proxy(engine, database_url) as (app_url, app_port):
        site = nginx_site(tmp_path / "nginx", app_port=app_port, port=free_port())
        with running_nginx(site) as url:
            assert_the_app_sees_each_client_and_https(url, site.tls())
            with client_from("127.0.0.3", url, site.tls()) as bor:
                first, again = (bor.get(f"/media/{photo}") for _ in range(2))
            # The admin is never kept by the proxy: two visitors get two sign-in forms.
            logins = []
            for address in ("127.0.0.4", "127.0.0.5"):
                with client_from(address, url, site.tls()) as visitor:
                    logins.append(visitor.get("/admin/login"))
        direct = httpx.get(f"{app_url}/subscribe", timeout=10)
    assert (first.content, again.content) == (b"\xff\xd8 a photo",) * 2
    assert [first.headers["x-cache-status"], again.headers["x-cache-status"]] == ["MISS", "HIT"]
    assert [login.status_code for login in logins] == [200, 200]
    assert all("x-cache-status" not in login.headers for login in logins)
    assert all(login.headers["cache-control"] == "no-store" for login in logins)
    assert csrf_from(logins[0].text) != csrf_from(logins[1].text)
    # Straight to the app over http (no proxy headers) the same cookie is not Secure.
    assert "secure" not in csrf_cookie_header(direct).lower()


# --- Caddy -----------------------------------------------------------------------------------

needs_caddy = pytest.mark.skipif(
    CADDY is None, reason="caddy is not installed (Debian: caddy); `.ci/run` installs it"
)


def caddy_home(folder: Path) -> dict[str, str]:
    """Caddy's data and config folders in ``folder``, not the user's."""
    return {"HOME": str(folder), "XDG_DATA_HOME": str(folder), "XDG_CONFIG_HOME": str(folder)}


def caddy_validate(caddyfile: Path, home: Path) -> subprocess.CompletedProcess[str]:
    """``caddy validate`` with its data and config folders in ``home``, not the user's."""
    assert CADDY is not None
    env = os.environ | caddy_home(home)
    return subprocess.run(
        [CADDY, "validate", "--config", str(caddyfile), "--adapter", "caddyfile"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )


@needs_caddy
def test_the_caddyfile_passes_caddy_validate_without_a_warning(tmp_path: Path) -> None:
    checked = caddy_validate(DEPLOY / "caddy" / "Caddyfile", tmp_path)
    assert checked.returncode == 0, checked.stderr
    assert '"level":"warn"' not in checked.stderr, checked.stderr  # e.g. not formatted


@needs_caddy
def test_a_misspelled_caddy_directive_does_not_pass(tmp_path: Path) -> None:
    broken = tmp_path / "Caddyfile"
    text = (DEPLOY / "caddy" / "Caddyfile").read_text(encoding="utf-8")
    broken.write_text(replaced(text, ("reverse_proxy", "reverse_proxi")), encoding="utf-8")
    checked = caddy_validate(broken, tmp_path)
    assert checked.returncode != 0
    assert "reverse_proxi" in checked.stderr


@needs_caddy
def test_behind_the_caddyfile_the_app_sees_each_client_and_https(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    """The Caddyfile names no proxy header: Caddy's own defaults must do what nginx's lines do."""
    assert CADDY is not None
    ca = make_ca()
    cert = issue(ca, SITE, hosts=(SITE, "127.0.0.1"))
    for name, pem in (
        ("cert.pem", cert.cert_pem),
        ("key.pem", cert.key_pem),
        ("ca.pem", ca.cert_pem),
    ):
        (tmp_path / name).write_bytes(pem)
    port = free_port()
    tls_line = f"tls {tmp_path / 'cert.pem'} {tmp_path / 'key.pem'}"
    with served_behind_a_proxy(engine, database_url) as (_, app_port):
        text = replaced(
            (DEPLOY / "caddy" / "Caddyfile").read_text(encoding="utf-8"),
            (f"{SITE} {{", f"https://127.0.0.1:{port} {{\n\t{tls_line}"),
            ("reverse_proxy 127.0.0.1:8000", f"reverse_proxy 127.0.0.1:{app_port}"),
        )
        options = f"{{\n\tadmin off\n\thttp_port {free_port()}\n\thttps_port {port}\n}}\n"
        caddyfile = tmp_path / "Caddyfile"
        caddyfile.write_text(options + text, encoding="utf-8")
        command = [CADDY, "run", "--config", str(caddyfile), "--adapter", "caddyfile"]
        tls = ssl.create_default_context(cafile=tmp_path / "ca.pem")
        url = f"https://127.0.0.1:{port}"
        with running(command, url, tls, **caddy_home(tmp_path)):
            assert_the_app_sees_each_client_and_https(url, tls)
