"""Without Chromium the browser tests skip on a laptop and fail under CI."""
from __future__ import annotations

import pytest

from tests.browser.conftest import no_browser


def test_a_missing_browser_skips_naming_the_debian_packages(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="`chromium` and `chromium-driver`"):
        no_browser("Chromium was not found")


def test_a_missing_browser_fails_under_ci(monkeypatch):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="chromium-driver"):
        no_browser("Chromium was not found")
