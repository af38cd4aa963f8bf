"""Security headers on every response, CORS only on the API, safe session cookies and no secret key in the source."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from app import create_app
from tests.site.test_hostile_input import get_routes, known_good_paths, path_variants
from tests.studio.test_studio_fixtures import add_author, sign_in

REPO = Path(__file__).resolve().parents[2]


def fetch(client, url: str, **kwargs):
    """GET and close (static files hold an open file until closed)."""
    response = client.get(url, **kwargs)
    response.get_data()
    response.close()
    return response


def frameable(url: str) -> bool:
    """The widget blueprint's pages and files are made to be embedded on other sites."""
    return url.startswith(("/widget", "/oembed"))


def every_get_url(app) -> list[str]:
    """One URL per GET route (unknown values where the route takes any), plus the demo's real pages."""
    urls = [path_variants(rule)[0] if rule.arguments else rule.rule for rule in get_routes(app)]
    return urls + known_good_paths(app) + ["/static/css/site.css", "/no/such/page"]


def directives(csp: str) -> dict[str, str]:
    """A CSP header as {directive: sources}."""
    return {part.split()[0]: " ".join(part.split()[1:]) for part in csp.split(";") if part.strip()}


def check_headers(url: str, response, frameable: bool) -> list[str]:
    """What is missing or wrong in one response's security headers."""
    problems = []
    csp = response.headers.get("Content-Security-Policy", "")
    policy = directives(csp)
    if not csp:
        return [f"{url}: no Content-Security-Policy"]
    for name in ("script-src", "style-src"):
        if "'unsafe-inline'" in policy.get(name, "") or "'unsafe-eval'" in policy.get(name, ""):
            problems.append(f"{url}: {name} allows unsafe inline or eval")
    # Inline code is allowed only by hash (the widget's fixed inline script); a nonce would be replayed by
    # caches to readers it was not made for.
    scripts = policy.get("script-src", policy.get("default-src", ""))
    if not scripts or not all(re.fullmatch(r"'self'|'sha(256|384|512)-[A-Za-z0-9+/=]+'", s) for s in scripts.split()):
        problems.append(f"{url}: script-src allows more than this site's files and hashed inline code")
    if policy.get("object-src", policy.get("default-src")) != "'none'":
        problems.append(f"{url}: plugins (object-src) are not refused")
    if response.headers.get("X-Content-Type-Options") != "nosniff":
        problems.append(f"{url}: no nosniff")
    if not response.headers.get("Referrer-Policy"):
        problems.append(f"{url}: no Referrer-Policy")
    if frameable:
        if response.headers.get("X-Frame-Options"):
            problems.append(f"{url}: widget refuses framing")
    elif policy.get("frame-ancestors") != "'none'" or response.headers.get("X-Frame-Options") != "DENY":
        problems.append(f"{url}: framing not refused")
    return problems


def test_every_response_carries_the_security_headers(demo_app, demo_client):
    problems = []
    for url in every_get_url(demo_app):
        problems += check_headers(url, fetch(demo_client, url), frameable=frameable(url))
    assert problems == []


def test_the_signed_in_studio_carries_them_too_and_is_never_framed(demo_app, client):
    add_author(demo_app)
    assert sign_in(client).status_code == 303
    problems = []
    for url in [u for u in every_get_url(demo_app) if u.startswith("/studio")]:
        response = fetch(client, url)
        if url.endswith("/paste/preview") and response.status_code == 200:
            # Her blog block as a blog shows it, inline styles and all, in the studio's own frame: it may style
            # inline but runs nothing, submits nothing and is framed by nothing else.
            policy = directives(response.headers["Content-Security-Policy"])
            assert policy["default-src"] == "'none'" and "script-src" not in policy, url
            assert policy["form-action"] == "'none'" and policy["frame-ancestors"] == "'self'", url
            continue
        problems += check_headers(url, response, frameable=False)
    assert problems == []


def test_a_cached_page_replays_the_same_policy_to_every_reader(demo_client):
    """A caching proxy replays one body and its headers to many readers: nothing in them is per-request."""
    first = demo_client.get("/")
    second = demo_client.get("/")
    assert first.headers["Content-Security-Policy"] == second.headers["Content-Security-Policy"]
    assert first.get_data() == second.get_data()


def test_pages_have_no_inline_code_the_policy_would_block(demo_app, demo_client):
    """Without unsafe-inline, an inline script or style runs only if the policy names its hash (the widget)."""
    problems = []
    for url in every_get_url(demo_app):
        response = fetch(demo_client, url)
        if response.mimetype != "text/html":
            continue
        hashed = "sha256-" in response.headers["Content-Security-Policy"]
        html = response.get_data(as_text=True)
        for tag in re.findall(r"<(?:script|style)\b[^>]*>", html):
            # With hashes in the policy (the widget), the browser test checks that the inline code matches.
            if "application/ld+json" in tag:
                continue  # a data block, never executed
            if not hashed and "src=" not in tag:
                problems.append(f"{url}: {tag}")
        if re.search(r"<[^>]+\son[a-z]+\s*=", html):
            problems.append(f"{url}: inline event handler attribute")
    assert problems == []


