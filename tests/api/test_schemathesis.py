"""schemathesis drives the API from its own OpenAPI description: no server error, no answer that breaks the schema.

The operations are read from /api/openapi.json and called in-process (WSGI) on the demo catalog, each with
Hypothesis-generated parameters (valid and invalid). schemathesis's pytest plugin (`from_fixture`) does not
work with pytest 9 yet, so the strategies are driven with Hypothesis directly.
"""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from afterimage.extensions import db

# Starts real servers (gunicorn, nginx) or generates hundreds of requests: `make test-fast` leaves it out.
pytestmark = pytest.mark.slow

EXAMPLES_PER_OPERATION = 40


def test_the_api_answers_every_generated_request_as_its_description_says(demo_app):
    import schemathesis  # imported here: collecting this slow file should not cost every test run a second

    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", demo_app)
    # NUL characters are refused with a 400 before any route runs (PostgreSQL cannot store them); the
    # hostile-input walk checks that, so generated "valid" strings leave them out.
    # Generated strings are UTF-8 (any script, non-ASCII digits included), not just ASCII.
    schema.config.generation.update(allow_x00=False, codec="utf-8")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 5, "the API description lists its operations"
    failures = []
    for operation in operations:

        @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def call(case):
            # As a browser would decode it: a stored page may go out gzip'd, which the WSGI transport leaves encoded.
            case.call_and_validate(headers={"Accept-Encoding": "identity"})

        try:
            call()
        except Exception as failure:  # collect every operation's first failure, then report them all
            failures.append(f"{operation.method.upper()} {operation.path}: {failure}")
    with demo_app.app_context():
        db.session.remove()
    assert not failures, "\n\n".join(failures)


# Values every parameter is also sent explicitly (issue 20): non-ASCII digits and text, CR/LF, very long, and
# query parameters named like url_for's own keywords, which must never reach it.
HOSTILE_VALUES = ["²", "٣", "١٢", "Ünïcødé-名前-😀", "\r\n", "\u202e", "a" * 5000, "-1", "9" * 30]
RESERVED_QUERY = {"endpoint": "x", "_method": "POST", "_external": "1", "_anchor": "zz", "_scheme": "ftp",
                  "values": "1", "slug": "x"}


def real_path_parameters(demo_app, operation) -> dict[str, str]:
    """Path parameters naming real rows of the demo catalog."""
    import sqlalchemy as sa

    from afterimage.catalog.models import CuratedList, Item, Tag

    model = CuratedList if "/lists/" in operation.path else Tag if "/tags/" in operation.path else Item
    with demo_app.app_context():
        query = sa.select(model.slug).limit(1)
        if model is CuratedList:
            query = query.where(CuratedList.published)
        slug = db.session.scalar(query)
    return {parameter.name: slug for parameter in operation.path_parameters}


def test_the_api_answers_non_ascii_and_reserved_name_parameters_as_its_description_says(demo_app):
    import schemathesis

    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", demo_app)
    failures = []
    for operation in (result.ok() for result in schema.get_all_operations()):
        path = real_path_parameters(demo_app, operation)
        base = {"liked": "hiroshima-mon-amour-1959"} if operation.path.endswith("/recommendations") and not path else {}
        cases = [operation.Case(path_parameters=path, query={**base, **RESERVED_QUERY})]
        for parameter in operation.query:
            cases += [operation.Case(path_parameters=path, query={**base, parameter.name: value}) for value in HOSTILE_VALUES]
        for parameter in operation.path_parameters:
            cases += [operation.Case(path_parameters={**path, parameter.name: value}, query=base)
                      for value in HOSTILE_VALUES if value.strip()]
        for case in cases:
            try:
                response = case.call_and_validate(headers={"Accept-Encoding": "identity"})
            except Exception as failure:
                failures.append(f"{operation.method.upper()} {operation.path} {case.path_parameters} {case.query}: {failure}")
                continue
            location = response.headers.get("Location", [""])
            location = location[0] if isinstance(location, list) else location
            if "zz" in location or "ftp:" in location or "endpoint" in location:
                failures.append(f"{operation.path} {case.query}: redirect to {location}")
    with demo_app.app_context():
        db.session.remove()
    assert not failures, "\n\n".join(failures[:10])
