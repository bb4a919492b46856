"""Precedents: the published federal AI use-case inventories, labelled by their agencies, as a
second opinion on a workflow's risk.

The shipped file (``federal-2024.json.gz``, built by ``python -m bench.precedents_build``) holds
the deduplicated use cases and the fitted parameters of the text model: a TF-IDF vocabulary, a
linear model's weights and a calibration of (linear score, vote of the nearest cases) into a
probability of high impact. Scoring needs numpy and scipy only: scikit-learn fits the model but is
never imported to score. The file is read once per process, on the first workflow scored.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

PRECEDENTS_FILE = "federal-2024.json.gz"
_WORD = re.compile(r"\w+")
HIGH_IMPACT = "high-impact"


@dataclass(frozen=True, slots=True)
class Precedent:
    """One published use case near a workflow: its agency's label and how alike the texts are."""

    name: str
    agency: str
    label: str  # the agency's answer, cleaned: rights-impacting, safety-impacting, both, neither
    similarity: float

    @property
    def high_impact(self) -> bool:
        return self.label != "neither"


@dataclass(frozen=True, slots=True)
class Opinion:
    """The precedent model's calibrated probability that a workflow is high-impact, and why."""

    probability: float
    nearest: tuple[Precedent, ...]
    version: str

    @property
    def high_votes(self) -> int:
        return sum(p.high_impact for p in self.nearest)

    @property
    def top_similarity(self) -> float:
        """How alike the workflow and its nearest published case are (cosine of their texts)."""
        return max((p.similarity for p in self.nearest), default=0.0)

    def evidence(self) -> str:
        cases = "; ".join(f"{p.name} ({p.agency}: {p.label})" for p in self.nearest)
        return (
            f"{self.high_votes} of {len(self.nearest)} nearest published use cases were labelled "
            f"high-impact by their agencies: {cases}"
        )


def workflow_text(name: str, manual_process: str, expected_output: str) -> str:
    """The text the model reads: the free-text fields only (structured answers are the rules')."""
    return ". ".join(t for t in (name, manual_process, expected_output) if t.strip())


class NameStripper:
    """Lower-cases a text and blanks out the names of agencies and bureaus: the model learns what
    a use case does, never who runs it (as the rules name concepts, never an agency)."""

    def __init__(self, names: Sequence[str]) -> None:
        phrases = sorted(
            {" ".join(n.lower().split()) for n in names if _WORD.search(n)}, key=len, reverse=True
        )
        by_first: dict[str, list[str]] = {}
        for phrase in phrases:
            by_first.setdefault(_WORD.findall(phrase)[0], []).append(
                r"\s+".join(map(re.escape, phrase.split()))
            )
        # One alternation per first word, run only on a text holding that word (in a fixed order).
        self.by_first = {
            first: re.compile(rf"\b(?:{'|'.join(alternatives)})\b")
            for first, alternatives in sorted(by_first.items())
        }

    def __call__(self, text: str) -> str:
        text = text.lower()
        for first in sorted(self.by_first.keys() & set(_WORD.findall(text))):
            text = self.by_first[first].sub(" ", text)
        return text


class Vectorizer:
    """scikit-learn's TfidfVectorizer.transform for a fitted word n-gram vocabulary (its
    preprocessor NameStripper, its token pattern, its stop words, sublinear tf, l2 norm), without
    scikit-learn; a unit test checks it gives the same matrix."""

    def __init__(self, params: dict[str, Any]) -> None:
        import numpy as np

        self.strip = NameStripper(params["strip_names"])
        self.token = re.compile(params["token_pattern"])
        self.stop = frozenset(params["stop_words"])
        self.max_n = int(params["ngram_max"])
        self.index = {term: i for i, term in enumerate(params["vocabulary"])}
        self.idf = np.asarray(params["idf"], dtype=np.float64)

    def transform(self, texts: Sequence[str]) -> Any:
        import numpy as np
        from scipy.sparse import csr_matrix

        indptr, indices, counts = [0], [], []
        for text in texts:
            found: dict[int, int] = {}
            for term in self._terms(text):
                i = self.index.get(term)
                if i is not None:
                    found[i] = found.get(i, 0) + 1
            for i in sorted(found):
                indices.append(i)
                counts.append(found[i])
            indptr.append(len(indices))
        columns = np.asarray(indices, dtype=np.int64)
        data = (1.0 + np.log(np.asarray(counts, dtype=np.float64))) * self.idf[columns]
        rows = np.repeat(np.arange(len(texts)), np.diff(indptr))
        norms = np.sqrt(np.bincount(rows, weights=data * data, minlength=len(texts)))
        data /= norms[rows]
        return csr_matrix((data, columns, np.asarray(indptr)), shape=(len(texts), len(self.index)))

    def _terms(self, text: str) -> list[str]:
        words = [w for w in self.token.findall(self.strip(text)) if w not in self.stop]
        terms = list(words)
        for n in range(2, self.max_n + 1):
            terms += [" ".join(words[i : i + n]) for i in range(len(words) - n + 1)]
        return terms


