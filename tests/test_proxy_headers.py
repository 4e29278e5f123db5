"""The reverse-proxy set-up of docs/deploy.md, run for real: Debian's nginx on loopback with the documented
`server { … }` block in front of `streamlit run ui/app.py`, then Chromium through the proxy (issue 14).

The config is taken from the documentation itself (the ```nginx block), so what a school copies is what is
tested; only the addresses, TLS and file paths are swapped for loopback ones. Asserts the security headers
(CSP with frame-ancestors, X-Frame-Options DENY, nosniff, Referrer-Policy) and that the chat still answers
under that CSP without a single policy violation.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    START_TIMEOUT_S,
    _free_port,
    _require_chromium,
    app_env,
    ingest_for,
    require_tool,
    serve_app,
    wait_healthy,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
DEPLOY_MD = ROOT / "docs" / "deploy.md"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def documented_server_block() -> str:
    """The ```nginx block of docs/deploy.md that holds `server {`."""
    blocks = re.findall(r"```nginx\n(.*?)```", DEPLOY_MD.read_text(encoding="utf-8"), flags=re.DOTALL)
    block = next((b for b in blocks if re.search(r"^server \{", b, flags=re.MULTILINE)), None)
    assert block, "docs/deploy.md has no ```nginx block with a server { } section"
    return block


def loopback_config(block: str, app_port: int, proxy_port: int, work: Path) -> str:
    """The documented config with loopback addresses, no TLS, and every file under `work`."""
    upstream = re.sub(r"^\s*server \d+\.\d+\.\d+\.\d+:\d+.*$", "", block, flags=re.MULTILINE)
    upstream = upstream.replace("ip_hash;", f"ip_hash;\n    server 127.0.0.1:{app_port};", 1)
    conf = re.sub(r"listen 443 ssl;", f"listen 127.0.0.1:{proxy_port};", upstream)
    conf = re.sub(r"^\s*ssl_certificate\S*\s+[^;]+;", "", conf, flags=re.MULTILINE)
    temp = "\n".join(f"    {name}_temp_path {work / name};" for name in
                     ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    return (f"pid {work / 'nginx.pid'};\nerror_log {work / 'error.log'};\nevents {{}}\n"
            f"http {{\n    access_log off;\n{temp}\n{conf}\n}}\n")


@pytest.fixture(scope="module")
def proxy_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    require_tool(Path(NGINX), "install Debian's nginx (apt-get install nginx-light) to run the proxy test")
    _require_chromium()
    work = tmp_path_factory.mktemp("nginx")
    data_dir = tmp_path_factory.mktemp("proxy-data")
    env = app_env(data_dir)
    ingest_for(env)
    with serve_app(env, data_dir / "streamlit.log") as app_url:
        port = _free_port()
        conf = work / "nginx.conf"
        conf.write_text(loopback_config(documented_server_block(), int(app_url.rsplit(":", 1)[1]), port, work))
        check = subprocess.run([NGINX, "-t", "-p", str(work), "-c", str(conf)], capture_output=True, text=True)
        assert check.returncode == 0, check.stderr
        log = work / "nginx.out"
        with log.open("wb") as out:
            proc = subprocess.Popen([NGINX, "-p", str(work), "-c", str(conf), "-g", "daemon off;"],
                                    stdout=out, stderr=subprocess.STDOUT)
        try:
            url = f"http://127.0.0.1:{port}"
            wait_healthy(url, proc, work / "error.log", name="nginx", timeout_s=30)
            yield url
        finally:
            proc.terminate()
            proc.wait(timeout=15)


def test_documented_proxy_sends_the_security_headers(proxy_url: str) -> None:
    for path in ("/", "/_stcore/health", "/bronnen"):
        with urllib.request.urlopen(proxy_url + path, timeout=10) as resp:
            headers = {k.lower(): v for k, v in resp.headers.items()}
        csp = headers.get("content-security-policy", "")
        directives = {d.split()[0]: d.split()[1:] for d in csp.split(";") if d.strip()}
        assert directives.get("frame-ancestors") == ["'none'"], (path, csp)
        assert directives.get("default-src") == ["'self'"], (path, csp)
        assert directives.get("object-src") == ["'none'"], (path, csp)
        # Nothing the page loads may come from outside the machine: no source list names another host.
        assert not [s for values in directives.values() for s in values
                    if re.match(r"^(https?:|wss?:|\*|[a-z0-9.-]+\.[a-z]{2,})", s)], csp
        assert headers.get("x-frame-options") == "DENY", path
        assert headers.get("x-content-type-options") == "nosniff", path
        assert headers.get("referrer-policy") == "no-referrer", path


def test_chat_answers_through_the_proxy_without_csp_violations(proxy_url: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1400})
            violations: list[str] = []
            page.on("console", lambda m: violations.append(m.text)
                    if "Content Security Policy" in m.text else None)
            page.goto(proxy_url)
            chat = page.get_by_test_id("stChatInputTextArea")
            expect(chat).to_be_enabled(timeout=START_TIMEOUT_S * 1000)
            chat.fill("Hoe betrekken we ouders die slecht Nederlands spreken?")
            chat.press("Enter")
            reply = page.get_by_test_id("stChatMessage").nth(1)
            expect(reply.get_by_text("Bronnen", exact=True)).to_be_visible(timeout=60_000)
            for path in ("bronnen", "over"):
                page.goto(f"{proxy_url}/{path}")
                expect(page.get_by_test_id("stMain")).to_be_visible(timeout=30_000)
                page.wait_for_timeout(1500)
            assert violations == [], violations
        finally:
            browser.close()
