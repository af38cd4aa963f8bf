"""Real app servers for tests and the load bench: gunicorn on 127.0.0.1, and a small browser that signs in and fills forms.

Only the standard library, so the tests and the bench share it without extra dependencies.
"""
from __future__ import annotations

import html
import http.client
import http.cookiejar
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
DEPLOY = REPO / "deploy"
GUNICORN_CONF = DEPLOY / "gunicorn.conf.py"
# A studio form's field errors, and its error flash (a refused save, a duplicate warning).
ERROR_MESSAGES = re.compile(r'<ul class="errors"[^>]*>(.*?)</ul>|<p class="flash flash-error[^"]*">(.*?)</p>', re.S)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


@contextmanager
def throwaway_database(postgres: bool, prefix: str) -> Iterator[tuple[str, Path]]:
    """A bench's database URL and scratch folder: a SQLite file in that folder, or with `postgres` a database
    on a throwaway PostgreSQL cluster (tests/postgres.py). Both are removed afterwards."""
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    cluster = None
    try:
        if postgres:
            from tests.postgres import start_throwaway_cluster

            cluster = start_throwaway_cluster()
            with cluster.connect() as connection:
                connection.execute('CREATE DATABASE "bench"')
            yield cluster.url("bench"), workdir
        else:
            yield f"sqlite:///{workdir / 'afterimage.db'}", workdir
    finally:
        if cluster is not None:
            from tests.postgres import remove_cluster

            remove_cluster(cluster)
        shutil.rmtree(workdir, ignore_errors=True)


