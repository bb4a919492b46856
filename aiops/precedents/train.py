"""Fitting the precedent model (scikit-learn; used by the build script and the benchmark only).

A TF-IDF of word 1-2-grams and a class-balanced logistic regression; the nearest cases'
similarity-weighted vote; and a calibration of both into a probability (a logistic regression on
out-of-fold scores, folds grouped by agency: an agency's cases are never scored by a model that
saw them). The thresholds are chosen on those same out-of-fold figures: the fitted cases' own
scores would be optimistic.

Raising needs agreement (a rule fixed before it was measured): the probability above the raise
threshold, a majority of the nearest cases labelled high-impact, and a nearest case at least as
similar as nearly all (99%) of an unseen agency's use cases find one. A probability above the
threshold without that agreement is flagged for review instead: a text the precedents know only
by a topic word or two (company wording) is a question for a person, not a verdict.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aiops.precedents import NameStripper, PrecedentModel, workflow_text

SEED = 2024
FOLDS = 5
C = 4.0
NEIGHBOURS = 5
# What the second opinion may cost, as shares of the ordinary (not high-impact) use cases the rules
# leave below high: raised to high, and flagged for review (a human's time). 1% is the room the
# target false-high rate (0.25) leaves above the rules' own rate (0.238 on the 2024 inventories).
RAISE_BUDGET = 0.01
REVIEW_BUDGET = 0.10
# Agreement: a majority of the nearest cases, and a nearest case no less similar than this share's
# quantile of the out-of-fold nearest similarities (texts less like any precedent are unknown).
AGREEING_VOTES = NEIGHBOURS // 2 + 1
UNKNOWN_SHARE = 0.01


@dataclass(frozen=True)
class Fitted:
    """The model's parameters (the ``model`` part of the precedents file) and, per training case,
    out of fold: the probability, the high-impact votes of its nearest cases and the nearest one's
    similarity (for choosing thresholds and for the calibration table)."""

    model: dict[str, Any]
    out_of_fold: Any
    votes: Any
    top_similarity: Any


@dataclass(frozen=True)
class Thresholds:
    """What the policy's [precedents] section holds, chosen on out-of-fold figures."""

    raise_above: float
    review_above: float
    min_high_votes: int
    min_similarity: float

    def as_policy(self) -> dict[str, Any]:
        return {
            "raise_above": self.raise_above,
            "review_above": self.review_above,
            "min_high_votes": self.min_high_votes,
            "min_similarity": self.min_similarity,
        }


TOKEN_PATTERN = r"(?u)\b\w\w+\b"


def new_vectorizer(names: Sequence[str]) -> Any:
    """Word 1-2-grams of the text without the ``names`` (agencies, bureaus) in it."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(
        preprocessor=NameStripper(names),
        ngram_range=(1, 2),
        min_df=2,
        sublinear_tf=True,
        stop_words="english",
        token_pattern=TOKEN_PATTERN,
    )


def vectorizer_params(vectorizer: Any, names: Sequence[str]) -> dict[str, Any]:
    """A fitted vectorizer as the parameters aiops.precedents.Vectorizer reads."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return {
        "strip_names": sorted(set(names)),
        "token_pattern": vectorizer.token_pattern,
        "stop_words": sorted(ENGLISH_STOP_WORDS),
        "ngram_max": vectorizer.ngram_range[1],
        "vocabulary": sorted(vectorizer.vocabulary_, key=vectorizer.vocabulary_.__getitem__),
        "idf": [round(float(v), 6) for v in vectorizer.idf_],
    }


def _linear(texts: Sequence[str], high: Any, names: Sequence[str]) -> dict[str, Any]:
    from sklearn.linear_model import LogisticRegression

    vectorizer = new_vectorizer(names)
    x = vectorizer.fit_transform(texts)
    linear = LogisticRegression(C=C, class_weight="balanced", max_iter=5000, random_state=SEED).fit(x, high)
    return {
        **vectorizer_params(vectorizer, names),
        "coef": [round(float(v), 6) for v in linear.coef_[0]],
        "intercept": round(float(linear.intercept_[0]), 6),
        "neighbours": NEIGHBOURS,
        "calibration": [1.0, 0.0, 0.0, 0.0],
    }


def scorer(model: dict[str, Any], cases: Sequence[dict[str, str]]) -> PrecedentModel:
    return PrecedentModel({"version": "fitting", "provenance": {}, "model": model, "cases": list(cases)})


