"""Tests for helpers.moderation: normalisation, obfuscation, data set, moderators, metrics (notebook 11)."""

import csv
import time
from importlib import resources

import numpy as np
import pytest
from sklearn import metrics as skm

from helpers import moderation as M
from helpers.moderation import data as data_module
from helpers.moderation import templates


@pytest.fixture(scope="module")
def dataset():
    return M.load_dataset()


@pytest.fixture(scope="module")
def model():
    return M.load_moderator()


# ---------------------------------------------------------------- normalize, one test per trick

@pytest.mark.parametrize(("raw", "expected"), [
    ("ｈａｔｅ", "hate"),                       # fullwidth (NFKC)
    ("𝐡𝐚𝐭𝐞", "hate"),                          # mathematical bold (NFKC)
    ("ﬁnd", "find"),                            # ligature (NFKC)
])
def test_normalize_nfkc(raw, expected):
    assert M.normalize(raw) == expected


def test_normalize_zero_width_and_controls():
    assert M.normalize("h\u200ba\u200ct\u200de\u2060\ufeff") == "hate"
    assert M.normalize("soft\u00adware") == "software"
    assert M.normalize("good\x00day\x07now") == "good day now"
    assert M.remove_invisible("x\u200by") == "xy"


def test_normalize_confusables():
    cyrillic = "h\u0430t\u0435"                   # Cyrillic а, е
    assert cyrillic != "hate" and M.normalize(cyrillic) == "hate"
    assert M.fold_confusables("\u03bf\u0440\u0435n") == "open"  # Greek omicron, Cyrillic р, е
    assert M.normalize("\u041a\u0406LL") == "kill"  # Cyrillic К, І


@pytest.mark.parametrize(("raw", "expected"), [
    ("I h4te you", "i hate you"), ("st3al", "steal"), ("k1ll", "kill"), ("$tupid", "stupid"),
    ("h@te", "hate"), ("h4te!", "hate!"), ('"h4te",', '"hate",'), ("7h3 b0mb", "the bomb"),
])
def test_normalize_leetspeak(raw, expected):
    assert M.normalize(raw) == expected


def test_leetspeak_leaves_numbers_alone():
    assert M.normalize("it costs $5 in 2024, 3 times!") == "it costs $5 in 2024, 3 times!"
    assert M.fold_leetspeak("wow!") == "wow!"


@pytest.mark.parametrize(("raw", "expected"), [
    ("h a t e", "hate"), ("I will h a t e you", "i will hate you"), ("k.i.l.l", "kill"),
    ("k-i-l-l", "kill"), ("s_t_e_a_l", "steal"), ("h * a * t * e", "hate"), ("a b", "a b"),
])
def test_normalize_spacing(raw, expected):
    assert M.normalize(raw) == expected


def test_normalize_repeats_case_and_whitespace():
    assert M.normalize("HAAAATE") == "hate"
    assert M.normalize("kill  all\n\tthe   bugs ") == "kill all the bugs"
    assert M.squeeze_repeats("book") == "book"


def test_normalize_idempotent_and_keeps_plain_text(dataset):
    for text in dataset.texts[:300]:
        once = M.normalize(text)
        assert M.normalize(once) == once
        assert once == " ".join(text.lower().split()) or any(c.isdigit() or c in ".-_*" for c in text), text


def test_normalize_bad_input():
    for bad in (None, 3, b"bytes"):
        with pytest.raises(ValueError, match="text"):
            M.normalize(bad)
    assert M.normalize("") == ""


# ---------------------------------------------------------------- obfuscate

@pytest.mark.parametrize("kind", M.OBFUSCATIONS)
def test_obfuscate_changes_text_and_normalize_undoes_it(kind):
    text = "I will find where you live and hurt you."
    obf = M.obfuscate(text, kind, rate=1.0, seed=3)
    assert obf != text
    assert M.normalize(obf) == M.normalize(text)
    assert M.obfuscate(text, kind, rate=1.0, seed=3) == obf      # deterministic
    assert M.obfuscate(text, kind, rate=0.0, seed=3) == text     # rate 0: untouched