@dataclass
class AppServer:
    """One gunicorn master (and its workers) serving the site on 127.0.0.1, with the shipped deploy/gunicorn.conf.py."""

    database_url: str
    # One worker for tests; the bench passes the production count (the config's default from the cores).
    workers: int | None = 1
    # None: the config's own (sync workers, one thread); the bench overrides them to compare.
    threads: int | None = None
    worker_class: str | None = None
    port: int = field(default_factory=free_port)
    extra_env: dict = field(default_factory=dict)
    log_path: Path | None = None
    # Seconds a worker may spend on one request; None: the config's (sized for a large import).
    timeout: int | None = None
    process: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        """http://127.0.0.1:PORT"""
        return f"http://{HOST}:{self.port}"

    @property
    def address(self) -> str:
        """127.0.0.1:PORT, as nginx's upstream names it."""
        return f"{HOST}:{self.port}"

    def command(self) -> list[str]:
        """The production command (`gunicorn -c deploy/gunicorn.conf.py`), with this object's overrides."""
        command = [sys.executable, "-m", "gunicorn", "--config", str(GUNICORN_CONF)]
        for flag, value in (("--worker-class", self.worker_class), ("--threads", self.threads),
                            ("--timeout", self.timeout)):
            if value is not None:
                command += [flag, str(value)]
        return command

    def environment(self) -> dict:
        """The server's environment: the database, a key, the address (AFTERIMAGE_BIND) and worker count."""
        env = {
            **os.environ, "DATABASE_URL": self.database_url, "SECRET_KEY": "load-and-fault-tests",
            "PYTHONUNBUFFERED": "1", "AFTERIMAGE_BIND": self.address, **self.extra_env,
        }
        if self.workers is not None:
            env["AFTERIMAGE_WORKERS"] = str(self.workers)
        return env

    def start(self, wait: float = 60.0) -> AppServer:
        """Start gunicorn in its own process group and wait until /healthz answers."""
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        try:
            self.process = subprocess.Popen(
                self.command(), cwd=REPO, env=self.environment(), stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        finally:
            if self.log_path:
                log.close()
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}; log: {self.log_path}")
            try:
                with urllib.request.urlopen(f"{self.base_url}/healthz", timeout=2) as response:
                    if response.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, TimeoutError, http.client.HTTPException):
                time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"gunicorn did not answer on {self.base_url} within {wait}s")

    def stop(self) -> None:
        """Graceful stop (SIGTERM to the master), SIGKILL to the group if it lingers."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """SIGKILL the master and its workers at once, as a crash or the OOM killer would."""
        if self.process is None or self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=15)

    def __enter__(self) -> AppServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def nginx_binary() -> str | None:
    """Debian's nginx (/usr/sbin is not on every user's PATH), or None when it is not installed."""
    return shutil.which("nginx", path=f"{os.environ.get('PATH', '')}:/usr/sbin:/sbin")


def render_nginx_site(values: dict[str, str]) -> str:
    """deploy/nginx-site.conf with its ${AFTERIMAGE_...} placeholders filled in, as `envsubst` would; nginx's own
    $variables stay. A placeholder without a value is an error, never an empty string in the config."""
    text = (DEPLOY / "nginx-site.conf").read_text()
    missing = sorted(set(re.findall(r"\$\{(AFTERIMAGE_[A-Z_]+)\}", text)) - set(values))
    if missing:
        raise KeyError(f"deploy/nginx-site.conf needs values for {', '.join(missing)}")
    return re.sub(r"\$\{(AFTERIMAGE_[A-Z_]+)\}", lambda match: values[match.group(1)], text)


@dataclass
class NginxProxy:
    """The shipped nginx configuration (deploy/nginx.conf around deploy/nginx-site.conf) in front of an app server,
    run in the foreground as in a scratch folder of its own, listening on 127.0.0.1."""

    upstream: str  # host:port of gunicorn
    studio_upstream: str | None = None  # host:port of the studio's gunicorn; the same as `upstream` when None
    port: int = field(default_factory=free_port)
    run_dir: Path | None = None
    process: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        """http://127.0.0.1:PORT"""
        return f"http://{HOST}:{self.port}"

    def write_config(self) -> Path:
        """A scratch folder with nginx.conf and the site filled in for this port and upstream; returns nginx.conf."""
        self.run_dir = Path(tempfile.mkdtemp(prefix="afterimage-nginx-"))
        (self.run_dir / "temp").mkdir()
        (self.run_dir / "nginx-site.conf").write_text(render_nginx_site({
            "AFTERIMAGE_LISTEN": f"{HOST}:{self.port}",
            "AFTERIMAGE_SERVER_NAME": HOST,
            "AFTERIMAGE_UPSTREAM": self.upstream,
            "AFTERIMAGE_STUDIO_UPSTREAM": self.studio_upstream or self.upstream,
            "AFTERIMAGE_STATIC": str(REPO / "static"),
            "AFTERIMAGE_CACHE_DIR": str(self.run_dir / "cache"),
        }))
        shutil.copyfile(DEPLOY / "nginx.conf", self.run_dir / "nginx.conf")
        return self.run_dir / "nginx.conf"

    def command(self, config: Path) -> list[str]:
        """nginx in the foreground, every path under the scratch folder (-e: even its first error log line)."""
        binary = nginx_binary()
        if binary is None:
            raise FileNotFoundError("nginx is not installed (Debian package `nginx`)")
        # Started as root (CI), nginx would run its workers as nobody, who may not read a checkout under /root.
        directives = "daemon off; user root;" if os.geteuid() == 0 else "daemon off;"
        return [binary, "-p", f"{self.run_dir}/", "-e", str(self.run_dir / "error.log"), "-c", str(config),
                "-g", directives]

    def start(self, wait: float = 30.0) -> NginxProxy:
        """Start nginx and wait until the app's /healthz answers through it."""
        config = self.write_config()
        self.process = subprocess.Popen(self.command(config), cwd=self.run_dir, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nginx exited with {self.process.returncode}: {self.error_log()}")
            try:
                with urllib.request.urlopen(f"{self.base_url}/healthz", timeout=2) as response:
                    if response.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, TimeoutError, http.client.HTTPException):
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"nginx did not answer on {self.base_url} within {wait}s: {self.error_log()}")

    def error_log(self) -> str:
        """The end of nginx's error log, for failure messages."""
        path = self.run_dir / "error.log" if self.run_dir else None
        return path.read_text(errors="replace")[-2000:] if path and path.exists() else "(no error log)"

    def stop(self, keep_logs_in: Path | None = None) -> None:
        """Fast shutdown (SIGTERM to the master), SIGKILL to the group if it lingers; the scratch folder goes, its
        logs first copied to `keep_logs_in` if given."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=15)
        if self.run_dir is not None:
            if keep_logs_in is not None:
                for log in ("access.log", "error.log"):
                    if (self.run_dir / log).exists():
                        shutil.copyfile(self.run_dir / log, keep_logs_in / f"nginx-{log}")
            shutil.rmtree(self.run_dir, ignore_errors=True)

    def __enter__(self) -> NginxProxy:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class FormFields(HTMLParser):
    """The fields of every <form> on a page, as the browser would submit them untouched."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[dict] = []
        self._textarea: str | None = None
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append({"action": attrs.get("action") or "", "method": (attrs.get("method") or "get").lower(),
                               "fields": {}})
            return
        if not self.forms:
            return
        fields = self.forms[-1]["fields"]
        name = attrs.get("name")
        if tag == "input" and name:
            kind = (attrs.get("type") or "text").lower()
            if kind in ("checkbox", "radio"):
                if "checked" in attrs:
                    fields[name] = attrs.get("value", "on")
            elif kind not in ("submit", "button", "file", "image", "reset"):
                fields[name] = attrs.get("value") or ""
        elif tag == "textarea" and name:
            self._textarea = name
            fields[name] = ""
        elif tag == "select" and name:
            self._select = name
            fields.setdefault(name, "")
        elif tag == "option" and self._select and ("selected" in attrs or not fields.get(self._select)):
            fields[self._select] = attrs.get("value", "")

    def handle_endtag(self, tag):
        if tag == "textarea":
            # Browsers drop the one line break that may follow <textarea>.
            fields = self.forms[-1]["fields"] if self.forms else {}
            if self._textarea in fields:
                value = fields[self._textarea]
                fields[self._textarea] = value[2:] if value.startswith("\r\n") else value.removeprefix("\n")
            self._textarea = None
        elif tag == "select":
            self._select = None

    def handle_data(self, data):
        if self._textarea and self.forms:
            self.forms[-1]["fields"][self._textarea] += data


