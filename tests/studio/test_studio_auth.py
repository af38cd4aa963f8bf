"""Signing in to the studio: accounts, sessions, throttling, and no studio page for anonymous visitors."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from afterimage.accounts import auth
from afterimage.accounts.models import Author, AuthorSession, SignInAttempt
from afterimage.catalog.models import utcnow
from afterimage.extensions import db
from tests.conftest import csrf_token_from
from tests.studio.test_studio_fixtures import PASSWORD, add_author, author_client, post_form, sign_in  # noqa: F401


LONG_PASSWORD = "paper lanterns at dusk"


def test_author_create_asks_for_the_password_twice_and_keeps_only_a_scrypt_hash(app, runner):
    result = runner.invoke(args=["author", "create", "Mina"], input=f"{LONG_PASSWORD}\n{LONG_PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert "created" in result.output
    assert "lanterns" not in result.output
    with app.app_context():
        author = db.session.scalar(sa.select(Author))
        assert author.name == "Mina"
        assert author.password_hash.startswith("scrypt:")


def test_the_site_hashes_with_werkzeugs_full_scrypt_unless_configured_otherwise(database_url):
    from app import create_app

    # Built without the test apps' small work factor (tests/conftest.py), as the site runs.
    site = create_app({"TESTING": True, "SECRET_KEY": "test-secret-key", "SQLALCHEMY_DATABASE_URI": database_url})
    with site.app_context():
        db.create_all()
    twice = f"{LONG_PASSWORD}\n{LONG_PASSWORD}\n"
    result = site.test_cli_runner().invoke(args=["author", "create", "Mina"], input=twice)
    assert result.exit_code == 0, result.output
    with site.app_context():
        assert db.session.scalar(sa.select(Author.password_hash)).startswith("scrypt:32768:8:1$")
        db.session.remove()
        db.engine.dispose()


def test_author_create_refuses_passwords_that_differ_and_names_that_exist(app, runner):
    result = runner.invoke(args=["author", "create", "Mina"],
                           input=f"{LONG_PASSWORD}\nanother long one\n{LONG_PASSWORD}\n{LONG_PASSWORD}\n")
    assert "do not match" in result.output
    assert result.exit_code == 0
    again = runner.invoke(args=["author", "create", "mina"], input="x\nx\n")
    assert again.exit_code != 0
    assert "already exists" in again.output


def test_author_password_command_resets_a_password_and_ends_sessions(app, client, runner):
    add_author(app)
    sign_in(client)
    result = runner.invoke(args=["author", "password", "Mina"], input="new password 1\nnew password 1\n")
    assert result.exit_code == 0, result.output
    assert client.get("/studio/").status_code == 302
    assert sign_in(client, password="new password 1").status_code == 303


def test_signing_in_with_the_right_password_opens_the_studio(app, client):
    add_author(app)
    response = sign_in(client)
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/studio/")
    page = client.get("/studio/")
    assert page.status_code == 200
    assert "Signed in as Mina" in page.get_data(as_text=True)


def test_a_wrong_password_is_refused_with_a_clear_message(app, client):
    add_author(app)
    response = sign_in(client, password="nope")
    assert response.status_code == 401
    assert "do not match an author account" in response.get_data(as_text=True)
    assert client.get("/studio/").status_code == 302


def test_sign_in_returns_to_the_studio_page_asked_for_but_never_elsewhere(app, client):
    add_author(app)
    assert client.get("/studio/tags").headers["Location"].startswith("/studio/sign-in?next=/studio/tags")
    token = csrf_token_from(client.get("/studio/sign-in?next=/studio/tags").get_data(as_text=True))
    response = client.post("/studio/sign-in", data={"csrf_token": token, "name": "Mina", "password": PASSWORD,
                                                    "next": "/studio/tags"})
    assert response.headers["Location"] == "/studio/tags"
    client.post("/studio/sign-out", data={"csrf_token": csrf_token_from(client.get("/studio/").get_data(as_text=True))})
    token = csrf_token_from(client.get("/studio/sign-in").get_data(as_text=True))
    response = client.post("/studio/sign-in", data={"csrf_token": token, "name": "Mina", "password": PASSWORD,
                                                    "next": "https://evil.example/"})
    assert response.headers["Location"] == "/studio/"


def test_sign_in_issues_a_fresh_session_token_so_a_planted_session_is_useless(app, client):
    add_author(app)
    with client.session_transaction() as s:
        s[auth.SESSION_KEY] = "planted-by-an-attacker"
        s["leftover"] = "x"
    sign_in(client)
    with client.session_transaction() as s:
        assert s[auth.SESSION_KEY] != "planted-by-an-attacker"
        assert "leftover" not in s
        token = s[auth.SESSION_KEY]
    with app.app_context():
        row = db.session.scalar(sa.select(AuthorSession))
        assert row.token_hash == auth.token_hash(token)
        assert token not in row.token_hash


def test_signing_out_kills_a_copied_session_cookie(app, client):
    add_author(app)
    sign_in(client)
    with client.session_transaction() as s:
        stolen = dict(s)
    page = client.get("/studio/").get_data(as_text=True)
    response = client.post("/studio/sign-out", data={"csrf_token": csrf_token_from(page)})
    assert response.status_code == 303
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(AuthorSession.id))) == 0
    thief = app.test_client()
    with thief.session_transaction() as s:
        s.update(stolen)
    assert thief.get("/studio/").status_code == 302


def test_the_session_cookie_is_httponly_lax_and_secure_over_https(app, client):
    add_author(app)
    token = csrf_token_from(client.get("/studio/sign-in", base_url="https://localhost").get_data(as_text=True))
    # Over HTTPS Flask-WTF also checks the Referer, as a browser sends it.
    response = client.post("/studio/sign-in", base_url="https://localhost",
                           headers={"Referer": "https://localhost/studio/sign-in"}, data={"csrf_token": token, "name": "Mina", "password": PASSWORD})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie
    plain = app.test_client()
    add_author(app, "Other")
    cookie = sign_in(plain, "Other").headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "Secure" not in cookie


def age_attempts(app, by: timedelta) -> None:
    """Move every recorded sign-in attempt back in time, as if `by` had passed."""
    with app.app_context():
        for attempt in db.session.scalars(sa.select(SignInAttempt)):
            attempt.at = attempt.at - by
        db.session.commit()


def from_address(app, address: str):
    """A client whose requests come from another address."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def test_repeated_failures_slow_sign_in_down_then_refuse_that_address_for_a_while(app, client):
    add_author(app)
    for _ in range(auth.SLOW_DOWN_AFTER):
        assert sign_in(client, password="wrong").status_code == 401
    slowed = sign_in(client)  # even the right password must wait, from this address
    assert slowed.status_code == 429
    assert "Please wait" in slowed.get_data(as_text=True)

    age_attempts(app, timedelta(minutes=1))
    for _ in range(auth.LOCK_PAIR_AFTER - auth.SLOW_DOWN_AFTER):
        sign_in(client, password="wrong")
        age_attempts(app, timedelta(seconds=auth.MAX_WAIT_SECONDS + 1))
    locked = sign_in(client)
    assert locked.status_code == 429
    assert "Too many failed sign-ins for this account from your address" in locked.get_data(as_text=True)
    age_attempts(app, auth.ATTEMPT_WINDOW)
    assert sign_in(client).status_code == 303


