"""Signing the author in and out: password checks, throttled guessing, server-side sessions."""
from __future__ import annotations

import functools
import hashlib
import secrets
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from flask import Flask, Request, Response, current_app, g, request, session
from flask.sessions import SecureCookieSessionInterface, SessionMixin
from werkzeug.security import check_password_hash, generate_password_hash

from afterimage.accounts.models import Author, AuthorSession, SignInAttempt
from afterimage.catalog.models import utcnow
from afterimage.extensions import db

SESSION_KEY = "studio_token"
SESSION_LIFETIME = timedelta(days=14)
ATTEMPT_WINDOW = timedelta(minutes=15)
# Failures of one account from one address: after SLOW_DOWN_AFTER each try waits, doubling up to MAX_WAIT_SECONDS;
# after LOCK_PAIR_AFTER that address may not try that account until the window passes. Only the guesser is locked.
SLOW_DOWN_AFTER = 3
MAX_WAIT_SECONDS = 60
LOCK_PAIR_AFTER = 10
# Failures from one address across every account name (guessing names): that address is refused for a while.
LOCK_ADDRESS_AFTER = 30
# Failures of one account from all addresses: past this, every address waits ACCOUNT_WAIT_SECONDS after each of
# its own failures. A slow-down, never a lock: an address that has not failed (hers) is let straight in.
ACCOUNT_SLOW_DOWN_AFTER = 10
ACCOUNT_WAIT_SECONDS = 30
# NIST SP 800-63B: at least 8 characters, longer recommended; the author's account guards the whole site.
MIN_PASSWORD_LENGTH = 12
COMMON_PASSWORDS = 10_000
# A hash of a random password per hashing method, checked for names that do not exist.
_DUMMY_HASH: dict[str, str] = {}


class SignInRefused(Exception):
    """Too many failed sign-ins: the message says how long to wait."""


def name_key(name: str) -> str:
    """Account names compare without case or surrounding spaces."""
    return name.strip().casefold()[:80]


@functools.cache
def common_passwords() -> frozenset[str]:
    """The most common passwords (zxcvbn's list, most frequent first), folded to lower case."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(p.casefold() for p in FREQUENCY_LISTS["passwords"][:COMMON_PASSWORDS])


def password_problem(password: str) -> str | None:
    """Why a new password is refused (NIST SP 800-63B: long enough, not a known common one), or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Use at least {MIN_PASSWORD_LENGTH} characters (a few words make a good password)."
    if password.casefold() in common_passwords():
        return "This password is one of the most common ones; choose another."
    return None


def hash_password(password: str) -> str:
    """A salted hash by PASSWORD_HASH_METHOD: werkzeug's default scrypt, unless the configuration says otherwise."""
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def create_author(name: str, password: str) -> Author:
    """Add an author account; raises ValueError if the name is empty or taken."""
    name = name.strip()
    if not name:
        raise ValueError("An author needs a name.")
    if find_author(name) is not None:
        raise ValueError(f"An author called {name!r} already exists.")
    author = Author(name=name, password_hash=hash_password(password))
    db.session.add(author)
    return author


def find_author(name: str) -> Author | None:
    """The author with this name, ignoring case (in Python: SQLite's lower() knows only ASCII)."""
    key = name_key(name)
    # A site has a handful of authors, so comparing in Python is cheap and exact for "Émilie".
    return next((a for a in db.session.scalars(sa.select(Author)) if name_key(a.name) == key), None)


def set_password(author: Author, password: str) -> None:
    """Store a new password hash and end every session the author had open."""
    author.password_hash = hash_password(password)
    author.password_changed_at = utcnow()
    db.session.execute(sa.delete(AuthorSession).where(AuthorSession.author_id == author.id))


def as_utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; they were stored in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def client_address() -> str:
    """The address the request came from (behind a proxy, configure ProxyFix in the factory)."""
    return (request.remote_addr or "unknown")[:64]


def recent_failures(*conditions) -> list[datetime]:
    """When the failed sign-ins matching the conditions happened within the window, newest first."""
    since = utcnow() - ATTEMPT_WINDOW
    rows = db.session.scalars(
        sa.select(SignInAttempt.at)
        .where(*conditions, SignInAttempt.at >= since, SignInAttempt.succeeded.is_(False))
        .order_by(SignInAttempt.at.desc())
    ).all()
    return [as_utc(r) for r in rows]


