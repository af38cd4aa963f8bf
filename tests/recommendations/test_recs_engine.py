"""The recommender engine on plain data: correctness against brute force, updates, persistence."""

import pickle

import numpy as np
import pytest

from recs import FIELD_WEIGHTS, ItemDoc, TfidfRecommender, fold_accents
from recs.persistence import FORMAT_VERSION

WORDS = (
    "memory war lovers city river night summer ghost train letter island winter garden mirror "
    "silence harbour desert mother brother stranger village storm voyage music painter hotel"
).split()
TAGS = ("war", "memory", "french new wave", "noir", "comedy", "coming of age", "road", "grief")
CREATORS = ("Marguerite Duras", "Alain Resnais", "Agnès Varda", "Yasujirō Ozu", "Toni Morrison")


def random_catalog(seed: int, size: int, kinds=("film", "book")) -> list[ItemDoc]:
    """Items drawn from a small vocabulary so that many pairs overlap."""
    rng = np.random.default_rng(seed)
    ids = rng.choice(10_000, size=size, replace=False) + 1
    return [
        ItemDoc(
            id=int(item_id),
            kind=str(rng.choice(kinds)),
            title=" ".join(rng.choice(WORDS, size=int(rng.integers(1, 4)))),
            creators=tuple(rng.choice(CREATORS, size=int(rng.integers(0, 3)), replace=False)),
            tags=tuple(rng.choice(TAGS, size=int(rng.integers(0, 4)), replace=False)),
            description=" ".join(rng.choice(WORDS, size=int(rng.integers(0, 30)))),
            note=" ".join(rng.choice(WORDS, size=int(rng.integers(0, 5)))),
        )
        for item_id in ids
    ]


def brute_force_scores(model: TfidfRecommender) -> np.ndarray:
    """Every pairwise score, as a dense matrix: the blend of the model's own cosine and latent
    vectors and era, computed pair by pair from its definition, 0 where the pair has no evidence."""
    dense = model.matrix_.toarray().astype(np.float64)
    cosine = dense @ dense.T
    latent = model.latent_.astype(np.float64) @ model.latent_.T.astype(np.float64)
    blend = (1 - model.latent_weight) * cosine + model.latent_weight * np.maximum(latent, 0)
    years = model.years_
    closeness = np.exp(-np.abs(years[:, None] - years[None, :]) / model.year_scale)
    closeness = np.where(np.isnan(closeness), np.exp(-1.0), closeness)
    blend *= (1 + model.year_weight * closeness) / (1 + model.year_weight)
    phrases = dense[:, model.phrase_columns_] > 0
    shared_phrase = (phrases.astype(int) @ phrases.T.astype(int)) > 0
    evidence = (cosine > 1e-9) & ((cosine >= model.evidence_floor) | shared_phrase)
    scores = np.where(evidence, blend, 0)
    np.fill_diagonal(scores, 0)
    return scores


def assert_same_ranking(got: list[tuple[int, float]], expected: list[tuple[int, float]]) -> None:
    """Same scores in the same order, and the same ids wherever a score is not tied."""
    assert [score for _, score in got] == pytest.approx([score for _, score in expected], abs=1e-5)
    expected_scores = [score for _, score in expected]
    for item_id, score in got:
        if sum(abs(other - score) < 1e-5 for other in expected_scores) == 1:
            assert item_id in {other_id for other_id, _ in expected}


def expected_neighbours(model, scores, item_id, kind, k):
    """The brute-force top k of one kind for an item: positive scores only, itself left out."""
    row = model.row_of_[item_id]
    candidates = [
        (int(other_id), float(scores[row, column]))
        for column, other_id in enumerate(model.ids_)
        if other_id != item_id and model.kinds_[column] == kind and scores[row, column] > 1e-9
    ]
    candidates.sort(key=lambda pair: -pair[1])
    return candidates[:k]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_neighbours_match_brute_force_cosine_on_random_catalogs(seed):
    model = TfidfRecommender(top_n=5).fit(random_catalog(seed, 60))
    scores = brute_force_scores(model)
    for item_id in model.ids_.tolist():
        for kind in ("film", "book"):
            assert_same_ranking(
                model.neighbours(item_id, kind=kind), expected_neighbours(model, scores, item_id, kind, 5)
            )


def test_pairs_scored_in_small_blocks_rank_as_brute_force_does(monkeypatch):
    # A fit scores its candidate pairs a block at a time (to bound memory); block edges must not show.
    import recs.model

    docs = random_catalog(5, 60)
    whole = TfidfRecommender(top_n=5).fit(docs)
    monkeypatch.setattr(recs.model, "_BLEND_CHUNK", 7)
    blocked = TfidfRecommender(top_n=5).fit(docs)
    scores = brute_force_scores(blocked)
    for item_id in blocked.ids_.tolist():
        for kind in ("film", "book"):
            assert_same_ranking(
                blocked.neighbours(item_id, kind=kind), expected_neighbours(blocked, scores, item_id, kind, 5)
            )
            assert blocked.neighbours(item_id, kind=kind) == whole.neighbours(item_id, kind=kind)
    members = blocked.ids_[:6].tolist()
    assert blocked.recommend_for_set(members, k=5) == whole.recommend_for_set(members, k=5)