def agency_names(cases: Sequence[dict[str, str]]) -> list[str]:
    """The agencies and bureaus of ``cases``, each part of a name on its own ("VBA: Veterans
    Benefits Administration"): names of an organisation (two words or more, one of them a word
    such as office, bureau or administration: not a bureau called "Supply Chain") and
    abbreviations (three capitals or more)."""
    parts = {
        " ".join(part.split())
        for c in cases
        for key in ("agency", "bureau")
        for part in re.split(r"[:;()/,]| - ", c[key])
    }
    return sorted(p for p in parts if _organisation(p) or (len(p) >= 3 and p.isupper() and p.isalpha()))


ORGANISATION_WORDS = frozenset(
    {
        "office",
        "department",
        "administration",
        "agency",
        "bureau",
        "service",
        "services",
        "center",
        "centers",
        "commission",
        "division",
        "institute",
        "institutes",
        "laboratory",
        "authority",
        "board",
        "corporation",
        "council",
        "directorate",
        "command",
        "survey",
        "guard",
        "protection",
        "enforcement",
    }
)


def _organisation(name: str) -> bool:
    words = name.lower().split()
    return len(words) >= 2 and not ORGANISATION_WORDS.isdisjoint(words)


def text_of(case: dict[str, str]) -> str:
    return workflow_text(case["name"], case["manual_process"], case["expected_output"])


def fit(cases: Sequence[dict[str, str]], groups: Sequence[str], mentions: Sequence[bool]) -> Fitted:
    """Fit on ``cases`` (each with name, manual_process, expected_output, label, agency); the
    calibration and the out-of-fold probabilities come from folds grouped by ``groups``.
    ``mentions``: whether the rules name a high-impact concept in each case without a purpose."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold

    texts = [text_of(c) for c in cases]
    names = agency_names(cases)
    high = np.asarray([c["label"] != "neither" for c in cases])
    mentioned = np.asarray(mentions, dtype=np.float64)
    features, votes, top = np.zeros((len(cases), 3)), np.zeros(len(cases)), np.zeros(len(cases))
    for train, test in GroupKFold(FOLDS).split(texts, high, groups):
        inner = scorer(_linear([texts[i] for i in train], high[train], names), [cases[i] for i in train])
        features[test], votes[test], top[test] = inner.features([texts[i] for i in test], mentioned[test])
    calibration = LogisticRegression(C=100.0, max_iter=1000).fit(features, high)
    model = _linear(texts, high, names)
    model["calibration"] = [round(float(v), 6) for v in (*calibration.coef_[0], calibration.intercept_[0])]
    probability = calibration.predict_proba(features)[:, 1]
    return Fitted(model=model, out_of_fold=probability, votes=votes, top_similarity=top)


def threshold(probabilities: Any, budget: float, total: int) -> float:
    """The lowest threshold (3 decimals) that at most ``budget`` x ``total`` of ``probabilities``
    exceed."""
    import numpy as np

    ranked = np.sort(np.asarray(probabilities))[::-1]
    allowed = int(budget * total)
    if allowed >= len(ranked):
        return 0.0
    return float(np.ceil(ranked[allowed] * 1000) / 1000)


def choose_thresholds(fitted: Fitted, high: Any, rules_high: Any) -> Thresholds:
    """The ordinary cases the rules leave below high may be flagged (raised or for review) at most
    RAISE_BUDGET + REVIEW_BUDGET of the time and raised at most RAISE_BUDGET, counting only those
    the agreement rule lets through (out-of-fold figures). Raising never needs less than review."""
    import numpy as np

    min_similarity = float(np.floor(np.quantile(fitted.top_similarity, UNKNOWN_SHARE) * 1000) / 1000)
    agree = (np.asarray(fitted.votes) >= AGREEING_VOTES) & (
        np.asarray(fitted.top_similarity) >= min_similarity
    )
    ordinary = ~np.asarray(high)
    candidates = ordinary & ~np.asarray(rules_high)
    probability, total = np.asarray(fitted.out_of_fold), int(ordinary.sum())
    review_above = threshold(probability[candidates], RAISE_BUDGET + REVIEW_BUDGET, total)
    raise_above = max(threshold(probability[candidates & agree], RAISE_BUDGET, total), review_above)
    return Thresholds(raise_above, review_above, AGREEING_VOTES, min_similarity)