def test_obfuscate_examples_and_bad_input():
    assert M.obfuscate("hate", "leet") == "h473"
    assert M.obfuscate("hate", "spacing") == "h a t e"
    assert M.obfuscate("hate", "zero_width") == "h\u200ba\u200bt\u200be"
    assert M.obfuscate("go hate", "fullwidth") == "go ｈａｔｅ"   # words under 3 letters stay
    with pytest.raises(ValueError, match="kind"):
        M.obfuscate("x", "rot13")
    with pytest.raises(ValueError, match="rate"):
        M.obfuscate("x", "leet", rate=1.5)
    with pytest.raises(ValueError, match="text"):
        M.obfuscate(None, "leet")


def test_spacing_never_spaces_adjacent_words():
    out = M.obfuscate("hurt them very badly now", "spacing", rate=1.0)
    assert M.normalize(out) == "hurt them very badly now"
    out = M.obfuscate("I will hurt a man", "spacing", rate=1.0)   # not next to the one-letter "I" or "a"
    assert out.startswith("I w\u200bi") and M.normalize(out) == "i will hurt a man"


# ---------------------------------------------------------------- data set

def test_shipped_csv_equals_the_builder():
    rows = data_module.build_dataset(seed=0)
    with resources.files("helpers.moderation").joinpath("moderation.csv").open(encoding="utf-8") as f:
        shipped = list(csv.DictReader(f))
    assert shipped == rows


def test_dataset_size_labels_and_disjoint_families(dataset):
    assert len(dataset) >= 2000
    assert set(dataset.labels) == set(M.LABELS)
    train, test = dataset.split("train"), dataset.split("test")
    assert not set(train.families) & set(test.families)
    for label in M.LABELS:                       # every label in both splits
        assert (train.labels == label).sum() >= 90 and (test.labels == label).sum() >= 90
    assert (dataset.labels == "benign").mean() > 0.35
    assert dataset.trigger[dataset.labels == "benign"].mean() > 0.4   # many benign texts use trigger words
    assert not dataset.trigger[dataset.unsafe].any()
    assert len(set(t.lower() for t in dataset.texts)) == len(dataset)  # no duplicates


def test_dataset_is_classroom_appropriate(dataset):
    # a guard against accidents in template edits: none of these may appear
    banned = ["fuck", "shit", "bitch", "cunt", "nigg", "fag", "retard", "tranny", "kike", "spic", "whore"]
    text = " ".join(dataset.texts).lower()
    assert not [w for w in banned if w in text]


def test_build_dataset_deterministic_and_bad_seed():
    assert data_module.build_dataset(1) == data_module.build_dataset(1)
    assert data_module.build_dataset(1) != data_module.build_dataset(0)
    with pytest.raises(ValueError, match="seed"):
        data_module.build_dataset(-1)
    with pytest.raises(ValueError, match="name"):
        M.load_dataset().split("validation")
    with pytest.raises(ValueError, match="mask"):
        M.load_dataset().subset(np.array([True]))
    assert {f.split for f in templates.FAMILIES} == {"train", "test"}


# ---------------------------------------------------------------- moderators

def test_issue_examples():
    kw = M.keyword_baseline()
    assert kw.predict(["I hate Mondays"])[0]                                    # over-flags
    assert not kw.predict(["I will find where you live and hurt you"])[0]       # misses
    assert not kw.predict(["I h4te you"])[0]                                    # fooled by leetspeak
    assert M.keyword_baseline(use_normalize=True).predict(["I h4te you"])[0]


