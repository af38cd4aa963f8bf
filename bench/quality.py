"""Recommendation quality on real readers' data, against baselines measured in the same run.

Imports a Goodreads library export (CSV) or a Letterboxd export (ZIP) through the product's own
importer into a throwaway SQLite database, fits the engine as the site does (`new_recommender()`
over `item_docs()`), asks it for each query item's neighbours of the same kind (`neighbours`) and
for each set query's recommendations (`recommend_for_set`), and scores them against the ground
truth: precision@10, recall@20 and nDCG@10 (binary gains), plus precision@10 against the lift
lists. Baselines on the same catalog: random, most popular (file order), tag/shelf Jaccard (ties
by file order) and plain scikit-learn TfidfVectorizer over title + creators + tags with cosine.
Each difference against plain TF-IDF gets a paired bootstrap 95% interval.

    python bench/quality.py ../shared/datasets/goodbooks-dev
    python bench/quality.py ../shared/datasets/movielens-dev
    python bench/quality.py export.csv --truth ground_truth.json   # any export, same truth format
    python bench/quality.py ../shared/datasets/goodbooks-dev --candidates   # every model variant tried

Ground truth: the goodbooks-dev format (`neighbours`, `neighbours_lift`, `queries` as ids,
`set_queries` with `liked`) or the movielens-dev one (`queries` with `movieId`, `set_queries` with
`seeds`, ids matched by Letterboxd URI `.../ml<movieId>`); ids are compared as strings.
Last line: one JSON object.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from afterimage.catalog.models import Item  # noqa: E402
from afterimage.extensions import db  # noqa: E402
from afterimage.importers import apply_import, read_import_file  # noqa: E402
from afterimage.recommendations.documents import item_docs, new_recommender  # noqa: E402
from app import create_app  # noqa: E402
from recs import ItemDoc, TfidfRecommender  # noqa: E402

K_PRECISION, K_RECALL, K_NDCG = 10, 20, 10
BOOTSTRAP_SAMPLES = 2000
BOOTSTRAP_SEED = 20261205
RANDOM_SEED = 7

# A ranking function: (seed ids as catalog positions, k) -> ranked catalog positions, seeds left out.
Ranker = Callable[[list[int], int], list[int]]


@dataclass
class Query:
    """Seed items (dataset ids) and the items that truly go with them."""

    seeds: list[str]
    relevant: list[str]
    lift: list[str]


@dataclass
class Dataset:
    """An export file and its ground truth, read into queries."""

    name: str
    export: Path
    items: list[Query] = field(default_factory=list)
    sets: list[Query] = field(default_factory=list)


def _ids(entries: list) -> list[str]:
    """Dataset ids from either format's lists: [id, score, users] rows or {"movieId": ...} objects."""
    return [str(e["movieId"]) if isinstance(e, dict) else str(e[0]) for e in entries]


def load_dataset(path: Path, truth: Path | None) -> Dataset:
    """Find the export and ground truth (a dataset folder, or an export with --truth) and read the queries."""
    if path.is_dir():
        exports = sorted([*path.glob("*.csv"), *path.glob("*.zip")])
        truths = sorted(p for p in path.glob("*.json"))
        if len(exports) != 1 or (truth is None and len(truths) != 1):
            raise SystemExit(f"{path}: expected one export (.csv or .zip) and one ground-truth .json in the folder")
        export, truth = exports[0], truth or truths[0]
    else:
        export = path
        if truth is None:
            raise SystemExit("give the ground truth with --truth when the export is a file")
    gt = json.loads(truth.read_text(encoding="utf-8"))
    dataset = Dataset(name=gt.get("name") or path.name, export=export)
    lift = gt.get("neighbours_lift", {})
    for query in gt["queries"]:
        seed = str(query["movieId"]) if isinstance(query, dict) else str(query)
        relevant = query["relevant"] if isinstance(query, dict) else gt["neighbours"][seed]
        dataset.items.append(Query([seed], _ids(relevant), _ids(lift.get(seed, []))))
    for query in gt.get("set_queries", []):
        seeds = [str(s) for s in query["liked"]] if "liked" in query else _ids(query["seeds"])
        dataset.sets.append(Query(seeds, _ids(query["relevant"]), _ids(query.get("relevant_lift", []))))
    dataset.name = path.name if path.is_dir() else export.name
    return dataset