def test_a_stranger_failing_from_many_addresses_never_locks_the_author_out(app):
    add_author(app)
    # Ten guesses every fifteen minutes used to refuse the account from everywhere; now from thirty addresses:
    for n in range(30):
        stranger = from_address(app, f"198.51.100.{n}")
        for _ in range(auth.SLOW_DOWN_AFTER):
            sign_in(stranger, password="wrong guess")  # refused (429) once the account is under attack
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(SignInAttempt.id))) >= 30
    assert sign_in(from_address(app, "203.0.113.7")).status_code == 303


def test_an_address_that_failed_itself_waits_a_bounded_time_while_the_account_is_under_attack(app):
    add_author(app)
    for n in range(auth.ACCOUNT_SLOW_DOWN_AFTER):
        sign_in(from_address(app, f"198.51.100.{n}"), password="wrong guess")
    hers = from_address(app, "203.0.113.7")
    assert sign_in(hers, password="a typo").status_code == 401
    waiting = sign_in(hers)
    assert waiting.status_code == 429
    assert "Please wait" in waiting.get_data(as_text=True)
    age_attempts(app, timedelta(seconds=auth.ACCOUNT_WAIT_SECONDS + 1))
    assert sign_in(hers).status_code == 303


def test_another_authors_failures_on_a_shared_address_do_not_refuse_her(app, client):
    add_author(app)
    add_author(app, "Noor")
    for _ in range(auth.SLOW_DOWN_AFTER + 2):
        sign_in(client, name="Noor", password="wrong")
    assert sign_in(app.test_client()).status_code == 303


def test_failures_from_one_address_are_counted_across_account_names(app, client, monkeypatch):
    monkeypatch.setattr(auth, "LOCK_ADDRESS_AFTER", 4)
    monkeypatch.setattr(auth, "SLOW_DOWN_AFTER", 100)
    add_author(app)
    for n in range(4):
        sign_in(client, name=f"guess{n}", password="wrong")
    refused = sign_in(client)
    assert refused.status_code == 429
    assert "your address" in refused.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(SignInAttempt.id))) == 4