def test_keyword_scores():
    kw = M.keyword_baseline()
    p = kw.predict_proba(["nothing here", "I hate that", "kill and stab", ""])
    np.testing.assert_allclose(p, [0.0, 0.5, 0.75, 0.0])
    cats = kw.category_scores(["kill and stab"])
    assert cats.shape == (1, 5) and cats[0, M.CATEGORIES.index("violence")] == 0.75
    assert list(kw.categorize(["I hate you", "hello"])) == ["hate", "benign"]


def test_learned_beats_baseline_on_held_out_families(dataset, model):
    test = dataset.split("test")
    texts, y = list(test.texts), test.unsafe
    f1_learned = M.precision_recall_f1(y, model.predict(texts))[2]
    f1_keyword = M.precision_recall_f1(y, M.keyword_baseline().predict(texts))[2]
    assert f1_learned >= 0.75  # the context families (counter-speech, quotation, help-seeking) pull it down
    assert f1_learned - f1_keyword >= 0.3
    old = ~np.isin(test.families, ["help_seeking", "counter_speech", "quotation"])
    assert M.precision_recall_f1(y[old], model.predict(list(test.texts[old])))[2] >= 0.88


def test_learned_recall_robust_to_obfuscation_only_with_normalize(dataset, model):
    test = dataset.split("test")
    unsafe = list(test.texts[test.unsafe])[::4]
    benign = list(test.texts[~test.unsafe])[::4]
    table = M.robustness_table({"norm": model, "raw": model.with_options(use_normalize=False)}, unsafe, benign,
                               kinds=("leet", "homoglyph", "mixed"), rate=1.0, seed=0)
    clean_recall, clean_fpr = table["clean"]["norm"]
    for kind in ("leet", "homoglyph", "mixed"):
        recall, fpr = table[kind]["norm"]
        assert abs(recall - clean_recall) <= 0.05 and fpr <= clean_fpr + 0.05, kind
        assert table[kind]["raw"][1] > clean_fpr + 0.15, kind   # without normalize: odd text gets flagged


def test_shipped_model_equals_a_retrain(dataset, model):
    train = dataset.split("train")
    fresh = M.train_moderator(list(train.texts), list(train.labels))
    probe = list(dataset.split("test").texts[::7])
    np.testing.assert_allclose(fresh.predict_proba(probe), model.predict_proba(probe), atol=1e-5)
    np.testing.assert_allclose(fresh.category_scores(probe), model.category_scores(probe), atol=1e-5)


def test_save_load_round_trip(tmp_path, dataset):
    small = dataset.subset(np.arange(len(dataset)) % 5 == 0)
    mod = M.train_moderator(list(small.texts), list(small.labels), threshold=0.4)
    path = tmp_path / "m.npz"
    M.save_moderator(mod, str(path))
    loaded = M.load_moderator(str(path))
    probe = ["I will hurt you", "how do I kill a python process", "hello"]
    np.testing.assert_allclose(loaded.predict_proba(probe), mod.predict_proba(probe), atol=1e-5)
    assert loaded.threshold == 0.4
    np.load(path, allow_pickle=False)  # the file holds no pickled objects


def test_moderator_interface_and_speed(model, dataset):
    texts = list(dataset.texts[:1000])
    start = time.perf_counter()
    p = model.predict_proba(texts)
    assert time.perf_counter() - start < 2.0        # "well under a second" on an idle machine; CI is shared
    assert p.shape == (1000,) and ((p >= 0) & (p <= 1)).all()
    assert model.category_scores(texts[:3]).shape == (3, 5)
    np.testing.assert_array_equal(model.predict(texts, threshold=0.3), p >= 0.3)
    np.testing.assert_array_equal(model.predict(texts), p >= model.threshold)
    assert set(model.categorize(texts)) <= set(M.LABELS)
    start = time.perf_counter()
    M.load_moderator()
    assert time.perf_counter() - start < 1.0


