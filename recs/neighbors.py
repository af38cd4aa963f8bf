"""Top-k neighbour search over L2-normalised sparse rows, without ever forming the n x n matrix."""

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

try:  # An optional accelerator: the same exact top-k in multithreaded C++.
    from sparse_dot_topn import sp_matmul_topn
except ImportError:  # pragma: no cover - exercised only where the package is absent
    sp_matmul_topn = None

# Rows of queries multiplied at once on the scipy path: bounds the memory of one partial product.
_QUERY_CHUNK = 512


@dataclass
class NeighbourTable:
    """The best neighbours of one kind for every item: ids and scores, best first, 0-padded."""

    ids: np.ndarray  # (n_items, top_n) int64
    scores: np.ndarray  # (n_items, top_n) float32; 0 marks an empty slot

    def pairs(self, row: int) -> list[tuple[int, float]]:
        """Return the filled slots of one row as (id, score) pairs."""
        filled = self.scores[row] > 0
        return list(zip(self.ids[row][filled].tolist(), self.scores[row][filled].tolist()))




def top_k_rows(
    queries: sp.csr_matrix,
    candidates: sp.csr_matrix,
    k: int,
    skip: np.ndarray,
    floor: float = 0.0,
    n_threads: int = 1,
    engine: str = "auto",
) -> tuple[np.ndarray, np.ndarray]:
    """Return, per query row, the k candidate positions with the highest dot product above floor.

    ``skip[i]`` is a candidate position query i must never get (itself), or -1. The result is
    (positions, scores), both shaped (n_queries, k), best first, padded with -1 and 0.
    """
    positions = np.full((queries.shape[0], k), -1, dtype=np.int64)
    scores = np.zeros((queries.shape[0], k), dtype=np.float32)
    if k == 0 or queries.shape[0] == 0 or candidates.shape[0] == 0 or queries.shape[1] == 0:
        return positions, scores
    if engine == "sdtn" and sp_matmul_topn is None:
        raise ImportError("engine='sdtn' needs the sparse-dot-topn package")
    use_sdtn = engine == "sdtn" or (engine == "auto" and sp_matmul_topn is not None)
    if use_sdtn:
        product = sp_matmul_topn(
            queries, candidates.T.tocsr(), top_n=k + 1, threshold=floor, sort=True,
            n_threads=n_threads if n_threads > 1 else None,
        )
        _fill_from_sorted_rows(product, skip, positions, scores)
        return positions, scores
    candidates_t = candidates.T.tocsr()
    for start in range(0, queries.shape[0], _QUERY_CHUNK):
        stop = min(start + _QUERY_CHUNK, queries.shape[0])
        product = (queries[start:stop] @ candidates_t).tocsr()
        _fill_from_product(product, skip[start:stop], floor, positions[start:stop], scores[start:stop])
    return positions, scores


def _row_of_entries(matrix: sp.csr_matrix) -> np.ndarray:
    return np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))


def _fill_from_sorted_rows(product, skip, positions, scores) -> None:
    """Copy a product whose rows are already sorted best first into the padded arrays."""
    rows = _row_of_entries(product)
    keep = (product.indices != skip[rows]) & (product.data > 0)
    _scatter_ranked(rows[keep], product.indices[keep], product.data[keep], positions, scores)


def _fill_from_product(product, skip, floor, positions, scores) -> None:
    """Rank each row of an unsorted sparse product and copy its best entries into the arrays."""
    rows = _row_of_entries(product)
    keep = (product.indices != skip[rows]) & (product.data > floor) & (product.data > 0)
    rows, columns, values = rows[keep], product.indices[keep], product.data[keep]
    # Row first, then score descending, then column so that ties resolve the same way every time.
    order = np.lexsort((columns, -values, rows))
    _scatter_ranked(rows[order], columns[order], values[order], positions, scores)


