"""schemathesis drives the API from its own OpenAPI description: no server error, no answer that breaks the schema.

The operations are read from /api/openapi.json and called in-process (WSGI) on the demo catalog, each with
Hypothesis-generated parameters (valid and invalid). schemathesis's pytest plugin (`from_fixture`) does not
work with pytest 9 yet, so the strategies are driven with Hypothesis directly.
"""
from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings

from afterimage.extensions import db

EXAMPLES_PER_OPERATION = 40


def test_the_api_answers_every_generated_request_as_its_description_says(demo_app):
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", demo_app)
    # NUL characters are refused with a 400 before any route runs (PostgreSQL cannot store them); the
    # hostile-input walk checks that, so generated "valid" strings leave them out.
    schema.config.generation.update(allow_x00=False)
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