@pytest.mark.parametrize("make", [M.keyword_baseline, M.load_moderator])
def test_bad_inputs_and_empty_text(make):
    mod = make()
    assert not mod.predict([""])[0] and mod.predict_proba([""])[0] == 0.0
    assert mod.predict_proba([]).shape == (0,)
    with pytest.raises(ValueError, match=r"texts\[1\]"):
        mod.predict_proba(["fine", None])
    with pytest.raises(ValueError, match=r"texts\[0\]"):
        mod.predict([3])
    with pytest.raises(ValueError, match="single str"):
        mod.predict("a string, not a list")
    with pytest.raises(ValueError, match="threshold"):
        mod.predict(["x"], threshold=2.0)


def test_train_moderator_bad_inputs():
    with pytest.raises(ValueError, match="same length"):
        M.train_moderator(["a", "b"], ["benign"])
    with pytest.raises(ValueError, match=r"labels\[1\]"):
        M.train_moderator(["a", "b"], ["benign", "spam"])
    with pytest.raises(ValueError, match="both"):
        M.train_moderator(["a", "b"], ["benign", "benign"])
    with pytest.raises(ValueError, match="C"):
        M.train_moderator(["a", "b"], ["benign", "hate"], C=0)
    with pytest.raises(ValueError, match="use_normalize"):
        M.load_moderator().with_options(C=3)


# ---------------------------------------------------------------- metrics, against scikit-learn

def test_metrics_match_sklearn():
    rng = np.random.default_rng(0)
    for _ in range(20):
        y = rng.random(200) < 0.4
        pred = rng.random(200) < 0.5
        p, r, f = M.precision_recall_f1(y, pred)
        sp, sr, sf, _ = skm.precision_recall_fscore_support(y, pred, average="binary", zero_division=0)
        np.testing.assert_allclose([p, r, f], [sp, sr, sf], rtol=0, atol=1e-12)
        np.testing.assert_array_equal(M.confusion_counts(y, pred), skm.confusion_matrix(y, pred))
        scores = np.round(rng.random(200), 2)        # ties included
        precision, recall, thr = M.pr_curve(y, scores)
        sk_p, sk_r, sk_t = skm.precision_recall_curve(y, scores)
        for t, pp, rr in zip(sk_t, sk_p[:-1], sk_r[:-1], strict=True):   # sklearn drops thresholds below
            i = np.nonzero(thr == t)[0][0]                                # the one with full recall
            assert abs(precision[i] - pp) < 1e-12 and abs(recall[i] - rr) < 1e-12
        assert abs(M.average_precision(y, scores) - skm.average_precision_score(y, scores)) < 1e-12


def test_metric_edge_cases():
    assert M.precision_recall_f1([0, 0], [0, 0]) == (0.0, 0.0, 0.0)
    assert M.precision_recall_f1([1, 1], [1, 1]) == (1.0, 1.0, 1.0)
    with pytest.raises(ValueError, match="y_pred"):
        M.precision_recall_f1([1, 0], [2, 0])
    with pytest.raises(ValueError, match="shape"):
        M.confusion_counts([1, 0], [1])
    with pytest.raises(ValueError, match="positive"):
        M.pr_curve([0, 0], [0.1, 0.2])
    with pytest.raises(ValueError, match="scores"):
        M.pr_curve([0, 1], [0.1])


def test_wilson_interval():
    # statsmodels 0.15.0 proportion_confint(k, n, alpha=0.05, method="wilson"), see WILSON_REFERENCE below
    for (k, n), expected in WILSON_REFERENCE.items():
        np.testing.assert_allclose(M.wilson_interval(k, n), expected, atol=1e-5)  # z = 1.96 vs 1.959964: max diff 7.2e-6
    lo, hi = M.wilson_interval(0, 10)
    assert lo == 0.0 and 0 < hi < 0.35
    with pytest.raises(ValueError, match="n"):
        M.wilson_interval(1, 0)
    with pytest.raises(ValueError, match="k"):
        M.wilson_interval(5, 4)