def import_catalog(export: Path) -> tuple[list[ItemDoc], list[str]]:
    """Import the export into a throwaway database as the studio does; return the engine's documents
    (as the site builds them) and each document's dataset id (Goodreads Book Id or MovieLens id)."""
    workdir = Path(tempfile.mkdtemp(prefix="afterimage-quality-"))
    app = create_app({"TESTING": True, "SECRET_KEY": "quality", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{workdir / 'q.db'}"})
    with app.app_context():
        db.create_all()
        plan = read_import_file(export.name, export.read_bytes())
        apply_import(plan)
        db.session.commit()
        docs = item_docs()
        external = {}
        for item in db.session.scalars(db.select(Item)):
            uri = item.letterboxd_uri or ""
            external[item.id] = item.goodreads_id or (uri.rsplit("/ml", 1)[1] if "/ml" in uri else uri)
    return docs, [external[doc.id] for doc in docs]


# ----------------------------------------------------------------------------- metrics

def scores(ranked: list[str], relevant: list[str]) -> tuple[float, float, float]:
    """precision@10, recall@20 and nDCG@10 with binary gains, as the datasets' READMEs define them."""
    wanted = set(relevant)
    if not wanted:
        return 0.0, 0.0, 0.0
    hits = [item in wanted for item in ranked[:K_RECALL]]
    precision = sum(hits[:K_PRECISION]) / K_PRECISION
    recall = sum(hits) / min(len(wanted), K_RECALL)
    dcg = sum(1 / math.log2(rank + 2) for rank, hit in enumerate(hits[:K_NDCG]) if hit)
    ideal = sum(1 / math.log2(rank + 2) for rank in range(min(K_NDCG, len(wanted))))
    return precision, recall, dcg / ideal


def evaluate(ranker: Ranker, queries: list[Query], position_of: dict[str, int], ids: list[str]) -> dict[str, np.ndarray]:
    """Per-query P@10, R@20, nDCG@10 and P@10 against the lift list."""
    out: dict[str, list[float]] = {"P@10": [], "R@20": [], "nDCG@10": [], "P@10 lift": []}
    for query in queries:
        seeds = [position_of[s] for s in query.seeds if s in position_of]
        ranked = [ids[p] for p in ranker(seeds, K_RECALL)] if seeds else []
        for name, value in zip(("P@10", "R@20", "nDCG@10"), scores(ranked, query.relevant)):
            out[name].append(value)
        out["P@10 lift"].append(scores(ranked, query.lift)[0] if query.lift else 0.0)
    return {name: np.array(values) for name, values in out.items()}


def paired_interval(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    """Mean of a - b and its paired bootstrap 95% interval."""
    difference = a - b
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    samples = rng.integers(0, len(difference), size=(BOOTSTRAP_SAMPLES, len(difference)))
    means = difference[samples].mean(axis=1)
    return float(difference.mean()), float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


# ----------------------------------------------------------------------------- rankers

def _top(scores_row: np.ndarray, seeds: list[int], k: int, eligible: np.ndarray | None = None) -> list[int]:
    """Positions of the k best scores (ties by position, i.e. by file order), seeds left out."""
    row = np.asarray(scores_row, dtype=np.float64).copy()
    row[seeds] = -np.inf
    if eligible is not None:
        row[~eligible] = -np.inf
    order = np.lexsort((np.arange(len(row)), -row))[:k]
    return [int(p) for p in order if np.isfinite(row[p])]


def random_ranker(n: int) -> Ranker:
    rng = np.random.default_rng(RANDOM_SEED)
    return lambda seeds, k: _top(rng.random(n), seeds, k)


def popular_ranker(n: int) -> Ranker:
    """Most popular first: both exports list the most read or rated first."""
    return lambda seeds, k: _top(-np.arange(n, dtype=np.float64), seeds, k)


def jaccard_ranker(docs: list[ItemDoc]) -> Ranker:
    """Jaccard over the lowercased tag sets (the seeds' tags summed for a set), ties by file order."""
    from scipy import sparse

    vocabulary: dict[str, int] = {}
    rows, cols = [], []
    for row, doc in enumerate(docs):
        for tag in {t.casefold() for t in doc.tags}:
            rows.append(row)
            cols.append(vocabulary.setdefault(tag, len(vocabulary)))
    tags = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(docs), max(len(vocabulary), 1)))
    sizes = np.asarray(tags.sum(axis=1)).ravel()

    def rank(seeds: list[int], k: int) -> list[int]:
        total = np.zeros(len(docs))
        for seed in seeds:
            shared = (tags @ tags[seed].T).toarray().ravel()
            union = sizes + sizes[seed] - shared
            total += np.divide(shared, union, out=np.zeros(len(docs)), where=union > 0)
        return _top(total + 1e-9 * -np.arange(len(docs)), seeds, k)

    return rank


def plain_tfidf_ranker(docs: list[ItemDoc]) -> Ranker:
    """scikit-learn's TfidfVectorizer with its defaults over "title creators tags", cosine (sum over seeds)."""
    # Every person credited, as the baseline has always had them (translators and Goodreads' Additional
    # Authors included), though the engine's documents now keep them apart from the makers.
    texts = [" ".join([doc.title, *doc.creators, *(name for name, _ in doc.contributors), *doc.tags]) for doc in docs]
    matrix = TfidfVectorizer().fit_transform(texts).tocsr()

    def rank(seeds: list[int], k: int) -> list[int]:
        total = np.asarray((matrix @ matrix[seeds].T).sum(axis=1)).ravel()
        return _top(total, seeds, k)

    return rank


def engine_ranker(model: TfidfRecommender, docs: list[ItemDoc]) -> Ranker:
    """The engine asked as the site asks it: an item's stored neighbours of its own kind, or a set's."""
    row_of = {doc.id: row for row, doc in enumerate(docs)}
    kind = docs[0].kind if docs else "book"

    def rank(seeds: list[int], k: int) -> list[int]:
        ids = [docs[s].id for s in seeds]
        if len(ids) == 1:
            pairs = model.neighbours(ids[0], kind=kind, k=k)
        else:
            pairs = model.recommend_for_set(ids, kind=kind, k=k)
        return [row_of[item_id] for item_id, _ in pairs]

    return rank


# Variants of the engine scored by --candidates: each changes one setting of the site's model.
CANDIDATES: dict[str, dict] = {
    "no latent blend": {"latent_weight": 0.0},
    "latent weight 0.3": {"latent_weight": 0.3},
    "latent weight 0.7": {"latent_weight": 0.7},
    "latent 50 components": {"latent_components": 50},
    "latent 200 components": {"latent_components": 200},
    "no era factor": {"year_weight": 0.0},
    "era weight 2": {"year_weight": 2.0},
    "era scale 10 years": {"year_scale": 10.0},
    "era scale 5 years (before 2026-12-06)": {"year_scale": 5.0},
    "no evidence floor": {"evidence_floor": 0.0},
    "evidence floor 0.3": {"evidence_floor": 0.3},
    "cosine pool 60": {"candidate_pool": 60},
    "set: members weighed alike": {"set_outlier_weight": 1.0},
    "set: outlier weight 0.05": {"set_outlier_weight": 0.05},
    "set: outlier weight 0.5": {"set_outlier_weight": 0.5},
}


def candidate_model(settings: dict) -> TfidfRecommender:
    """The site's model with some settings changed."""
    model = new_recommender()
    for name, value in settings.items():
        if not hasattr(model, name):
            raise ValueError(f"the engine has no setting {name!r}")
        setattr(model, name, value)
    return model


# ----------------------------------------------------------------------------- report

METRICS = ("P@10", "R@20", "nDCG@10", "P@10 lift")


def table(results: dict[str, dict[str, np.ndarray]], title: str) -> str:
    lines = [f"{title}:", f"  {'method':<34}" + "".join(f"{m:>11}" for m in METRICS) + "   nDCG@10 vs plain TF-IDF [95% CI]"]
    plain = results["plain TF-IDF"]["nDCG@10"]
    for name, values in results.items():
        row = f"  {name:<34}" + "".join(f"{values[m].mean():>11.3f}" for m in METRICS)
        if name != "plain TF-IDF":
            mean, low, high = paired_interval(values["nDCG@10"], plain)
            row += f"   {mean:+.3f} [{low:+.3f}, {high:+.3f}]  x{values['nDCG@10'].mean() / max(plain.mean(), 1e-12):.3f}"
        lines.append(row)
    return "\n".join(lines)


def summary(results: dict[str, dict[str, np.ndarray]]) -> dict[str, float]:
    engine, plain = results["Afterimage"], results["plain TF-IDF"]
    mean, low, high = paired_interval(engine["nDCG@10"], plain["nDCG@10"])
    out = {
        "precision@10": round(float(engine["P@10"].mean()), 4),
        "recall@20": round(float(engine["R@20"].mean()), 4),
        "ndcg@10": round(float(engine["nDCG@10"].mean()), 4),
        "precision@10_lift": round(float(engine["P@10 lift"].mean()), 4),
        "plain_tfidf_ndcg@10": round(float(plain["nDCG@10"].mean()), 4),
        "plain_tfidf_precision@10": round(float(plain["P@10"].mean()), 4),
        "ndcg@10_ratio": round(float(engine["nDCG@10"].mean() / max(plain["nDCG@10"].mean(), 1e-12)), 4),
        "ndcg@10_diff_ci95": [round(low, 4), round(high, 4)],
    }
    for name in ("random", "most popular", "tag Jaccard"):
        out[name.replace(" ", "_") + "_ndcg@10"] = round(float(results[name]["nDCG@10"].mean()), 4)
    del mean
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", type=Path, help="a dataset folder, or an export file with --truth")
    parser.add_argument("--truth", type=Path, help="ground truth JSON (goodbooks-dev or movielens-dev format)")
    parser.add_argument("--candidates", action="store_true", help="also score every model variant tried")
    args = parser.parse_args()

    dataset = load_dataset(args.dataset, args.truth)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    started = time.perf_counter()
    docs, ids = import_catalog(dataset.export)
    print(f"{dataset.name}: imported {len(docs)} items in {time.perf_counter() - started:.1f} s; "
          f"{len(dataset.items)} item queries, {len(dataset.sets)} set queries")
    position_of = {external: position for position, external in enumerate(ids)}
    started = time.perf_counter()
    model = new_recommender().fit(docs)
    print(f"engine fitted in {time.perf_counter() - started:.2f} s")

    rankers: dict[str, Ranker] = {
        "Afterimage": engine_ranker(model, docs),
        "plain TF-IDF": plain_tfidf_ranker(docs),
        "random": random_ranker(len(docs)),
        "most popular": popular_ranker(len(docs)),
        "tag Jaccard": jaccard_ranker(docs),
    }
    if args.candidates:
        for name, settings in CANDIDATES.items():
            rankers[name] = engine_ranker(candidate_model(settings).fit(docs), docs)
    report = {"dataset": dataset.name}
    for label, queries in (("items", dataset.items), ("sets", dataset.sets)):
        if not queries:
            continue
        results = {name: evaluate(ranker, queries, position_of, ids) for name, ranker in rankers.items()}
        print(table(results, f"{label} ({len(queries)} queries)"))
        report[label] = summary(results)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