@pytest.mark.parametrize("password, message", [
    ("x", "Use at least 12 characters"),
    ("short pass", "Use at least 12 characters"),
    ("qwerty123456", "one of the most common"),
    ("Q1W2E3R4T5Y6", "one of the most common"),
])
def test_author_create_refuses_short_and_common_passwords(app, runner, password, message):
    result = runner.invoke(args=["author", "create", "Mina"], input=f"{password}\n{password}\n")
    assert message in result.output
    assert result.exit_code != 0  # it asks again, and the input has run out
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Author.id))) == 0


def test_author_password_refuses_a_short_password_then_takes_a_good_one(app, runner):
    add_author(app)
    result = runner.invoke(args=["author", "password", "Mina"], input=f"short\nshort\n{LONG_PASSWORD}\n{LONG_PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert "Use at least 12 characters" in result.output


def test_changing_the_password_checks_the_current_one_and_signs_out_other_browsers(app, client):
    add_author(app)
    sign_in(client)
    other = app.test_client()
    sign_in(other)
    wrong = post_form(client, "/studio/password", {"current": "nope", "new": "a new password", "confirm": "a new password"})
    assert "That is not your current password." in wrong.get_data(as_text=True)
    short = post_form(client, "/studio/password", {"current": PASSWORD, "new": "short", "confirm": "short"})
    assert "Use at least 8 characters." in short.get_data(as_text=True)
    differ = post_form(client, "/studio/password", {"current": PASSWORD, "new": "a new password", "confirm": "another"})
    assert "The two new passwords differ." in differ.get_data(as_text=True)
    done = post_form(client, "/studio/password", {"current": PASSWORD, "new": "a new password", "confirm": "a new password"})
    assert done.status_code == 303
    assert client.get("/studio/").status_code == 200
    assert other.get("/studio/").status_code == 302
    assert sign_in(app.test_client(), password="a new password").status_code == 303


def test_an_expired_session_is_no_longer_signed_in(app, client):
    add_author(app)
    sign_in(client)
    with app.app_context():
        row = db.session.scalar(sa.select(AuthorSession))
        row.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    assert client.get("/studio/").status_code == 302


def studio_rules(app):
    """Every studio URL rule except sign-in, with placeholder arguments."""
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/studio") and rule.endpoint != "studio.sign_in":
            yield rule, rule.rule.replace("<int:", "<").replace("<item_id>", "1").replace("<target_id>", "2") \
                .replace("<tag_id>", "1").replace("<list_id>", "1").replace("<entry_id>", "1") \
                .replace("<token>", "A" * 43)


def test_every_studio_route_refuses_anonymous_visitors(demo_app, client):
    token = csrf_token_from(client.get("/studio/sign-in").get_data(as_text=True))
    rules = list(studio_rules(demo_app))
    assert len(rules) >= 20
    for rule, url in rules:
        assert "<" not in url, f"add a placeholder for {rule.rule}"
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if method == "GET":
                response = client.get(url)
                assert response.status_code == 302, url
                assert "/studio/sign-in" in response.headers["Location"]
                json = client.get(url, headers={"Accept": "application/json"})
                assert json.status_code == 401, url
                assert json.get_json()["error"] == "Unauthorized"
            else:
                response = client.open(url, method=method, data={"csrf_token": token})
                assert response.status_code == 401, f"{method} {url}"


def test_a_post_without_a_csrf_token_is_refused_even_when_signed_in(app, client):
    add_author(app)
    sign_in(client)
    assert client.post("/studio/lists/new", data={"title": "No token"}).status_code == 400
    assert client.post("/studio/sign-out").status_code == 400
    assert client.get("/studio/").status_code == 200


@pytest.mark.parametrize("path", ["/studio/", "/studio/items/new", "/studio/import"])
def test_studio_pages_are_never_cached(author_client, path):
    assert "no-store" in author_client.get(path).headers["Cache-Control"]


def test_author_names_match_without_case_even_with_accents(app, client, runner):
    result = runner.invoke(args=["author", "create", "Émilie"], input="long enough pw\nlong enough pw\n")
    assert result.exit_code == 0, result.output
    assert runner.invoke(args=["author", "create", "émilie"], input="x\nx\n").exit_code != 0
    assert sign_in(client, name="ÉMILIE", password="long enough pw").status_code == 303


def test_authors_can_be_listed_and_deleted_from_the_command_line(app, client, runner):
    add_author(app)
    sign_in(client)
    listed = runner.invoke(args=["author", "list"])
    assert "Mina" in listed.output and "1 active session(s)" in listed.output
    deleted = runner.invoke(args=["author", "delete", "mina"], input="y\n")
    assert deleted.exit_code == 0, deleted.output
    assert client.get("/studio/").status_code == 302
    assert "No author accounts yet" in runner.invoke(args=["author", "list"]).output