# Produced in a scratch venv (/tmp/ref-moderation) with statsmodels 0.15.0:
#   proportion_confint(k, n, alpha=0.05, method="wilson"), printed to 6 decimals.
WILSON_REFERENCE = {
    (0, 10): (0.000000, 0.277533),
    (3, 10): (0.107791, 0.603222),
    (17, 200): (0.053746, 0.131896),
    (50, 50): (0.928652, 1.000000),
    (1, 1000): (0.000177, 0.005643),
}


def test_threshold_view():
    y = np.array([True, True, False, False])
    s = {"m": np.array([0.9, 0.4, 0.6, 0.1])}
    v = M.threshold_view(y, s, "m", 0.5)
    np.testing.assert_array_equal(v.confusion, [[1, 1], [1, 1]])
    assert (v.precision, v.recall, v.f1) == (0.5, 0.5, 0.5)
    assert M.threshold_view(y, s, "m", 0.0).recall == 1.0
    with pytest.raises(ValueError, match="moderator"):
        M.threshold_view(y, s, "other", 0.5)
    with pytest.raises(ValueError, match="threshold"):
        M.threshold_view(y, s, "m", 1.5)


# ------------------------------------------------------------------------------------------------ issue 17


def test_test_split_has_context_families_and_balanced_groups(dataset):
    test = dataset.split("test")
    for fam in ("help_seeking", "counter_speech", "quotation"):
        m = test.families == fam
        assert m.sum() >= 50 and (test.labels[m] == "benign").all()
    import re
    counts = [sum(re.search(rf"\b{g}\b", t.lower()) is not None for t in test.texts) for g in templates.SLOTS["group"]]
    assert min(counts) >= 30


def test_train_split_unchanged_by_test_families():
    # test families are appended and drawn from their own RNG streams: the training rows stay as shipped
    rows = data_module.build_dataset(0)
    train = [r for r in rows if r["split"] == "train"]
    assert len(train) == 1410 and train[0]["family"] == "threat_direct"


def test_no_self_harm_test_text_reuses_a_training_sentence(dataset):
    train, test = dataset.split("train"), dataset.split("test")
    reuse = M.clause_reuse(list(test.texts), list(train.texts))
    assert reuse[test.labels == "self_harm"].sum() == 0
    assert not set(templates.SLOTS["sh_state_test"]) & set(templates.SLOTS["sh_state"])
    # the detector does find a planted copy, with the style layer stripped
    assert M.clause_reuse(["Honestly, dear diary, today I want to hurt myself lol"], ["I want to hurt myself"])[0]
    assert not M.clause_reuse(["I want to stop existing"], ["I want to hurt myself"])[0]


@pytest.mark.parametrize("text, expected", [("Honestly, I hate Mondays lol", "i hate mondays"),
                                            ("Ok so you are a joke ok?", "you are a joke"),
                                            ("plain text", "plain text")])
def test_base_sentence(text, expected):
    assert M.base_sentence(text) == expected