def test_both_search_engines_agree_with_each_other():
    pytest.importorskip("sparse_dot_topn")
    docs = random_catalog(4, 80)
    fast = TfidfRecommender(top_n=6, engine="sdtn").fit(docs)
    plain = TfidfRecommender(top_n=6, engine="scipy").fit(docs)
    for item_id in fast.ids_.tolist():
        for kind in ("film", "book"):
            assert_same_ranking(fast.neighbours(item_id, kind), plain.neighbours(item_id, kind))


def test_a_small_catalog_fits_on_one_thread_and_ranks_as_a_fit_on_every_core(monkeypatch):
    # Threads cost a small catalog more than they save (recs/threads.py); the lists must not depend on them.
    import os

    from threadpoolctl import threadpool_info

    import recs.model
    import recs.neighbors
    import recs.threads

    pytest.importorskip("sparse_dot_topn")
    search_threads, blas_threads = [], []
    search = recs.neighbors.sp_matmul_topn

    def counted_search(*args, n_threads=None, **kwargs):
        search_threads.append(n_threads or 1)
        return search(*args, n_threads=n_threads, **kwargs)

    class CountedSVD(recs.model.TruncatedSVD):
        def fit(self, *args, **kwargs):
            blas_threads.append(max(lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"))
            return super().fit(*args, **kwargs)

    monkeypatch.setattr(recs.neighbors, "sp_matmul_topn", counted_search)
    monkeypatch.setattr(recs.model, "TruncatedSVD", CountedSVD)
    docs = random_catalog(4, 80)
    small = TfidfRecommender(top_n=6).fit(docs)
    assert set(search_threads) == {1} and blas_threads == [1]
    everywhere = TfidfRecommender(top_n=6, n_jobs=2).fit(docs)
    for item_id in small.ids_.tolist():
        for kind in ("film", "book"):
            assert_same_ranking(small.neighbours(item_id, kind), everywhere.neighbours(item_id, kind))
    search_threads.clear()
    monkeypatch.setattr(recs.threads, "ONE_THREAD_BELOW", 50)
    TfidfRecommender(top_n=6).fit(docs)
    assert set(search_threads) == {os.cpu_count() or 1}


@pytest.mark.parametrize("engine", ["auto", "scipy"])
def test_pruned_search_of_large_catalogs_keeps_exact_scores_and_finds_the_neighbours(engine):
    docs = random_catalog(20, 300)
    exact = TfidfRecommender(top_n=5).fit(docs)
    pruned = TfidfRecommender(top_n=5, exact_below=0, engine=engine).fit(docs)
    scores = brute_force_scores(exact)
    found = wanted = 0
    for item_id in exact.ids_.tolist():
        for kind in ("film", "book"):
            got = pruned.neighbours(item_id, kind)
            for other, score in got:
                assert score == pytest.approx(scores[exact.row_of_[item_id], exact.row_of_[other]], abs=1e-5)
            expected = exact.neighbours(item_id, kind)
            found += len({other for other, _ in got} & {other for other, _ in expected})
            wanted += len(expected)
    assert found / wanted >= 0.9


def test_rows_are_unit_length_tfidf_vectors():
    model = TfidfRecommender().fit(random_catalog(5, 30))
    norms = np.sqrt(np.asarray(model.matrix_.multiply(model.matrix_).sum(axis=1)).ravel())
    assert norms[norms > 0] == pytest.approx(1.0, abs=1e-5)


def test_scores_are_symmetric_and_an_item_is_never_its_own_neighbour():
    model = TfidfRecommender(top_n=100).fit(random_catalog(6, 40))
    for item_id, _, pairs in model.all_neighbours():
        assert item_id not in [other for other, _ in pairs]
        assert len({other for other, _ in pairs}) == len(pairs)
        for other, score in pairs:
            back = dict(model.neighbours(other, kind=model.kinds_[model.row_of_[item_id]]))
            assert back[item_id] == pytest.approx(score, abs=1e-6)


def test_kind_filter_returns_only_items_of_that_kind():
    model = TfidfRecommender().fit(random_catalog(7, 50))
    kind_of = dict(zip(model.ids_.tolist(), model.kinds_.tolist()))
    for item_id in model.ids_.tolist():
        assert all(kind_of[other] == "book" for other, _ in model.neighbours(item_id, kind="book"))
        assert all(kind_of[other] == "film" for other, _ in model.neighbours(item_id, kind="film"))
        assert all(kind_of[other] == "film" for other, _ in model.recommend_for_set([item_id], kind="film"))


def test_neighbours_of_all_kinds_are_merged_best_first_and_honour_exclude():
    model = TfidfRecommender(top_n=5).fit(random_catalog(8, 50))
    item_id = int(model.ids_[0])
    merged = model.neighbours(item_id, k=6)
    assert [score for _, score in merged] == sorted((score for _, score in merged), reverse=True)
    banned = {other for other, _ in merged[:2]}
    assert not banned & {other for other, _ in model.neighbours(item_id, k=6, exclude=banned)}


def test_all_neighbours_covers_every_item_and_every_kind():
    model = TfidfRecommender().fit(random_catalog(9, 25))
    rows = list(model.all_neighbours())
    assert {(item_id, kind) for item_id, kind, _ in rows} == {
        (item_id, kind) for item_id in model.ids_.tolist() for kind in ("book", "film")
    }


def duras_catalog() -> list[ItemDoc]:
    return [
        ItemDoc(1, "film", "Hiroshima mon amour", original_title="二十四時間の情事",
                creators=("Alain Resnais", "Marguerite Duras"), tags=("war", "memory", "French New Wave"),
                description="Two lovers in Hiroshima remember the war and a love in Nevers."),
        ItemDoc(2, "book", "The Lover", creators=("Marguerite Duras",), tags=("memory", "colonial"),
                description="A girl and her lover in Saigon; memory of the war years."),
        ItemDoc(3, "film", "Cléo de 5 à 7", creators=("Agnès Varda",), tags=("French New Wave", "Paris"),
                description="A singer waits two hours in Paris for a diagnosis."),
        ItemDoc(4, "book", "Beloved", creators=("Toni Morrison",), tags=("grief", "memory"),
                description="A ghost, a mother and the memory of slavery."),
    ]


def test_explain_names_creators_then_tags_then_words_for_a_person():
    model = TfidfRecommender().fit(duras_catalog())
    assert model.explain(1, 2) == ["Also by Marguerite Duras", "Both tagged Memory", "Both about: war"]
    assert model.explain(1, 3) == ["Both tagged French New Wave"]


def test_a_reason_never_names_the_filler_of_plot_summaries():
    docs = [
        ItemDoc(1, "film", "Ivan's Childhood", description="The camera follows a boy scout at the front of the war."),
        ItemDoc(2, "book", "The Painted Bird", description="The novel follows a small boy through the war."),
        ItemDoc(3, "film", "Cléo from 5 to 7", description="A singer waits for a diagnosis in Paris."),
    ]
    model = TfidfRecommender().fit(docs)
    assert model.explain(1, 2) == ["Both about: boy, war"]
    assert model.explain_set([1, 3], 2) == ["Also about: boy, war"]


def test_reasons_only_name_features_both_items_really_have():
    docs = random_catalog(10, 40)
    model = TfidfRecommender().fit(docs)
    by_id = {doc.id: doc for doc in docs}
    for a in docs[:10]:
        for b_id, _ in model.neighbours(a.id):
            b = by_id[b_id]
            for reason in model.explain(a.id, b_id, max_words=10):
                label, _, names = reason.partition(": ")
                if reason.startswith("Also by "):
                    for name in reason.removeprefix("Also by ").split(" and "):
                        assert name in a.creators and name in b.creators
                elif reason.startswith("Both tagged "):
                    for tag in reason.removeprefix("Both tagged ").split(" · "):
                        assert tag.casefold() in {t.casefold() for t in a.tags} & {t.casefold() for t in b.tags}
                else:
                    assert label == "Both about"
                    for word in names.split(", "):
                        assert word in fold_accents(f"{a.title} {a.description} {a.note}").split()
                        assert word in fold_accents(f"{b.title} {b.description} {b.note}").split()


def test_a_translator_is_named_by_role_and_matches_as_a_creator_does():
    def book(id, title, author, translator):
        return ItemDoc(id, "book", title, tags=("fiction",), description="a novel",
                       creators=(author,), contributors=((translator, "translator"),))

    docs = [book(1, "The Vegetarian", "Han Kang", "Deborah Smith"),
            book(2, "Human Acts", "Han Kang", "Deborah Smith"),
            book(3, "The Disaster Tourist", "Yun Ko-eun", "Lizzie Buehler"),
            book(4, "Flights", "Olga Tokarczuk", "Jennifer Croft"),
            book(5, "Drive Your Plow", "Olga Tokarczuk", "Antonia Lloyd-Jones"),
            book(6, "Love in the Big City", "Sang Young Park", "Anton Hur"),
            book(7, "Cursed Bunny", "Bora Chung", "Anton Hur")]
    model = TfidfRecommender().fit(docs)
    assert model.explain(1, 2)[:2] == ["Also by Han Kang", "Also translated by Deborah Smith"]
    assert model.explain(6, 7)[0] == "Also translated by Anton Hur"
    assert not any(r.startswith("Also by") for r in model.explain(6, 7))
    # The same people given as plain creators make the same scores: only the wording knows the role.
    plain = TfidfRecommender().fit([
        ItemDoc(d.id, d.kind, d.title, tags=d.tags, description=d.description,
                creators=d.creators + tuple(name for name, _ in d.contributors)) for d in docs
    ])
    assert model.neighbours(6) == plain.neighbours(6) and model.neighbours(1) == plain.neighbours(1)
    assert plain.explain(6, 7)[0] == "Also by Anton Hur"


def test_explain_set_names_what_the_item_shares_with_the_set():
    model = TfidfRecommender().fit(duras_catalog())
    assert model.explain_set([2, 3], 1) == [
        "Also by Marguerite Duras", "Also tagged French New Wave · Memory", "Also about: war",
    ]
    assert model.explain_set([4], 3) == []


def test_explain_set_many_words_each_item_as_explain_set_does():
    model = TfidfRecommender(top_n=5).fit(random_catalog(23, 50))
    members = model.ids_[:5].tolist()
    others = [*model.ids_.tolist(), 999]
    for max_words in (0, 1, 3):
        expected = [model.explain_set(members, b, max_words) for b in others]
        assert sum(map(bool, expected)) > len(others) // 2
        assert model.explain_set_many(members, iter(others), max_words) == expected
    assert model.explain_set_many([999], [1, 2]) == [[], []]
    assert model.explain_set_many(members, []) == []


def neighbour_pairs(model: TfidfRecommender) -> list[tuple[int, int]]:
    """Every (item, neighbour) pair of the model's lists, grouped by item as a rebuild asks for them."""
    return [(item_id, other) for item_id, _, pairs in model.all_neighbours() for other, _ in pairs]


def test_explain_many_words_pairs_as_explain_does_and_skips_unknown_items():
    model = TfidfRecommender().fit(duras_catalog())
    assert model.explain_many([(1, 2), (1, 3), (1, 999), (999, 1), (3, 1), (4, 3)]) == [
        ["Also by Marguerite Duras", "Both tagged Memory", "Both about: war"],
        ["Both tagged French New Wave"],
        [],
        [],
        ["Both tagged French New Wave"],
        [],
    ]
    assert model.explain_many([]) == []
    assert TfidfRecommender().fit([]).explain_many([(1, 2)]) == [[]]


@pytest.mark.parametrize("max_words", [0, 1, 3, 10])
def test_explain_many_equals_explain_pair_by_pair_after_fit_fold_in_and_remove(max_words):
    docs = random_catalog(19, 70)
    model = TfidfRecommender(top_n=6).fit(docs[:60])

    def assert_same_as_explain(extra_pairs=()):
        pairs = neighbour_pairs(model) + list(extra_pairs)
        expected = [model.explain(a, b, max_words) for a, b in pairs]
        assert sum(map(bool, expected)) > len(pairs) // 2  # most neighbours do have reasons
        assert model.explain_many(pairs, max_words) == expected
        assert model.explain_many(iter(pairs), max_words) == expected

    assert_same_as_explain()
    for doc in docs[60:]:
        model.fold_in(doc)
    model.fold_in(ItemDoc(docs[0].id, "book", "ghost train", tags=("noir", "war"), creators=("Agnès Varda",),
                          description="ghost train night war memory"))
    assert_same_as_explain()
    model.remove(docs[1].id)
    model.remove(docs[65].id)
    assert_same_as_explain([(docs[1].id, docs[2].id), (docs[2].id, docs[65].id)])


def test_tied_features_are_named_in_feature_order_by_explain_and_explain_many():
    twin = dict(kind="film", title="", tags=("zeta", "Alpha", "mid"), description="river harbour")
    model = TfidfRecommender().fit([ItemDoc(1, **twin), ItemDoc(2, **twin), ItemDoc(3, "book", "storm")])
    expected = ["Both tagged Alpha · Mid", "Both about: harbour, river"]
    assert model.explain(1, 2, max_words=2) == expected
    assert model.explain_many([(1, 2)], max_words=2) == [expected]


def test_reasons_do_not_depend_on_the_order_of_features_within_a_stored_row():
    model = TfidfRecommender(top_n=5).fit(random_catalog(21, 50))
    pairs = neighbour_pairs(model)
    expected = [model.explain(a, b, 10) for a, b in pairs]
    members = model.ids_[:4].tolist()
    expected_sets = [model.explain_set(members, b) for b in model.ids_.tolist()]
    # fold_in() stacks rows, after which CSR rows need not keep their columns sorted.
    rng = np.random.default_rng(0)
    matrix = model.matrix_
    for start, end in zip(matrix.indptr[:-1].tolist(), matrix.indptr[1:].tolist()):
        shuffled = start + rng.permutation(end - start)
        matrix.indices[start:end], matrix.data[start:end] = matrix.indices[shuffled], matrix.data[shuffled]
    matrix.has_sorted_indices = False
    assert [model.explain(a, b, 10) for a, b in pairs] == expected
    assert model.explain_many(pairs, 10) == expected
    assert [model.explain_set(members, b) for b in model.ids_.tolist()] == expected_sets


@pytest.mark.parametrize("outlier_weight", [0.2, 1.0])
def test_recommend_for_set_matches_brute_force_and_leaves_members_out(outlier_weight):
    model = TfidfRecommender(set_outlier_weight=outlier_weight).fit(random_catalog(11, 60))
    members = model.ids_[:5].tolist()
    member_scores = brute_force_scores(model)[[model.row_of_[m] for m in members]]
    # Each member weighs by its summed score with the other members, the best of them 1, none below the floor.
    coherence = member_scores[:, [model.row_of_[m] for m in members]].sum(axis=1)
    weights = outlier_weight + (1 - outlier_weight) * coherence / coherence.max()
    scores = weights @ member_scores / weights.sum()
    expected = sorted(
        ((int(i), float(s)) for i, s in zip(model.ids_, scores) if i not in members and s > 1e-9),
        key=lambda pair: -pair[1],
    )[:10]
    assert_same_ranking(model.recommend_for_set(members, k=10), expected)


def test_a_stray_member_of_a_set_counts_less_than_what_the_rest_share():
    docs = [
        ItemDoc(1, "book", "The Lover", creators=("Marguerite Duras",), tags=("memory", "colonial")),
        ItemDoc(2, "book", "The Sea Wall", creators=("Marguerite Duras",), tags=("memory", "colonial")),
        ItemDoc(3, "book", "Dune", creators=("Frank Herbert",), tags=("science fiction", "desert")),
        ItemDoc(4, "book", "Beloved", creators=("Toni Morrison",), tags=("memory", "colonial")),
        ItemDoc(5, "book", "Dune Messiah", creators=("Frank Herbert",), tags=("science fiction", "desert")),
    ]
    weighted = TfidfRecommender().fit(docs).recommend_for_set([1, 2, 3], k=2)
    alike = TfidfRecommender(set_outlier_weight=1.0).fit(docs).recommend_for_set([1, 2, 3], k=2)
    assert [item_id for item_id, _ in alike] == [5, 4]  # Dune's sequel matches Dune closely
    assert [item_id for item_id, _ in weighted] == [4, 5]  # what the two Duras books share says more


@pytest.mark.parametrize("size", [1, 20])
def test_recommend_for_set_excludes_members_and_the_exclude_set(size):
    model = TfidfRecommender().fit(random_catalog(12, 60))
    members = model.ids_[:size].tolist()
    banned = {int(model.ids_[-1]), int(model.ids_[-2])}
    got = model.recommend_for_set(members, k=15, exclude=banned)
    assert got
    assert not {item_id for item_id, _ in got} & (set(members) | banned)
    assert len({item_id for item_id, _ in got}) == len(got)


def assert_same_lists(model: TfidfRecommender, reference: TfidfRecommender) -> None:
    assert sorted(model.ids_.tolist()) == sorted(reference.ids_.tolist())
    for item_id in reference.ids_.tolist():
        for kind in reference.neighbours_:
            assert_same_ranking(model.neighbours(item_id, kind), reference.neighbours(item_id, kind))


def test_fold_in_gives_the_same_neighbours_as_a_rebuild_on_the_same_vocabulary():
    docs = random_catalog(13, 70)
    model = TfidfRecommender(top_n=5).fit(docs[:60])
    changed = set()
    for doc in docs[60:]:
        changed |= model.fold_in(doc)
    rebuilt = TfidfRecommender(top_n=5).fit(docs, vectorizer=model.vectorizer_)
    assert_same_lists(model, rebuilt)
    assert {doc.id for doc in docs[60:]} <= changed


def test_folding_in_many_at_once_gives_the_lists_of_one_by_one_and_of_a_rebuild(monkeypatch):
    """An import folds in its books together: the same lists as folding them in one at a time, and as a
    rebuild on the same vocabulary, with edits of known items, a kind the model had not seen and an item
    given twice (its last version counts) in the same batch."""
    import recs.updates

    monkeypatch.setattr(recs.updates, "_APPEND_BLOCK", 7)  # several blocks, as a big import has
    docs = random_catalog(17, 90)
    edited = ItemDoc(docs[3].id, docs[3].kind, "ghost train", tags=("noir", "war"))
    zine = ItemDoc(99_100, "zine", "ghost train zine", tags=("noir",))
    first_version = ItemDoc(docs[80].id, docs[80].kind, "an early draft")
    batch = [first_version, *docs[60:], edited, zine]
    together = TfidfRecommender(top_n=5).fit(docs[:60])
    one_by_one = TfidfRecommender(top_n=5).fit(docs[:60])
    folded, changed = together.fold_in_many(batch)
    changed_one_by_one = set()
    for doc in [*docs[60:], edited, zine]:
        changed_one_by_one |= one_by_one.fold_in(doc)
    final = [*docs[:3], edited, *docs[4:], zine]
    rebuilt = TfidfRecommender(top_n=5).fit(final, vectorizer=together.vectorizer_)
    assert_same_lists(together, rebuilt)
    assert_same_lists(together, one_by_one)
    assert folded == {doc.id for doc in [*docs[60:], edited, zine]}
    assert changed == changed_one_by_one
    assert together.folded_count_ == one_by_one.folded_count_ == 32
    assert together.drift_ == pytest.approx(one_by_one.drift_)
    # Already there as they are: nothing folded, nothing changed.
    assert together.fold_in_many([edited, *docs[60:65]]) == (set(), set())


def test_a_copy_for_update_changes_without_touching_the_model_readers_use():
    docs = random_catalog(16, 60)
    published = TfidfRecommender(top_n=5).fit(docs[:50])
    before = list(published.all_neighbours())
    labels, rows = dict(published.labels_), dict(published.row_of_)
    copy = published.copy_for_update()
    for doc in docs[50:]:
        copy.fold_in(doc)
    copy.remove(docs[0].id)
    copy.fold_in(ItemDoc(docs[1].id, "film", "ghost train", tags=("noir", "brand new tag")))
    assert list(published.all_neighbours()) == before
    assert published.row_of_ == rows and published.labels_ == labels
    assert docs[50].id in copy.row_of_ and docs[0].id not in copy.row_of_
    # And the copy is a working model of the changed catalog.
    rebuilt = TfidfRecommender(top_n=5).fit(
        [ItemDoc(docs[1].id, "film", "ghost train", tags=("noir", "brand new tag")), *docs[2:]],
        vectorizer=copy.vectorizer_,
    )
    assert_same_lists(copy, rebuilt)


def test_score_rows_gives_every_pair_its_score_by_definition():
    model = TfidfRecommender(top_n=5).fit(random_catalog(21, 70))
    rows = np.arange(len(model.ids_))
    assert model.score_rows(rows) == pytest.approx(brute_force_scores(model), abs=1e-6)
    assert model.score_rows(rows[[5, 3]]) == pytest.approx(brute_force_scores(model)[[5, 3]], abs=1e-6)


def edits_of(docs: list[ItemDoc]) -> list[ItemDoc]:
    """New versions of some items: new words, another kind, another year, nothing left, a repeat edit."""
    first, second, third, fourth = docs[:4]
    return [
        ItemDoc(first.id, first.kind, first.title, creators=first.creators, tags=first.tags,
                description=first.description, note=first.note + " ghost train night ghost"),
        ItemDoc(second.id, "book" if second.kind == "film" else "film", second.title, tags=("noir", "war"),
                description=second.description),
        ItemDoc(third.id, third.kind, third.title, creators=third.creators, tags=third.tags,
                description=third.description, year=1950),
        ItemDoc(fourth.id, fourth.kind, "zzz"),
        ItemDoc(first.id, first.kind, first.title, creators=("Toni Morrison",), tags=("grief",),
                description="river winter garden mirror"),
    ]


@pytest.mark.parametrize("seed", [31, 32, 33])
def test_an_edit_folded_in_place_ranks_as_the_previous_remove_and_append_and_as_a_refit(seed):
    docs = random_catalog(seed, 80)
    in_place = TfidfRecommender(top_n=5).fit(docs)
    previous = TfidfRecommender(top_n=5).fit(docs)
    current = {doc.id: doc for doc in docs}
    for edited in edits_of(docs):
        before = {(item_id, kind): pairs for item_id, kind, pairs in in_place.all_neighbours()}
        changed = in_place.fold_in(edited)
        # How fold-in treated an edit before: take the item out, then add it again as a new last row.
        previous.remove(edited.id)
        previous.fold_in(edited)
        current[edited.id] = edited
        assert_same_lists(in_place, previous)
        refit = TfidfRecommender(top_n=5).fit(list(current.values()), vectorizer=in_place.vectorizer_)
        assert_same_lists(in_place, refit)
        after = {(item_id, kind): pairs for item_id, kind, pairs in in_place.all_neighbours()}
        assert {item_id for (item_id, kind), pairs in after.items() if before[(item_id, kind)] != pairs} <= changed
        assert in_place.ids_.tolist() == [doc.id for doc in docs]  # every row stays where it was
    scores = brute_force_scores(in_place)
    for item_id in in_place.ids_.tolist():
        for kind in ("film", "book"):
            assert_same_ranking(in_place.neighbours(item_id, kind), expected_neighbours(in_place, scores, item_id, kind, 5))


def test_edits_folded_into_copies_never_change_the_models_they_were_copied_from():
    docs = random_catalog(34, 60)
    published = TfidfRecommender(top_n=5).fit(docs)
    snapshot = published.dumps()
    first = published.copy_for_update()
    for edited in edits_of(docs):  # the second edit of an item writes into arrays the copy already owns
        first.fold_in(edited)
    first_snapshot = first.dumps()
    second = first.copy_for_update()
    second.fold_in(ItemDoc(docs[0].id, docs[0].kind, "ghost train", tags=("noir",)))
    second.fold_in(ItemDoc(docs[0].id, docs[0].kind, "ghost train", tags=("war",)))
    restored = TfidfRecommender.loads(snapshot)
    assert list(published.all_neighbours()) == list(restored.all_neighbours())
    assert (published.matrix_ != restored.matrix_).nnz == 0
    assert np.array_equal(published.latent_, restored.latent_)
    assert list(first.all_neighbours()) == list(TfidfRecommender.loads(first_snapshot).all_neighbours())
    assert (first.matrix_ != TfidfRecommender.loads(first_snapshot).matrix_).nnz == 0


def test_folding_in_an_item_as_the_model_already_has_it_changes_nothing():
    docs = random_catalog(35, 40)
    model = TfidfRecommender(top_n=5).fit(docs)
    before = list(model.all_neighbours())
    assert model.fold_in(docs[3]) == set()
    assert list(model.all_neighbours()) == before and model.folded_count_ == 0
    moved = ItemDoc(docs[3].id, docs[3].kind, docs[3].title, creators=docs[3].creators, tags=docs[3].tags,
                    description=docs[3].description, note=docs[3].note, year=1990)
    assert docs[3].id in model.fold_in(moved)  # another year is another era


def test_fold_in_reports_exactly_the_rows_that_changed():
    docs = random_catalog(14, 50)
    model = TfidfRecommender(top_n=4).fit(docs[:49])
    before = {(item_id, kind): pairs for item_id, kind, pairs in model.all_neighbours()}
    changed = model.fold_in(docs[49])
    after = {(item_id, kind): pairs for item_id, kind, pairs in model.all_neighbours()}
    really_changed = {item_id for (item_id, kind), pairs in after.items() if before.get((item_id, kind)) != pairs}
    assert really_changed <= changed
    assert docs[49].id in changed


def test_fold_in_of_a_known_id_replaces_the_item():
    docs = random_catalog(15, 40)
    model = TfidfRecommender(top_n=5).fit(docs)
    edited = ItemDoc(docs[0].id, "book", "ghost train", tags=("noir",), description="ghost train night")
    model.fold_in(edited)
    rebuilt = TfidfRecommender(top_n=5).fit([edited, *docs[1:]], vectorizer=model.vectorizer_)
    assert_same_lists(model, rebuilt)
    assert len(model.ids_) == 40


def test_the_last_item_of_a_kind_can_change_kind_or_go():
    docs = [*(d for d in random_catalog(17, 30, kinds=("film",))), ItemDoc(99_001, "book", "ghost train", tags=("noir",))]
    model = TfidfRecommender(top_n=4).fit(docs)
    # Her only book becomes a film: no book is left for anything to be near.
    model.fold_in(ItemDoc(99_001, "film", "ghost train", tags=("noir",)))
    rebuilt = TfidfRecommender(top_n=4).fit([*docs[:-1], ItemDoc(99_001, "film", "ghost train", tags=("noir",))],
                                            vectorizer=model.vectorizer_)
    assert model.neighbours(99_001, kind="film") == rebuilt.neighbours(99_001, kind="film")
    assert all(model.neighbours(d.id, kind="book") == [] for d in docs)
    model.fold_in(ItemDoc(99_002, "book", "ghost train night"))
    assert model.remove(99_002) <= {d.id for d in docs}


def test_remove_refreshes_the_lists_that_held_the_item():
    docs = random_catalog(16, 50)
    model = TfidfRecommender(top_n=4).fit(docs)
    gone = docs[3].id
    holders = {item_id for item_id, _, pairs in model.all_neighbours() if gone in dict(pairs)}
    assert model.remove(gone) == holders
    rebuilt = TfidfRecommender(top_n=4).fit([d for d in docs if d.id != gone], vectorizer=model.vectorizer_)
    assert_same_lists(model, rebuilt)
    assert model.neighbours(gone) == []
    assert model.remove(gone) == set()


def test_drift_grows_with_unknown_words_until_a_rebuild_is_due():
    model = TfidfRecommender(rebuild_after=0.2).fit(random_catalog(17, 50))
    assert not model.needs_rebuild()
    model.fold_in(ItemDoc(99_999, "book", "Zyzzyva quokka", description="entirely unheard vocabulary"))
    assert model.drift_ > 0.2
    assert model.needs_rebuild()


def test_dumps_and_loads_give_identical_neighbours_and_recommendations():
    model = TfidfRecommender().fit(random_catalog(18, 40))
    restored = TfidfRecommender.loads(model.dumps())
    assert list(restored.all_neighbours()) == list(model.all_neighbours())
    members = model.ids_[:3].tolist()
    assert restored.recommend_for_set(members) == model.recommend_for_set(members)
    assert restored.explain(members[0], members[1]) == model.explain(members[0], members[1])
    new = ItemDoc(77_777, "film", "ghost island", description="ghost island storm")
    assert restored.fold_in(new) == model.fold_in(new)


def test_loads_refuses_another_format_version():
    payload = pickle.dumps({"format_version": FORMAT_VERSION + 1, "model": TfidfRecommender()})
    with pytest.raises(ValueError, match="format"):
        TfidfRecommender.loads(payload)


def test_an_empty_catalog_fits_and_answers_with_empty_lists():
    model = TfidfRecommender().fit([])
    assert model.neighbours(1) == []
    assert list(model.all_neighbours()) == []
    assert model.recommend_for_set([1, 2]) == []
    assert model.explain(1, 2) == []
    assert TfidfRecommender.loads(model.dumps()).neighbours(1) == []


def test_a_single_item_has_no_neighbours():
    model = TfidfRecommender().fit([ItemDoc(5, "film", "Alone", tags=("solitude",))])
    assert list(model.all_neighbours()) == [(5, "film", [])]
    assert model.recommend_for_set([5]) == []


def test_items_without_description_or_tags_still_get_title_neighbours():
    model = TfidfRecommender().fit([
        ItemDoc(1, "film", "Winter Light"), ItemDoc(2, "book", "Winter Garden"),
        ItemDoc(3, "book", "", tags=()), ItemDoc(4, "film", "Summer", tags=("seasons",)),
    ])
    assert [item_id for item_id, _ in model.neighbours(1)] == [2]
    assert model.neighbours(3) == []


def test_a_catalog_without_any_words_works():
    model = TfidfRecommender().fit([ItemDoc(1, "film", "a"), ItemDoc(2, "book", "")])
    assert model.neighbours(1) == []
    assert model.fold_in(ItemDoc(3, "book", "a")) == {3}


def test_a_catalog_of_only_films_has_only_film_lists():
    model = TfidfRecommender().fit(random_catalog(19, 30, kinds=("film",)))
    assert {kind for _, kind, _ in model.all_neighbours()} == {"film"}
    item_id = int(model.ids_[0])
    assert model.neighbours(item_id, kind="book") == []
    assert model.neighbours(item_id)
    book = ItemDoc(123_456, "book", "memory war lovers", tags=("war",))
    changed = model.fold_in(book)
    assert {kind for _, kind, _ in model.all_neighbours()} == {"film", "book"}
    for film_id in model.ids_[:-1].tolist():
        assert (film_id in changed) == (model.neighbours(film_id, kind="book") != [])


def test_korean_japanese_and_accented_titles_match_their_parts():
    model = TfidfRecommender().fit([
        ItemDoc(1, "film", "二十四時間の情事"), ItemDoc(2, "book", "情事"),
        ItemDoc(3, "book", "채식주의자"), ItemDoc(4, "film", "채식"),
        ItemDoc(5, "film", "Cléo de 5 à 7"), ItemDoc(6, "book", "Cleo"),
        ItemDoc(7, "book", "Storm harbour"), ItemDoc(8, "film", "Winter garden"),
    ])
    assert [item_id for item_id, _ in model.neighbours(1)] == [2]
    assert [item_id for item_id, _ in model.neighbours(3)] == [4]
    assert [item_id for item_id, _ in model.neighbours(5)] == [6]
    # A pair of characters cut from a longer run is never named as a word.
    assert model.explain(3, 4) == []


def test_state_and_format_shelves_never_become_content_and_synonyms_meet():
    from recs.documents import tag_key

    assert {tag_key(t) for t in ("owned", "Kindle", "favorites", "to-read", "currently_reading", "2019")} == {""}
    assert tag_key("YA") == tag_key("young-adult") == tag_key("Young Adult")
    assert tag_key("sci-fi") == tag_key("Science Fiction")
    assert tag_key("vampires") == tag_key("Vampire")
    model = TfidfRecommender().fit([
        ItemDoc(1, "book", "Alpha", tags=("owned", "kindle", "sci-fi")),
        ItemDoc(2, "book", "Beta", tags=("owned", "kindle")),
        ItemDoc(3, "book", "Gamma", tags=("science-fiction",)),
    ])
    assert [item_id for item_id, _ in model.neighbours(1)] == [3]
    assert model.neighbours(2) == []


def test_fold_accents_strips_latin_accents_and_keeps_other_scripts():
    assert fold_accents("Cléo") == "cleo"
    assert fold_accents("Hiroshima mon amour") == "hiroshima mon amour"
    assert fold_accents("二十四時間の情事") == "二十四時間の情事"
    assert fold_accents("ゴジラ") == "ゴジラ"
    assert fold_accents("Łódź STRASSE Straße") == "lodz strasse strasse"


def test_tags_and_creators_weigh_more_than_description_words():
    assert FIELD_WEIGHTS["tags"] > FIELD_WEIGHTS["description"]
    assert FIELD_WEIGHTS["creators"] > FIELD_WEIGHTS["description"]


def mixed_script_catalog() -> list[ItemDoc]:
    """Accents, unspaced scripts, stop words, one-letter words, repeated and empty tags."""
    return [
        *duras_catalog(),
        ItemDoc(5, "film", "Godzilla映画 ゴジラ", original_title="Łódź STRASSE Straße",
                creators=("Agnès  Varda", "agnes varda", " "), tags=("War", "war ", "Ça", ""),
                description="The x-ray of a_b c3PO: 1 22 İstanbul ภาษาไทย हिन्दी भाषा", note="ñandú the"),
        ItemDoc(6, "book", "情事の時間", creators=("Agnes Varda",), tags=("ça", "noir"),
                description="straße istanbul 22 and the war"),
        *random_catalog(21, 40),
    ]


@pytest.mark.parametrize("limits", [{}, {"min_df": 2, "max_df": 0.5}])
def test_rows_weigh_saturated_field_counts_by_idf_and_fold_in_agrees(limits):
    from recs.documents import count_features

    docs = mixed_script_catalog()
    model = TfidfRecommender(**limits).fit(docs)
    counted = count_features(docs, model.vectorizer_.vocabulary_).counts.toarray()
    frequency = np.bincount(model.matrix_.indices, minlength=model.matrix_.shape[1])
    expected = counted * (np.log((1 + len(docs)) / (1 + frequency)) + 1)
    norms = np.linalg.norm(expected, axis=1, keepdims=True)
    expected = np.divide(expected, norms, out=np.zeros_like(expected), where=norms > 0)
    assert abs(model.matrix_.toarray() - expected).max() == pytest.approx(0, abs=1e-5)
    assert abs(model.vectorizer_.transform(docs) - model.matrix_).max() == pytest.approx(0, abs=1e-6)
    if not limits:
        assert model.explain(5, 6)[:2] == ["Also by Agnès Varda", "Both tagged Ça"]


def test_pruned_search_keeps_matches_weaker_than_its_candidate_floor():
    # Two items sharing one word among forty of their own: a cosine of about 0.02.
    own_words = [" ".join(f"w{side}x{i}" for i in range(40)) for side in "ab"]
    pair = [ItemDoc(50_001 + i, "film", "", description=f"{words} quokka") for i, words in enumerate(own_words)]
    docs = random_catalog(22, 200) + pair
    pruned = TfidfRecommender(top_n=5, exact_below=0, evidence_floor=0).fit(docs)
    exact = TfidfRecommender(top_n=5, evidence_floor=0).fit(docs)
    assert 0 < exact.neighbours(50_001)[0][1] < 0.03
    assert_same_ranking(pruned.neighbours(50_001), exact.neighbours(50_001))
    assert pruned.neighbours(50_001)[0][0] == 50_002
