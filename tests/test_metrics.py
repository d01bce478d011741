"""The metrics on hand-made cases with known answers."""

import math

import numpy as np
import pytest
import torch

from ltm.metrics import (
    bits_per_byte,
    byte_accuracy,
    collapse_rate,
    distinct_n,
    exact_match,
    recall_at_k,
    rouge_l,
)


def test_recall_copy_model_is_one():
    keys = np.random.default_rng(0).normal(size=(50, 16))
    assert recall_at_k(keys, keys, 1) == 1.0
    assert recall_at_k(torch.tensor(keys), torch.tensor(keys) * 3.0, 1) == 1.0  # cosine


def test_recall_of_a_known_permutation():
    eye = np.eye(6)
    perm = [1, 0, 2, 3, 5, 4]  # rows 2 and 3 stay, the others are swapped in pairs
    assert recall_at_k(eye, eye[perm], 1) == pytest.approx(2 / 6)
    # each query's nearest key is one-hot orthogonal to its own; at k=6 everything counts
    assert recall_at_k(eye, eye[perm], 6) == 1.0


def test_recall_ties_count_against_the_query():
    same = np.ones((10, 4))
    assert recall_at_k(same, same, 1) == 0.0
    assert recall_at_k(same, same, 10) == 1.0


def test_recall_rejects_bad_shapes():
    with pytest.raises(ValueError, match="queries"):
        recall_at_k(np.ones((3, 2)), np.ones((4, 2)))
    with pytest.raises(ValueError, match="k"):
        recall_at_k(np.eye(3), np.eye(3), 0)


def test_rouge_l_known_values():
    assert rouge_l("the cat sat on the mat", "the cat sat on the mat") == 1.0
    # LCS("the cat sat", "the dog sat") = 2 of 3 on both sides -> F = 2/3
    assert rouge_l("the cat sat", "the dog sat") == pytest.approx(2 / 3)
    # P = 2/2, R = 2/4 -> F1 = 2/3
    assert rouge_l("police killed", "police killed the gunman") == pytest.approx(2 / 3)
    # Lin (2004) section 3.1: S2 "police kill the gunman" vs S1 "police killed the gunman"
    assert rouge_l("police kill the gunman", "police killed the gunman") == pytest.approx(3 / 4)
    assert rouge_l("a b", "c d") == 0.0
    assert rouge_l("", "") == 1.0 and rouge_l("", "a") == 0.0


def test_distinct_n_known_lists():
    assert distinct_n(["a b c", "a b d"], 1) == pytest.approx(4 / 6)
    assert distinct_n(["a b c", "a b d"], 2) == pytest.approx(3 / 4)  # ab, bc, ab, bd
    assert distinct_n(["x x x x"], 1) == 0.25
    assert distinct_n(["a", "b"], 2) == 0.0  # no bigram inside a text, none across texts
    with pytest.raises(ValueError):
        distinct_n("a b", 1)


def test_uniform_byte_model_is_eight_bits():
    n = 12345
    assert bits_per_byte(n * math.log(256), n) == pytest.approx(8.0, abs=1e-12)
    assert bits_per_byte(0.0, 3) == 0.0
    with pytest.raises(ValueError):
        bits_per_byte(1.0, 0)


def test_exact_match_and_byte_accuracy():
    assert exact_match(["a", "b", "c"], ["a", "x", "c"]) == pytest.approx(2 / 3)
    assert exact_match([{"act": "go"}], [{"act": "go"}]) == 1.0
    with pytest.raises(ValueError):
        exact_match(["a"], [])
    assert byte_accuracy(["Кот."], ["Кот."]) == 1.0
    assert byte_accuracy(["abcd"], ["abxd"]) == 0.75
    assert byte_accuracy(["ab"], ["abcd"]) == 0.5  # missing bytes count
    assert byte_accuracy(["abcdef", ""], ["abc", ""]) == 0.5  # extra bytes count


def test_collapse_rate_repeat_average_and_honest():
    cands = np.eye(4)[:3]  # three orthogonal plausible next thoughts
    prev = np.eye(4)[3:4]
    honest = cands[0:1]  # one of the candidates
    mean = cands.mean(0, keepdims=True)  # "predicts the average"
    repeat = prev  # says the last thought again
    g = np.concatenate([honest, mean, repeat])
    assert collapse_rate(g, np.repeat(prev, 3, 0), [cands] * 3) == pytest.approx(2 / 3)
    # one candidate: the mean is that candidate, so only repeats count
    assert collapse_rate(cands[:1], prev, [cands[:1]]) == 0.0