def test_cluster_bootstrap_properties():
    rng = np.random.default_rng(0)
    # one value per cluster: the ordinary bootstrap of a proportion, close to the normal interval
    v = rng.random(400) < 0.3
    est, lo, hi = M.cluster_bootstrap_mean(v, np.arange(400), n_boot=4000, seed=1)
    se = np.sqrt(est * (1 - est) / 400)
    assert est == v.mean() and abs((hi - lo) - 2 * 1.96 * se) < 0.01
    # duplicating each text 10 times inside its cluster does not shrink the interval
    dup = np.repeat(v, 10)
    _, lo2, hi2 = M.cluster_bootstrap_mean(dup, np.repeat(np.arange(400), 10), n_boot=4000, seed=1)
    assert abs((hi2 - lo2) - (hi - lo)) < 0.01
    # ... while treating the copies as independent does (the error the cluster bootstrap avoids)
    _, lo3, hi3 = M.cluster_bootstrap_mean(dup, np.arange(4000), n_boot=4000, seed=1)
    assert hi3 - lo3 < 0.5 * (hi - lo)
    # constant values: a zero-width interval; deterministic given the seed
    assert M.cluster_bootstrap_mean(np.ones(5), [0, 0, 1, 1, 2]) == (1.0, 1.0, 1.0)
    assert M.cluster_bootstrap_mean(v, np.arange(400) // 4, seed=3) == M.cluster_bootstrap_mean(v, np.arange(400) // 4, seed=3)


@pytest.mark.parametrize("bad", [dict(values=[], clusters=[]), dict(values=[1, 2], clusters=[1]),
                                 dict(values=[np.nan], clusters=[0]), dict(values=[1], clusters=[0], n_boot=0),
                                 dict(values=[1], clusters=[0], level=1.0)])
def test_cluster_bootstrap_bad_input(bad):
    with pytest.raises(ValueError):
        M.cluster_bootstrap_mean(**bad)


@pytest.mark.parametrize("kind", M.UNSEEN_OBFUSCATIONS)
def test_unseen_obfuscations_are_not_undone_by_normalize(kind):
    text = "I will find where you live and hurt you tonight"
    obf = M.obfuscate_unseen(text, kind, rate=1.0, seed=0)
    assert obf != text and M.normalize(obf) != M.normalize(text)
    assert M.obfuscate_unseen(text, kind, rate=1.0, seed=0) == obf  # deterministic
    assert M.obfuscate_unseen(text, kind, rate=0.0, seed=0) == text


def test_unseen_obfuscation_examples_and_bad_input():
    assert M.obfuscate_unseen("hate", "split_word", rate=1.0, seed=0) in {"ha te"}
    assert " " not in M.obfuscate_unseen("hate", "diacritics", rate=1.0, seed=0)
    with pytest.raises(ValueError):
        M.obfuscate_unseen("x", "nope")
    with pytest.raises(ValueError):
        M.obfuscate_unseen("x", "emoji", rate=2.0)
    with pytest.raises(ValueError):
        M.obfuscate_unseen(3, "emoji")


def test_greedy_char_attack_lowers_the_score_within_budget(model):
    text = "I know where you live and I will hurt you"
    r = M.greedy_char_attack(model.predict_proba, text, budget=200, seed=0)
    assert r.start_score >= 0.5 and r.final_score <= r.start_score and r.queries <= 200
    assert r.success == (r.final_score < 0.5)
    assert abs(float(model.predict_proba([r.text])[0]) - r.final_score) < 1e-12
    # a text already below the threshold costs one query and is returned unchanged
    easy = M.greedy_char_attack(model.predict_proba, "what time does the library open", seed=0)
    assert easy.queries == 1 and easy.success and easy.text == "what time does the library open"
    # a score the attack cannot move: stops at the budget, no success
    stuck = M.greedy_char_attack(lambda xs: np.ones(len(xs)), text, budget=60, per_round=25)
    assert not stuck.success and stuck.queries <= 60
    with pytest.raises(ValueError):
        M.greedy_char_attack(model.predict_proba, "", budget=10)
    with pytest.raises(ValueError):
        M.greedy_char_attack(model.predict_proba, text, budget=0)


def test_policy_self_harm_is_support_not_block():
    rule = M.action_for("self_harm", True)
    assert rule.action == "support" and rule.escalate and rule.severity == 3
    assert M.action_for("violence", True).action == "block_and_review"
    assert M.action_for("hate", False) is None and M.action_for("benign", True) is None
    assert set(M.POLICY) == set(M.CATEGORIES) and all(r.action in M.ACTIONS for r in M.POLICY.values())
    assert "116 123" in M.SUPPORT_MESSAGE and "988" in M.SUPPORT_MESSAGE
    assert not M.SUPPORT_MESSAGE.startswith("I cannot")
    with pytest.raises(ValueError):
        M.action_for("spam", True)


def test_keyword_count():
    assert sum(len(v) for v in M.KEYWORDS.values()) == 32
