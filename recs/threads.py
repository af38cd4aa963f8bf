"""How many threads a fit uses: one for a small catalog, where starting and waking threads costs more than the work."""

import functools
import os

from threadpoolctl import ThreadpoolController

# Catalogs smaller than this fit on one thread. Fitting the 82-item demo catalog took 224 ms of CPU with
# OpenBLAS and sparse_dot_topn on both cores against 43 ms on one (their idle threads spin, taking the
# other core from the site's other workers); one thread stayed ahead, in CPU and in wall time, up to 3,000
# items on 2 cores at a load average of 7 to 9 (docs/testing.md, "Fast loop (2026-12-07)").
ONE_THREAD_BELOW = 1000


@functools.cache
def _controller() -> ThreadpoolController:
    """The BLAS and OpenMP libraries loaded (by numpy, scipy and scikit-learn, imported with recs), found once:
    threadpoolctl's own threadpool_limits looks them up again each time (6 ms)."""
    return ThreadpoolController()


def one_thread():
    """A context in which BLAS and OpenMP run on one thread."""
    return _controller().limit(limits=1)


def threads_for(n_items: int, n_jobs: int | None) -> int:
    """The threads a fit of n_items uses: n_jobs if given, else one for a small catalog and every core otherwise."""
    if n_jobs is not None:
        return n_jobs
    return 1 if n_items < ONE_THREAD_BELOW else (os.cpu_count() or 1)