def test_cors_only_on_api_gets_and_never_with_credentials(demo_app, demo_client):
    problems = []
    for url in every_get_url(demo_app):
        response = fetch(demo_client, url, headers={"Origin": "https://blog.example"})
        allowed = response.headers.get("Access-Control-Allow-Origin")
        if response.headers.get("Access-Control-Allow-Credentials"):
            problems.append(f"{url}: CORS with credentials")
        # /oembed is read by embedding sites' scripts too; it is public, read-only JSON like the API.
        if allowed and not (url.startswith("/api/") or url.startswith("/oembed")):
            problems.append(f"{url}: CORS outside the API")
        if allowed not in (None, "*"):
            problems.append(f"{url}: CORS echoes an origin ({allowed})")
    assert problems == []
    assert demo_client.get("/api/v1/items").headers.get("Access-Control-Allow-Origin") == "*"


def test_the_session_cookie_is_httponly_lax_and_secure_over_https(demo_app, client):
    add_author(demo_app)
    response = sign_in(client)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain http on a laptop: a Secure cookie would never come back

    https, site = demo_app.test_client(), "https://afterimage.example"
    token_page = https.get("/studio/sign-in", base_url=site)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', token_page.get_data(as_text=True)).group(1)
    # Over HTTPS, Flask-WTF also wants a same-origin Referer.
    response = https.post("/studio/sign-in", base_url=site, headers={"Referer": f"{site}/studio/sign-in"},
                          data={"csrf_token": token, "name": "Mina", "password": "correct horse battery"})
    assert response.status_code == 303
    assert "Secure" in response.headers["Set-Cookie"]


def test_session_cookie_secure_can_be_forced_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("AFTERIMAGE_SESSION_COOKIE_SECURE", "true")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'env.db'}")
    monkeypatch.setenv("SECRET_KEY", "from-the-environment")
    app = create_app()
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SECRET_KEY"] == "from-the-environment"


def test_without_secret_key_one_is_generated_in_instance_and_kept(monkeypatch, tmp_path):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'env.db'}")
    first = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'a.db'}"})
    key_file = Path(first.instance_path) / "secret_key"
    assert key_file.exists() and oct(key_file.stat().st_mode & 0o777) == "0o600"
    assert len(first.config["SECRET_KEY"]) >= 32
    second = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'a.db'}"})
    assert second.config["SECRET_KEY"] == first.config["SECRET_KEY"]


def test_no_secret_key_is_committed_to_the_source():
    try:
        tracked = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    offenders = []
    pattern = re.compile(r"""SECRET_KEY\s*[=:]\s*['"][^'"]{8,}['"]""")
    for name in tracked.splitlines():
        if name.startswith("tests/") or not name.endswith((".py", ".cfg", ".toml", ".ini", ".env", ".json")):
            continue
        path = REPO / name
        if path.exists() and pattern.search(path.read_text(errors="replace")):
            offenders.append(name)
    assert offenders == []
    assert "instance/*" in (REPO / ".gitignore").read_text()


def test_behind_a_trusted_proxy_https_is_believed_and_the_cookie_is_secure(database_url):
    app = create_app({"TESTING": True, "SECRET_KEY": "k", "SQLALCHEMY_DATABASE_URI": database_url, "PROXY_COUNT": 1})
    from afterimage.extensions import db

    with app.app_context():
        db.create_all()
    add_author(app)
    client = app.test_client()
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "films.example", "X-Forwarded-For": "203.0.113.9"}
    page = client.get("/studio/sign-in", headers=forwarded)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.get_data(as_text=True)).group(1)
    response = client.post("/studio/sign-in", headers={**forwarded, "Referer": "https://films.example/studio/sign-in"},
                           data={"csrf_token": token, "name": "Mina", "password": "correct horse battery"})
    assert response.status_code == 303
    assert "Secure" in response.headers["Set-Cookie"]
    feed = client.get("/feeds/items.atom", headers=forwarded).get_data(as_text=True)
    assert "https://films.example/" in feed and "http://localhost" not in feed
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_without_proxy_count_forwarded_headers_are_ignored(app, client):
    add_author(app)
    forwarded = {"X-Forwarded-Proto": "https"}
    page = client.get("/studio/sign-in", headers=forwarded)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.get_data(as_text=True)).group(1)
    response = client.post("/studio/sign-in", headers=forwarded,
                           data={"csrf_token": token, "name": "Mina", "password": "correct horse battery"})
    assert response.status_code == 303 and "Secure" not in response.headers["Set-Cookie"]
