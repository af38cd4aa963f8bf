"""`python -m afterimage.recommendations.refit_job`: one background refit, in a process of its own.

Started by store.refit_in_background when a commit leaves the model drifted (an import full of new
words); DATABASE_URL and SECRET_KEY come from the app server that started it.
"""
from __future__ import annotations

import logging
import os
import sys

from app import create_app
from afterimage.recommendations.store import refit_with_retries

BACKGROUND_NICENESS = 10


def main() -> int:
    # Readers and the author's edits come first: the fit is a background job, and on a small machine it
    # shares the cores with the app server.
    if hasattr(os, "nice"):
        os.nice(BACKGROUND_NICENESS)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s refit[%(process)d] %(levelname)s %(message)s")
    app = create_app()
    try:
        with app.app_context():
            refit_with_retries()
    except Exception:
        logging.getLogger(__name__).exception("background refit failed; the next change will ask for one again")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