class PrecedentModel:
    """The fitted model and the published cases it compares a workflow with."""

    def __init__(self, document: dict[str, Any]) -> None:
        import numpy as np

        model = document["model"]
        self.version: str = document["version"]
        self.provenance: dict[str, Any] = document["provenance"]
        self.vectorizer = Vectorizer(model)
        self.coef = np.asarray(model["coef"], dtype=np.float64)
        self.intercept = float(model["intercept"])
        # Weights of the linear score, the vote and the rules' mention flag, then the bias.
        self.calibration = [float(c) for c in model["calibration"]]
        self.neighbours = int(model["neighbours"])
        cases = document["cases"]
        self.cases: list[tuple[str, str, str]] = [(c["name"], c["agency"], c["label"]) for c in cases]
        self.high = np.asarray([c["label"] != "neither" for c in cases], dtype=np.float64)
        texts = [workflow_text(c["name"], c["manual_process"], c["expected_output"]) for c in cases]
        self.matrix_t = self.vectorizer.transform(texts).T.tocsr()

    def opinions(
        self, texts: Sequence[str], mentions: Sequence[bool], chunk: int = 1024
    ) -> list[Opinion | None]:
        """One opinion per text; None for a text with no word the precedents know. ``mentions``:
        whether the rules found a high-impact concept in the text without a decision purpose."""
        import numpy as np

        found: list[Opinion | None] = []
        for start in range(0, len(texts), chunk):
            x = self.vectorizer.transform(texts[start : start + chunk])
            linear, vote, nearest, near = self._scores(x)
            probabilities = self.calibrated(np.column_stack([linear, vote, mentions[start : start + chunk]]))
            for row, known in enumerate(np.diff(x.indptr) > 0):
                found.append(self._opinion(probabilities[row], nearest[row], near[row]) if known else None)
        return found

    def features(self, texts: Sequence[str], mentions: Sequence[bool]) -> tuple[Any, Any, Any]:
        """Per text, what the calibration reads — (linear score, nearest cases' vote, the rules'
        mention) — and what the agreement rule reads: how many of the nearest cases are
        high-impact, and the similarity of the nearest one."""
        import numpy as np

        linear, vote, nearest, near = self._scores(self.vectorizer.transform(texts))
        inputs = np.column_stack([linear, vote, np.asarray(mentions, dtype=np.float64)])
        return inputs, self.high[nearest].sum(axis=1), near[:, 0]

    def calibrated(self, features: Any) -> Any:
        import numpy as np

        z = features @ np.asarray(self.calibration[:-1]) + self.calibration[-1]
        return 1.0 / (1.0 + np.exp(-z))

    def _scores(self, x: Any) -> tuple[Any, Any, Any, Any]:
        """The linear score; the similarity-weighted share of high-impact cases among the k
        nearest; the k nearest (most similar first) and their cosine similarities."""
        import numpy as np

        similarity = (x @ self.matrix_t).toarray()
        k = min(self.neighbours, similarity.shape[1] - 1)
        nearest = np.argpartition(-similarity, k, axis=1)[:, :k]
        rows = np.arange(len(nearest))[:, None]
        nearest = nearest[rows, np.argsort(-similarity[rows, nearest], axis=1, kind="stable")]
        near = similarity[rows, nearest]
        total = near.sum(axis=1)
        vote = (near * self.high[nearest]).sum(axis=1) / np.where(total > 0, total, 1.0)
        return x @ self.coef + self.intercept, vote, nearest, near

    def _opinion(self, probability: float, nearest: Any, near: Any) -> Opinion:
        cases = tuple(
            Precedent(name=name, agency=agency, label=label, similarity=round(float(s), 3))
            for (name, agency, label), s in zip((self.cases[i] for i in nearest), near, strict=True)
        )
        return Opinion(probability=round(float(probability), 4), nearest=cases, version=self.version)


def read_document(name: str = PRECEDENTS_FILE) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(gzip.decompress(_shipped_bytes(name)))
    return document


def _shipped_bytes(name: str) -> bytes:
    return resources.files("aiops.precedents").joinpath(name).read_bytes()


@cache
def shipped_sha256() -> str:
    """The shipped file's digest: which precedents an opinion was computed from, known without
    reading the model (``aiops.classifier.opinion_inputs``)."""
    return hashlib.sha256(_shipped_bytes(PRECEDENTS_FILE)).hexdigest()


@cache
def shipped_model() -> PrecedentModel:
    """The shipped precedents, read once per process (on the first workflow scored)."""
    return PrecedentModel(read_document())
