"""Whether the tests run in CI, where a missing system package fails the run instead of skipping its tests."""
from __future__ import annotations

import os

import pytest


def in_ci() -> bool:
    """CI sets CI=true (GitHub, GitLab and most others); 1 and yes count too."""
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def missing_requirement(message: str) -> None:
    """Skip on a laptop that lacks what `message` names; fail under CI, which must never pass by skipping."""
    if in_ci():
        pytest.fail(f"{message} (CI: required here, not optional)", pytrace=False)
    pytest.skip(message)
