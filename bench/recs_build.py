"""Benchmark the recommender's full build against exact sparse_dot_topn and naive dense cosine.

    python bench/recs_build.py 10000
    python bench/recs_build.py 100000
    python bench/recs_build.py --corpus catalog.jsonl   # id, kind, title, creators, tags, text

Each phase runs in a fresh subprocess so that its peak memory (resource.getrusage ru_maxrss,
which counts numpy/scipy C allocations) is its own. The last line printed is one JSON object.
"""

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from recs import ItemDoc, TfidfRecommender  # noqa: E402
from recs_catalog import catalog_from_jsonl, synthetic_catalog  # noqa: E402

TOP_N = 20
NAIVE_LIMIT = 20_000  # a dense n x n float32 matrix above this no longer fits comfortably
RECALL_SAMPLE = 1000
FOLD_INS = 20
SET_QUERIES = 20
PHASE_TIMEOUT_S = 900


def peak_mb() -> float:
    """Peak resident memory of this process so far, in MB (Linux reports ru_maxrss in KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load_catalog(args) -> tuple[list[ItemDoc], list[ItemDoc]]:
    """Return the catalog to build on and the items to fold in afterwards."""
    if args.corpus:
        docs = catalog_from_jsonl(args.corpus)
        rng = np.random.default_rng(args.seed)
        next_id = max(doc.id for doc in docs) + 1
        # New items for fold-in: copies of existing items under fresh ids, so their words are real.
        extra = [
            ItemDoc(next_id + i, doc.kind, doc.title, doc.original_title, doc.creators, doc.tags,
                    doc.description, doc.note, doc.year)
            for i, doc in enumerate(docs[j] for j in rng.choice(len(docs), FOLD_INS))
        ]
        return docs, extra
    docs = synthetic_catalog(args.n + FOLD_INS, seed=args.seed)
    return docs[: args.n], docs[args.n :]


def timed_fit(docs):
    started, cpu_started = time.perf_counter(), time.process_time()
    model = TfidfRecommender(top_n=TOP_N).fit(docs)
    return model, time.perf_counter() - started, time.process_time() - cpu_started


def kind_blocks(model):
    """Yield (kind, candidate rows, each row's position among them or -1)."""
    for kind in model.neighbours_:
        rows = np.flatnonzero(model.kinds_ == kind)
        position = np.full(len(model.ids_), -1)
        position[rows] = np.arange(len(rows))
        yield kind, rows, position


def phase_build(args) -> dict:
    """Our full build, then recall, set queries and fold-ins on the model it built."""
    docs, extra = load_catalog(args)
    catalog_mb = peak_mb()
    model, build_s, build_cpu_s = timed_fit(docs)
    result = {"build_s": build_s, "build_cpu_s": build_cpu_s, "peak_mb": peak_mb(), "catalog_mb": catalog_mb}
    result["recall_at_20"] = recall_at_20(model, np.random.default_rng(args.seed))

    rng = np.random.default_rng(args.seed + 1)
    durations = []
    for _ in range(SET_QUERIES):
        members = rng.choice(model.ids_, size=min(5, len(model.ids_)), replace=False).tolist()
        started = time.perf_counter()
        model.recommend_for_set(members, k=10)
        durations.append(time.perf_counter() - started)
    result["set_query_ms"] = statistics.median(durations) * 1000

    durations, rows_changed = [], []
    for doc in extra:
        started = time.perf_counter()
        rows_changed.append(len(model.fold_in(doc)))
        durations.append(time.perf_counter() - started)
    result["fold_in_ms"] = statistics.median(durations) * 1000
    result["fold_in_rows_changed_median"] = statistics.median(rows_changed)
    return result


def recall_at_20(model, rng) -> float | None:
    """Share of each sampled item's exact top 20 (per kind) that the model's lists hold.

    Exact: the model's score (model.score_rows) over every item of the kind. A large catalog's
    search scores only the candidate_factor x 20 best by a pruned cosine, so both pruning and
    neighbours found by the latent part alone count as misses here.
    """
    if len(model.ids_) < 2:
        return None
    sample = rng.choice(len(model.ids_), size=min(RECALL_SAMPLE, len(model.ids_)), replace=False)
    found = wanted = 0
    for kind, rows, position in kind_blocks(model):
        for start in range(0, len(sample), 100):
            chunk = sample[start : start + 100]
            exact = model.score_rows(chunk)[:, rows]
            own = position[chunk] >= 0
            exact[np.flatnonzero(own), position[chunk][own]] = -1
            for row, scores in zip(chunk.tolist(), exact):
                best = np.sort(scores[scores > 0])[::-1][:TOP_N]
                if best.size == 0:
                    continue
                listed = [
                    model.row_of_[item_id] for item_id, _ in model.neighbours(int(model.ids_[row]), kind)
                ]
                # A listed item counts if it scores at least the exact 20th: ties are not misses.
                hits = sum(
                    scores[position[listed_row]] >= best[-1] - 1e-6 for listed_row in listed
                )
                found += min(hits, best.size)
                wanted += best.size
    return found / wanted if wanted else None


def fit_vectors_only(docs):
    """Fit the vectors exactly as the build does, without its neighbour search."""
    return TfidfRecommender(top_n=0, exact_below=len(docs) + 1).fit(docs)


def phase_sdtn(args) -> dict:
    """The same fit, then the exact top 20 per kind by sparse_dot_topn on the same matrix."""
    try:
        from sparse_dot_topn import sp_matmul_topn
    except ImportError:
        return {"sdtn_s": None}
    docs, _ = load_catalog(args)
    started, cpu_started = time.perf_counter(), time.process_time()
    fitted = fit_vectors_only(docs)
    for _, rows, _ in kind_blocks(fitted):
        # One more than 20 so that the item itself can be dropped, as the build does.
        sp_matmul_topn(
            fitted.matrix_, fitted.matrix_[rows].T.tocsr(), top_n=TOP_N + 1, sort=True,
            n_threads=os.cpu_count(),
        )
    return {
        "sdtn_s": time.perf_counter() - started, "sdtn_cpu_s": time.process_time() - cpu_started,
        "sdtn_peak_mb": peak_mb(),
    }


def phase_naive(args) -> dict:
    """The same fit, then dense cosine_similarity of the whole matrix and a top 20 per kind."""
    from sklearn.metrics.pairwise import cosine_similarity

    docs, _ = load_catalog(args)
    if len(docs) > NAIVE_LIMIT:
        return {"naive_s": None}
    started = time.perf_counter()
    fitted = fit_vectors_only(docs)
    similarity = cosine_similarity(fitted.matrix_, dense_output=True)
    np.fill_diagonal(similarity, -1)
    for _, rows, _ in kind_blocks(fitted):
        block = similarity[:, rows]
        top = np.argpartition(-block, min(TOP_N, block.shape[1] - 1), axis=1)[:, :TOP_N]
        np.take_along_axis(block, top, axis=1).argsort(axis=1)
    return {"naive_s": time.perf_counter() - started, "naive_peak_mb": peak_mb()}


PHASES = {"build": phase_build, "sdtn": phase_sdtn, "naive": phase_naive}


def machine() -> dict:
    """Describe the machine and library versions the figures come from."""
    import scipy
    import sklearn

    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        import sparse_dot_topn

        sdtn_version = sparse_dot_topn.__version__
    except ImportError:
        sdtn_version = None
    return {
        "cores": os.cpu_count(), "cpu": cpu, "python": platform.python_version(),
        "numpy": np.__version__, "scipy": scipy.__version__, "sklearn": sklearn.__version__,
        "sparse_dot_topn": sdtn_version, "load_average": os.getloadavg(),
    }


def run_phase(phase: str, args) -> dict:
    """Run one phase in a fresh interpreter and return its result (or nulls on failure)."""
    command = [sys.executable, __file__, str(args.n), "--phase", phase, "--seed", str(args.seed)]
    if args.corpus:
        command += ["--corpus", args.corpus]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=PHASE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        print(f"  {phase}: timed out after {PHASE_TIMEOUT_S} s")
        return {}
    if done.returncode != 0:
        print(f"  {phase}: failed\n{done.stderr[-2000:]}")
        return {}
    return json.loads(done.stdout.strip().splitlines()[-1])


def ratio(numerator, denominator):
    return round(numerator / denominator, 3) if numerator and denominator else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int, nargs="?", default=10_000, help="synthetic catalog size")
    parser.add_argument("--corpus", help="JSON-lines catalog to use instead of a synthetic one")
    parser.add_argument("--seed", type=int, default=20240611)
    parser.add_argument("--repeat", type=int, help="runs of each phase (default 3 up to 20k items, else 1)")
    parser.add_argument("--phase", choices=sorted(PHASES), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        print(json.dumps(PHASES[args.phase](args)))
        return
    if args.corpus:
        args.n = len(catalog_from_jsonl(args.corpus))
    repeat = args.repeat or (3 if args.n <= NAIVE_LIMIT else 1)
    print("machine:", json.dumps(machine()))
    print(f"catalog: {args.corpus or 'synthetic'}, {args.n} items, top {TOP_N} per kind, {repeat} run(s) per phase")
    print("peak memory: ru_maxrss of a fresh subprocess per phase (catalog included)")
    runs = {phase: [] for phase in PHASES}
    for attempt in range(repeat):
        for phase in ("build", "sdtn", "naive"):
            if phase == "naive" and args.n > NAIVE_LIMIT:
                continue
            runs[phase].append(run_phase(phase, args))
            print(f"  run {attempt + 1} {phase}: {json.dumps(runs[phase][-1])}", flush=True)

    def median(phase, key):
        values = [run[key] for run in runs[phase] if run.get(key) is not None]
        return statistics.median(values) if values else None

    summary = {
        "n": args.n,
        "build_s": median("build", "build_s"),
        "sdtn_s": median("sdtn", "sdtn_s"),
        "naive_s": median("naive", "naive_s"),
        "peak_mb": max((run["peak_mb"] for run in runs["build"] if "peak_mb" in run), default=None),
        "recall_at_20": median("build", "recall_at_20"),
        "fold_in_ms": median("build", "fold_in_ms"),
        "set_query_ms": median("build", "set_query_ms"),
    }
    print(f"build / sdtn build: {ratio(summary['build_s'], summary['sdtn_s'])} (target <= 1.0 at 10k, <= 0.5 at 100k)")
    # CPU seconds (all threads) shift less than wall time when other work shares the machine.
    print(f"build / sdtn build in CPU seconds: {ratio(median('build', 'build_cpu_s'), median('sdtn', 'sdtn_cpu_s'))}")
    print(f"naive build / build: {ratio(summary['naive_s'], summary['build_s'])} (target >= 3)")
    print(f"sdtn peak MB: {median('sdtn', 'sdtn_peak_mb')}, naive peak MB: {median('naive', 'naive_peak_mb')}, "
          f"catalog alone MB: {median('build', 'catalog_mb')}")
    print(f"fold-in rows changed (median): {median('build', 'fold_in_rows_changed_median')}")
    print(json.dumps({key: round(value, 4) if isinstance(value, float) else value for key, value in summary.items()}))


if __name__ == "__main__":
    main()