def refuse_until(unlock: datetime, message: str) -> None:
    """Raise SignInRefused when `unlock` is still ahead, saying how long to wait."""
    remaining = (unlock - utcnow()).total_seconds()
    if remaining <= 0:
        return
    if remaining > 90:
        minutes = int(remaining // 60) + 1
        wait = f"about {minutes} minutes"
    else:
        seconds = int(remaining) + 1
        wait = f"{seconds} second{'s' if seconds != 1 else ''}"
    raise SignInRefused(message.format(wait=wait))


def check_throttle(name: str, address: str) -> None:
    """Raise SignInRefused when this address has failed too often, for this account or for any.

    Nothing a stranger does from another address can refuse her: the account as a whole is only ever slowed
    down, for the addresses that are themselves failing.
    """
    key = name_key(name)
    by_address = recent_failures(SignInAttempt.address == address)
    if len(by_address) >= LOCK_ADDRESS_AFTER:
        refuse_until(by_address[LOCK_ADDRESS_AFTER - 1] + ATTEMPT_WINDOW,
                     "Too many failed sign-ins from your address. Try again in {wait}.")
    pair = recent_failures(SignInAttempt.address == address, SignInAttempt.name_key == key)
    if len(pair) >= LOCK_PAIR_AFTER:
        refuse_until(pair[LOCK_PAIR_AFTER - 1] + ATTEMPT_WINDOW,
                     "Too many failed sign-ins for this account from your address. Try again in {wait}.")
    if len(pair) >= SLOW_DOWN_AFTER:
        wait = min(MAX_WAIT_SECONDS, 2 ** (len(pair) - SLOW_DOWN_AFTER + 1))
        refuse_until(pair[0] + timedelta(seconds=wait), "Several sign-ins failed. Please wait {wait} before trying again.")
    if pair and len(recent_failures(SignInAttempt.name_key == key)) >= ACCOUNT_SLOW_DOWN_AFTER:
        refuse_until(pair[0] + timedelta(seconds=ACCOUNT_WAIT_SECONDS),
                     "This account has had many failed sign-ins. Please wait {wait} before trying again.")


def authenticate(name: str, password: str, address: str) -> Author | None:
    """The author if the password is right; every try is recorded. Raises SignInRefused when throttled."""
    check_throttle(name, address)
    author = find_author(name)
    if author is None:
        # Spend the same time as a real check, so timing does not reveal which names exist.
        method = current_app.config["PASSWORD_HASH_METHOD"]
        if method not in _DUMMY_HASH:
            _DUMMY_HASH[method] = hash_password(secrets.token_hex(8))
        check_password_hash(_DUMMY_HASH[method], password)
        ok = False
    else:
        ok = check_password_hash(author.password_hash, password)
    db.session.add(SignInAttempt(name_key=name_key(name), address=address, succeeded=ok))
    db.session.commit()
    return author if ok else None


def token_hash(token: str) -> str:
    """What the database keeps of a session token."""
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(author: Author) -> None:
    """A fresh session for the author: nothing from before sign-in survives (no fixation)."""
    session.clear()
    token = secrets.token_urlsafe(32)
    db.session.add(AuthorSession(
        token_hash=token_hash(token), author=author, expires_at=utcnow() + SESSION_LIFETIME,
        address=client_address(), user_agent=(request.user_agent.string or "")[:300],
    ))
    # Old rows are only clutter; sweep them while we are here.
    db.session.execute(sa.delete(AuthorSession).where(AuthorSession.expires_at < utcnow()))
    db.session.execute(sa.delete(SignInAttempt).where(SignInAttempt.at < utcnow() - timedelta(days=1)))
    db.session.commit()
    session[SESSION_KEY] = token
    session.permanent = True


def end_session() -> None:
    """Delete the session row, so a copied cookie is dead, and clear the cookie."""
    token = session.get(SESSION_KEY)
    if token:
        db.session.execute(sa.delete(AuthorSession).where(AuthorSession.token_hash == token_hash(token)))
        db.session.commit()
    session.clear()


def current_author() -> Author | None:
    """The signed-in author for this request, looked up once from the session token."""
    if "author" not in g:
        g.author = None
        token = session.get(SESSION_KEY)
        if isinstance(token, str) and token:
            row = db.session.scalar(sa.select(AuthorSession).where(AuthorSession.token_hash == token_hash(token)))
            if row is not None and as_utc(row.expires_at) > utcnow():
                g.author = row.author
                g.author_session = row
    return g.author


class StudioSessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie, marked Secure whenever the request itself came over HTTPS."""

    def open_session(self, app: Flask, request: Request) -> SessionMixin | None:
        """Without the cookie (every reader), an empty session without building the cookie's signer first."""
        if app.secret_key and not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        """Nothing to write, delete or vary for a session the request never touched (every reader's)."""
        if not session and not session.modified and not session.accessed:
            return
        super().save_session(app, session, response)

    def get_cookie_secure(self, app: Flask) -> bool:
        """Secure if configured, or if this request is HTTPS."""
        if app.config.get("SESSION_COOKIE_SECURE"):
            return True
        try:
            return request.is_secure
        except RuntimeError:
            return False


def install_session_interface(app: Flask) -> None:
    """Use the studio's cookie rules for the whole site (there is one session cookie)."""
    if type(app.session_interface) is SecureCookieSessionInterface:
        app.session_interface = StudioSessionInterface()


def wants_page() -> bool:
    """True for a browser asking for a page, which gets redirected to sign-in instead of a bare 401."""
    if request.method not in ("GET", "HEAD"):
        return False
    if request.is_json:
        return False
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best != "application/json"