def page_forms(html: str) -> list[dict]:
    """Every form on a page with its current values."""
    parser = FormFields()
    parser.feed(html)
    return parser.forms


class Browser:
    """A cookie-keeping client for one server: GET pages, sign in, submit forms (CSRF token included)."""

    def __init__(self, base_url: str, timeout: float = 60.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies), NoRedirect)
        self.last_body, self.last_seconds = "", 0.0
        self.last_headers: dict = {}

    def request(self, path: str, data: bytes | None = None, headers: dict | None = None) -> tuple[int, str, dict]:
        """(status, body text, headers); HTTP errors are answers too, not exceptions."""
        req = urllib.request.Request(self.base_url + path, data=data, headers=headers or {})
        started = time.perf_counter()
        try:
            with self.opener.open(req, timeout=self.timeout) as response:
                answer = response.status, response.read().decode("utf-8", "replace"), dict(response.headers)
        except urllib.error.HTTPError as error:
            answer = error.code, error.read().decode("utf-8", "replace"), dict(error.headers)
        self.last_body, self.last_seconds = answer[1], time.perf_counter() - started
        self.last_headers = answer[2]
        return answer

    def form_errors(self) -> list[str]:
        """The error messages on the last page received (a refused form's fields, a duplicate warning)."""
        found = ERROR_MESSAGES.findall(self.last_body)
        return [" ".join(html.unescape(re.sub(r"<[^>]+>", " ", field or flash)).split()) for field, flash in found]

    def get(self, path: str) -> tuple[int, str]:
        """GET a page: (status, body)."""
        status, body, _ = self.request(path)
        return status, body

    def post_form(self, page: str, changes: dict, action: str | None = None, form_index: int | None = None) -> int:
        """Load `page`, take its form (the one posting to `action`, or the first POST form), change fields, submit."""
        status, html = self.get(page)
        if status != 200:
            raise RuntimeError(f"GET {page} answered {status}")
        forms = [f for f in page_forms(html) if f["method"] == "post"]
        # The page's own form posts to itself; others (sign out, pin, hide) post elsewhere.
        wanted = {action} if action is not None else {"", page, self.base_url + page}
        forms = [f for f in forms if f["action"] in wanted] or forms
        form = forms[form_index or 0]
        target = action or form["action"] or page
        body = urllib.parse.urlencode({**form["fields"], **changes}).encode()
        status, _, _ = self.request(target, body, {"Content-Type": "application/x-www-form-urlencoded",
                                                   "Referer": self.base_url + page})
        return status

    def upload(self, page: str, field_name: str, filename: str, content: bytes, extra: dict | None = None) -> int:
        """Submit the page's upload form with one file (multipart), CSRF token included."""
        status, html = self.get(page)
        forms = [f for f in page_forms(html) if f["method"] == "post"]
        form = ([f for f in forms if f["action"] in ("", page, self.base_url + page)] or forms)[0]
        boundary = uuid.uuid4().hex
        parts = []
        for name, value in {**form["fields"], **(extra or {})}.items():
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{field_name}"; filename="{filename}"\r\n'
            f"Content-Type: text/csv\r\n\r\n".encode() + content + b"\r\n"
        )
        parts.append(f"--{boundary}--\r\n".encode())
        status, _, _ = self.request(form["action"] or page, b"".join(parts), {
            "Content-Type": f"multipart/form-data; boundary={boundary}", "Referer": self.base_url + page,
        })
        return status

    def import_file(self, filename: str, content: bytes) -> int:
        """Upload a file to the studio's import and apply its preview, as the author clicks through both."""
        status = self.upload("/studio/import", "file", filename, content)
        preview = urllib.parse.urlsplit(self.last_headers.get("Location", "")).path
        if status != 303 or not preview.startswith("/studio/import/"):
            return status
        for _ in range(3):
            status = self.post_form(preview, {"do": "apply"})
            # 409: the catalog changed under the preview in a way that changes the plan (her saves in another
            # tab); she looks at the plan again and applies it, as the page asks.
            if status != 409:
                break
        return self.follow_import(status)

    def follow_import(self, status: int) -> int:
        """After the apply: its progress page, read once a second (as its refresh does) until the import is done."""
        progress = urllib.parse.urlsplit(self.last_headers.get("Location", "")).path
        if status != 303 or not progress.endswith("/progress"):
            return status
        while True:
            status, body = self.get(progress)
            if 'http-equiv="refresh"' not in body:
                return status
            time.sleep(1)

    def sign_in(self, name: str, password: str) -> None:
        """Sign in to the studio through its form; raises unless the studio redirects onwards."""
        status = self.post_form("/studio/sign-in", {"name": name, "password": password})
        if status not in (302, 303):
            raise RuntimeError(f"sign-in answered {status}")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    """Redirects are answers to look at (303 after a form), not to follow."""

    def redirect_request(self, *args, **kwargs):
        return None