def _scatter_ranked(rows, columns, values, positions, scores) -> None:
    """Place entries grouped by row and ranked within it into the first k slots of each row."""
    if rows.size == 0:
        return
    row_starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
    run_lengths = np.diff(np.r_[row_starts, rows.size])
    rank = np.arange(rows.size) - np.repeat(row_starts, run_lengths)
    fits = rank < positions.shape[1]
    positions[rows[fits], rank[fits]] = columns[fits]
    scores[rows[fits], rank[fits]] = values[fits]


# Pairs rescored at once: bounds the dense blocks and gathered rows of one step.
_PAIR_CHUNK = 16_384


def without_empty_columns(matrix: sp.csr_matrix) -> sp.csr_matrix:
    """Return the matrix with its all-zero columns dropped (row dot products are unchanged)."""
    return matrix[:, np.unique(matrix.indices)].tocsr()


def pruning_losses(
    common: sp.csr_matrix, kept: np.ndarray, rows_a: np.ndarray, rows_b: np.ndarray, n_threads: int = 1
) -> np.ndarray:
    """Return, for every pair i, what pruning took from the dot product of rows rows_a[i] and rows_b[i].

    ``common`` holds the vectors' entries in the few pruned (common) columns, and ``kept`` marks
    those of its entries the pruned matrix kept. The loss is full . full - kept . kept over those
    columns, which is, entry by entry of the b row: a's full value where b's entry was dropped,
    and a's dropped value where b's entry was kept. One pass over the b rows gives it.
    """
    losses = np.zeros(len(rows_a), dtype=np.float32)
    if common.nnz == 0 or len(rows_a) == 0:
        return losses
    n_columns = common.shape[1]
    dropped = common.copy()
    dropped.data[kept] = 0
    # The a side as [full | dropped] side by side; a b entry reads the half its kept flag names.
    a_side = sp.hstack([common, dropped], format="csr")
    b_column = common.indices + kept * n_columns
    grouped = bool(np.all(rows_a[1:] >= rows_a[:-1]))  # the bulk search lists pairs row by row

    def rescore(start: int) -> None:
        chunk_a, chunk_b = rows_a[start : start + _PAIR_CHUNK], rows_b[start : start + _PAIR_CHUNK]
        if grouped:
            first = np.r_[True, chunk_a[1:] != chunk_a[:-1]]
            distinct_a, local_a = chunk_a[first], np.cumsum(first) - 1
        else:
            distinct_a, local_a = np.unique(chunk_a, return_inverse=True)
        # A dense block of the a-side rows is small because the columns are few.
        a_values = a_side[distinct_a].toarray().ravel()
        starts = common.indptr[chunk_b]
        lengths = common.indptr[chunk_b + 1] - starts
        ends = np.cumsum(lengths)
        entry = np.arange(ends[-1]) + np.repeat(starts - (ends - lengths), lengths)
        flat = np.repeat(local_a * (2 * n_columns), lengths) + b_column[entry]
        products = common.data[entry] * a_values.take(flat)
        pair_of_entry = np.repeat(np.arange(len(chunk_b)), lengths)
        losses[start : start + len(chunk_b)] = np.bincount(pair_of_entry, weights=products, minlength=len(chunk_b))

    # numpy and scipy release the GIL in these steps, so chunks on two threads overlap well.
    with ThreadPoolExecutor(max(n_threads, 1)) as pool:
        list(pool.map(rescore, range(0, len(rows_a), _PAIR_CHUNK)))
    return losses


def rerank(positions: np.ndarray, scores: np.ndarray, k: int, floor: float) -> tuple[np.ndarray, np.ndarray]:
    """Keep each row's k best (position, score) pairs above floor, best first, padded as usual."""
    ranked_scores = np.where(positions >= 0, scores, -np.inf)
    order = np.argsort(-ranked_scores, axis=1, kind="stable")[:, :k]
    positions = np.take_along_axis(positions, order, axis=1)
    scores = np.take_along_axis(ranked_scores, order, axis=1)
    kept = (positions >= 0) & (scores > floor) & (scores > 0)
    return np.where(kept, positions, -1), np.where(kept, scores, 0).astype(np.float32)
