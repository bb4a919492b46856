"""The policy: the company's one-page classifier as an editable, versioned TOML file."""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cache, cached_property, lru_cache
from importlib import resources
from operator import itemgetter
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from aiops.bounded_input import load_toml
from aiops.errors import PolicyError
from aiops.workflow import CHANGES, CUSTOMER_IMPACT, DATA_TOUCHED, REVIEW_REQUIREMENTS


class RiskLevel(StrEnum):
    """How much review a workflow needs, lowest first (a str: compares equal to its level)."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class Status(StrEnum):
    """Where a workflow stands on the rollout ladder (a str: compares equal to its code). Defined
    here, not in ``aiops.classifier``, so that reading the figures (``aiops.views.totals``) need not
    import the classifier (~40 ms)."""

    PAUSED = "paused"
    EXPERIMENT = "experiment"
    PILOT = "pilot"
    PROVEN = "proven"
    AUTONOMOUS = "autonomous"


RISK_LEVELS = tuple(RiskLevel)
RISK_ORDER: dict[str, int] = {level: rank for rank, level in enumerate(RiskLevel)}
REVIEW_ORDER: dict[str, int] = {name: rank for rank, name in enumerate(REVIEW_REQUIREMENTS)}
Review = Literal["none", "spot_check", "approve_each", "two_person"]


class _Strict(BaseModel):
    # A threshold of nan or inf passes every `gt`/`le` bound it is not compared against: refused.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class KeywordSignal(_Strict):
    """A phrase family: the concept's pattern, why it matters, where the rule comes from, and
    (optionally) the purposes that make it a decision about people rather than a mention."""

    pattern: str = Field(min_length=1)
    reason: str = Field(min_length=1)
    family: str = ""
    source: str = ""
    # Names from [risk.purposes]: the concept reaches its level only with one of them nearby;
    # alone it is a mention (risk.mention_level).
    purposes: list[str] = []
    # Characters around the concept a purpose may be in (same field); 0 = anywhere in the field
    # (an area named once, "in a law enforcement context"). Default: risk.purpose_window.
    window: int | None = Field(default=None, ge=0, le=10_000)

    def examples(self, limit: int = 10) -> list[str]:
        """The pattern's alternatives as words a reader understands (`refunds?` → `refund(s)`)."""
        return [_readable(part) for part in _alternatives(self.pattern)][:limit]

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, pattern: str, info: ValidationInfo) -> str:
        try:
            _check_pattern(pattern, info)
        except re.error as e:
            raise ValueError(f"not a valid regular expression: {e}") from e
        return pattern


def _check_vocabulary(values: list[str], vocabulary: tuple[str, ...]) -> list[str]:
    unknown = [v for v in values if v not in vocabulary]
    if unknown:
        raise ValueError(f"unknown value(s) {unknown}; allowed: {list(vocabulary)}")
    return values


class LevelSignals(_Strict):
    changes: list[str] = []
    data_touched: list[str] = []
    customer_impact: list[str] = []
    keywords: list[KeywordSignal] = []

    @field_validator("changes")
    @classmethod
    def _changes(cls, v: list[str]) -> list[str]:
        return _check_vocabulary(v, CHANGES)

    @field_validator("data_touched")
    @classmethod
    def _data(cls, v: list[str]) -> list[str]:
        return _check_vocabulary(v, DATA_TOUCHED)

    @field_validator("customer_impact")
    @classmethod
    def _impact(cls, v: list[str]) -> list[str]:
        return _check_vocabulary(v, CUSTOMER_IMPACT)


class RiskRules(_Strict):
    # Levels as the file spells them, narrowed to those each rule allows; the classifier lifts them
    # to RiskLevel.
    unknown_value_level: Literal["medium", "high"] = "medium"
    # An empty data_touched, changes or customer_impact: "not answered" is not low.
    unanswered_level: Literal["medium", "high"] = "medium"
    # A concept found without any of its purposes nearby.
    mention_level: Literal["low", "medium"] = "medium"
    # How near (characters, same field) a purpose must be to its concept.
    purpose_window: int = Field(default=120, ge=1, le=10_000)
    purposes: dict[str, str] = {}
    high: LevelSignals
    medium: LevelSignals
    low: LevelSignals

    @field_validator("purposes")
    @classmethod
    def _purposes_compile(cls, v: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        for name, pattern in v.items():
            try:
                _check_pattern(pattern, info, _PART_END)
            except re.error as e:
                raise ValueError(f"purpose '{name}': not a valid regular expression: {e}") from e
        return v

    @model_validator(mode="after")
    def _purposes_exist(self) -> RiskRules:
        for level, rules in self.levels():
            for keyword in rules.keywords:
                missing = [name for name in keyword.purposes if name not in self.purposes]
                if missing:
                    raise ValueError(
                        f"{level} keyword '{keyword.family or keyword.reason}' names unknown purpose(s) "
                        f"{missing}; defined: {sorted(self.purposes)}"
                    )
        return self

    def levels(self) -> list[tuple[RiskLevel, LevelSignals]]:
        return [(RiskLevel.HIGH, self.high), (RiskLevel.MEDIUM, self.medium), (RiskLevel.LOW, self.low)]


class RolloutDefaults(_Strict):
    approval_checkpoint: str = Field(min_length=1)
    min_review: Review
    logging_requirement: str = Field(min_length=1)
    rollback_path: str = Field(min_length=1)
    stays_human: str = Field(min_length=1)
    min_checkpoints: int = Field(ge=0)


class Rollout(_Strict):
    low: RolloutDefaults
    medium: RolloutDefaults
    high: RolloutDefaults

    @field_validator("high")
    @classmethod
    def _high_keeps_a_checkpoint(cls, v: RolloutDefaults) -> RolloutDefaults:
        if v.min_checkpoints < 1:
            raise ValueError("high risk must keep at least one checkpoint (min_checkpoints >= 1)")
        return v

    def for_level(self, level: str) -> RolloutDefaults:
        return getattr(self, level)


class EvidenceRules(_Strict):
    min_samples_per_phase: int = Field(ge=2)
    interval_level: float = Field(gt=0.5, lt=1)
    max_loop_minutes: float = Field(gt=0)
    run_rate_weeks: int = Field(ge=1, le=52)
    # Designs and validity checks (aiops.estimates); defaults keep older stored policies readable.
    min_weeks_before: int = Field(default=8, ge=3)
    min_weeks_after: int = Field(default=4, ge=2)
    seasonal_weeks: int = Field(default=52, ge=26)
    min_concurrent_weeks: int = Field(default=4, ge=1)
    min_comparison_weeks: int = Field(default=4, ge=2)
    trend_p_value: float = Field(default=0.05, gt=0, lt=1)
    trend_min_share: float = Field(default=0.05, ge=0)
    stale_baseline_weeks: int = Field(default=26, ge=1)
    # Loops longer than this are not hands-on time; when more than ``long_loop_share`` of an
    # upload's loops are, it is flagged (elapsed_time).
    long_loop_hours: float = Field(default=8, gt=0)
    long_loop_share: float = Field(default=0.1, gt=0, lt=1)
    quick_quarter_hours: float = Field(default=4, gt=0)
    outlier_fence: float = Field(default=6, ge=3)
    long_outlier_fence: float = Field(default=4.5, ge=3)
    dominant_share: float = Field(default=0.25, gt=0, le=1)
    censor_fraction: float = Field(default=0.1, gt=0, le=1)
    mix_shift_distance: float = Field(default=0.1, gt=0, le=1)
    volume_step_share: float = Field(default=0.25, gt=0)
    shift_p_value: float = Field(default=0.01, gt=0, lt=1)
    late_data_days: int = Field(default=14, ge=1)
    material_share: float = Field(default=0.1, gt=0, lt=1)
    gate_designs: list[Literal["concurrent", "comparison", "trend_adjusted", "before_after"]] = Field(
        default=["concurrent", "comparison", "trend_adjusted"]
    )


class CheckpointRules(_Strict):
    fresh_evidence_weeks: int = Field(ge=0)
    fresh_evidence_samples: int = Field(ge=0)


class PrecedentRules(_Strict):
    """The second opinion from published precedents (aiops.precedents): off unless a policy turns
    it on, so an older stored policy classifies as it did."""

    enabled: bool = False
    # A workflow the rules leave low or medium is raised to high when the precedent model's
    # calibrated probability of high impact is above ``raise_above`` and the precedents agree: at
    # least ``min_high_votes`` of the nearest cases high-impact, the nearest one at least
    # ``min_similarity`` alike. Otherwise it is flagged for a human's review when the probability
    # is above ``review_above``. Never lowers a risk.
    raise_above: float = Field(default=1.0, ge=0, le=1)
    review_above: float = Field(default=1.0, ge=0, le=1)
    min_high_votes: int = Field(default=0, ge=0)
    min_similarity: float = Field(default=0.0, ge=0, le=1)

    @model_validator(mode="after")
    def _review_below_raise(self) -> PrecedentRules:
        if self.review_above > self.raise_above:
            raise ValueError("precedents: review_above must not be above raise_above")
        return self


class Policy(_Strict):
    version: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1)
    mission: str = ""
    risk: RiskRules
    rollout: Rollout
    evidence: EvidenceRules
    checkpoints: CheckpointRules
    precedents: PrecedentRules = PrecedentRules()
    source_text: str = Field(default="", exclude=True, repr=False)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.source_text.encode()).hexdigest()

    @cached_property
    def value_levels(self) -> dict[tuple[str, str], list[RiskLevel]]:
        """(field, vocabulary value) -> the levels whose structured signals list it."""
        levels: dict[tuple[str, str], list[RiskLevel]] = {}
        for level, rules in self.risk.levels():
            for field in ("changes", "data_touched", "customer_impact"):
                for value in getattr(rules, field):
                    levels.setdefault((field, value), []).append(level)
        return levels

    @cached_property
    def keyword_matcher(self) -> KeywordMatcher:
        return matcher_for([(level, k) for level, signals in self.risk.levels() for k in signals.keywords])

    @cached_property
    def decision_families(self) -> frozenset[str]:
        """The high families that need a decision purpose: without one, a mention."""
        return frozenset(k.family or k.reason for k in self.risk.high.keywords if k.purposes)

    @cached_property
    def purpose_finder(self) -> PurposeFinder:
        return PurposeFinder(self.risk.purposes, self.risk.purpose_window)


class PurposeFinder:
    """Whether a concept found in a text comes with a purpose that makes it a decision about
    people ("determine eligibility", "screen applicants"): a purpose pattern within a window of
    characters around a whole-word occurrence of the concept, in the same field.

    Each text is scanned for purposes once (all purposes in one regex, the group names which);
    the concept's occurrences come from the keyword matcher, and only when none of those has a
    purpose nearby is the text searched for further occurrences."""

    def __init__(self, purposes: dict[str, str], window: int) -> None:
        self.window = window
        # Each alternative of each purpose, indexed by its literal start as in KeywordMatcher:
        # only the alternatives whose start occurs in a text are run on it.
        self._names = list(purposes)
        self._by_start: dict[bytes, list[_Branch]] = {}
        self._short: list[_Branch] = []
        for index, pattern in enumerate(purposes.values()):
            for part in _alternatives(pattern):
                branch = _Branch(index, *_lowercase(part, _PART_END), _required_literals(part))
                starts = _literal_prefixes(part)
                if starts is None:
                    self._short.append(branch)
                for start, _ in starts or ():
                    key = start.encode()[: KeywordMatcher.INDEX_BYTES]
                    if len(key) == KeywordMatcher.INDEX_BYTES:
                        self._by_start.setdefault(key, []).append(branch)
                    else:
                        self._short.append(branch)
        self._starts = frozenset(self._by_start)
        self._concepts: dict[str, re.Pattern[str]] = {}
        self._last: tuple[str, list[tuple[int, int, str]]] = ("", [])

    def _scan(self, text: str) -> list[tuple[int, int, str]]:
        """(start, end, purpose name) of every whole-word purpose phrase in ``text``, in order."""
        last = self._last  # one read: the policy (and this finder) is shared by every session's thread
        if last[0] is text:
            return last[1]
        words = text.encode().translate(_PART_BYTES).split()
        candidates = self._short + [
            branch
            for start in set(map(_FIRST_BYTES, words)) & self._starts
            for branch in self._by_start[start]
        ]
        found = []
        for branch in candidates:
            if not branch.may_match(text):
                continue
            for match in branch.regex.finditer(text):
                start = match.start()
                if start == 0 or not _is_part_char(text[start - 1]):
                    found.append((start, match.end(), self._names[branch.index]))
        found.sort()
        self._last = (text, found)
        return found

    def find(
        self, keyword: KeywordSignal, text: str, spans: Sequence[tuple[int, int]] = ()
    ) -> tuple[str, str, str] | None:
        """(concept phrase, purpose name, purpose phrase) near an occurrence of the keyword's
        concept in ``text`` (lower case), trying ``spans`` (known occurrences) first; or None."""
        purposes = [p for p in self._scan(text) if p[2] in keyword.purposes]
        if not purposes:
            return None
        window = self.window if keyword.window is None else keyword.window or len(text)
        for start, end in spans:
            if found := _nearby(purposes, start, end, window):
                return text[start:end], found[2], text[found[0] : found[1]]
        concept = self._concepts.get(keyword.pattern)
        if concept is None:
            concept = self._concepts.setdefault(keyword.pattern, _compiled(*_lowercase(keyword.pattern)))
        for match in concept.finditer(text):
            start, end = match.span()
            if (start and _is_word_char(text[start - 1])) or (start, end) in spans:
                continue
            if found := _nearby(purposes, start, end, window):
                return text[start:end], found[2], text[found[0] : found[1]]
        return None


def _nearby(
    purposes: list[tuple[int, int, str]], start: int, end: int, window: int
) -> tuple[int, int, str] | None:
    """The first purpose phrase before or after ``start:end`` (never overlapping it: the purpose
    is another phrase than the concept) within ``window`` characters."""
    for purpose in purposes:
        if start - window <= purpose[0] and purpose[1] <= start or end <= purpose[0] <= end + window:
            return purpose
    return None


# Compiling the keywords is the slow part of a policy (a few hundred regexes): every store loads
# its own policy, so matchers are kept per process by the keywords they match (a few at most).
_MATCHERS: dict[str, KeywordMatcher] = {}


def matcher_for(keywords: list[tuple[RiskLevel, KeywordSignal]]) -> KeywordMatcher:
    """The matcher of ``keywords``, built once per process for the same keywords."""
    key = json.dumps([[level, k.model_dump(mode="json")] for level, k in keywords], sort_keys=True)
    matcher = _MATCHERS.get(key)
    if matcher is None:
        if len(_MATCHERS) >= 8:
            _MATCHERS.clear()
        matcher = _MATCHERS[key] = KeywordMatcher(keywords)
    return matcher


class KeywordMatcher:
    """Keyword patterns as whole-word, case-insensitive regexes, matched fast.

    Python's ``re`` has no multi-pattern search and scans text slowly, so each pattern is split
    into its top-level alternatives, each indexed by its literal start. The texts of a workflow
    are split into words once (bytes, in C); an alternative runs only where its literal start
    occurs (a substring test first, the regex after).
    """

    INDEX_BYTES = 4

    def __init__(self, keywords: list[tuple[RiskLevel, KeywordSignal]]) -> None:
        self.keywords = keywords
        self._by_start: dict[bytes, list[_Branch]] = {}
        self._short: list[_Branch] = []
        for index, (_, keyword) in enumerate(keywords):
            for pattern in _alternatives(keyword.pattern):
                starts = _literal_prefixes(pattern)
                branch = _Branch(index, *_lowercase(pattern), _required_literals(pattern))
                if starts is None:  # no literal start to index: always a candidate
                    self._short.append(branch)
                for start, whole_word in starts or ():
                    key = start.encode()[: self.INDEX_BYTES]
                    # A whole short word ("phi") is its own key: a word's first bytes are the word.
                    if len(key) == self.INDEX_BYTES or whole_word:
                        self._by_start.setdefault(key, []).append(branch)
                    else:  # a short word start ("prd" of "prds?"): its substring test decides
                        self._short.append(branch)
        self._by_start = {key: _merged(branches) for key, branches in self._by_start.items()}
        self._starts = frozenset(self._by_start)

    def matches(
        self, texts: list[tuple[str, str]]
    ) -> list[tuple[RiskLevel, KeywordSignal, str, str, list[tuple[int, int]]]]:
        """(level, keyword, field, matched text, spans) for each keyword found in each (field,
        text): the earliest match's text, and the span of the first match of each alternative (in
        the order they occur)."""
        lowered = [(field, text.lower(), text) for field, text in texts if text]
        joined = "\n".join([low for _, low, _ in lowered])
        words = joined.encode().translate(_WORD_BYTES).split()
        candidates = self._short + [
            branch
            for start in set(map(_FIRST_BYTES, words)) & self._starts
            for branch in self._by_start[start]
        ]
        shown = {field: original if len(original) == len(low) else low for field, low, original in lowered}
        spans: dict[tuple[int, str], list[tuple[int, int]]] = {}
        for branch in candidates:
            if not branch.may_match(joined):
                continue
            for field, low, _ in lowered:
                if span := _whole_word_search(branch.regex, low):
                    spans.setdefault((branch.index, field), []).append(span)
        # The branches come in no fixed order (a set of word starts): the text reported is the
        # earliest match, so a workflow's classification reads the same in every process.
        return [
            (*self.keywords[i], field, shown[field][slice(*min(found))], sorted(found))
            for (i, field), found in sorted(spans.items())
        ]


@dataclass(frozen=True, slots=True)
class _Branch:
    """One alternative of a keyword pattern, and literal texts any match must contain: each
    requirement is a tuple of which at least one occurs (a cheap test before the regex). The
    regex is compiled when first run: most never are (their literal start occurs in no text a
    process classifies), and compiling a policy's hundreds of them was most of a matcher's build."""

    index: int
    source: str
    flags: int
    required: tuple[tuple[str, ...], ...]

    @property
    def regex(self) -> re.Pattern[str]:
        return _compiled(self.source, self.flags)

    def may_match(self, text: str) -> bool:
        # Plain loops: this runs for every candidate of every workflow, and generators cost more.
        for options in self.required:
            for literal in options:
                if literal in text:
                    break
            else:
                return False
        return True


def _merged(branches: list[_Branch]) -> list[_Branch]:
    """One branch per keyword: the alternatives of a keyword that share an index key run as one
    regex (fewer candidates per text), with any of their first required literals as the test."""
    by_keyword: dict[int, list[_Branch]] = {}
    for branch in branches:
        by_keyword.setdefault(branch.index, []).append(branch)
    merged = []
    for index, group in by_keyword.items():
        if len(group) == 1:
            merged.append(group[0])
            continue
        pattern = "|".join(f"(?:{b.source.removesuffix(_WORD_END)})" for b in group)
        flags = max(b.flags & re.IGNORECASE for b in group)
        firsts = [b.required[0] for b in group if b.required]
        required = (
            (tuple(sorted({lit for options in firsts for lit in options})),)
            if len(firsts) == len(group)
            else ()
        )
        merged.append(_Branch(index, f"(?:{pattern}){_WORD_END}", flags, required))
    return merged


_READABLE = [
    (re.compile(r"\[([^\]])[^\]]*\]"), r"\1"),  # a class → its first character
    (re.compile(r"\\w[*+]"), "…"),
    (re.compile(r"\{\d*,?\d*\}"), ""),  # repeat counts
    (re.compile(r"(\w)\?"), "\x01\\1\x02"),  # an optional letter → (s), once groups are gone
]
_GROUPS = [
    (re.compile(r"\(\?:([^()]*)\)\?"), "\x01\\1\x02"),  # innermost optional group → (…)
    (re.compile(r"\(\?:([^()]*)\)"), r"\1"),  # innermost group → its alternatives
]


def _readable(pattern: str) -> str:
    text = pattern
    for regex, replacement in _READABLE:
        text = regex.sub(replacement, text)
    while True:  # groups nest: unwrap from the inside out
        unwrapped = text
        for regex, replacement in _GROUPS:
            unwrapped = regex.sub(replacement, unwrapped)
        if unwrapped == text:
            break
        text = unwrapped
    return text.replace("|", "/").replace("?", "").replace("\\", "").replace("\x01", "(").replace("\x02", ")")


@lru_cache(maxsize=4096)
def _alternatives(pattern: str) -> tuple[str, ...]:
    """The top-level alternatives of a regex (``a|b(c|d)`` → ``a``, ``b(c|d)``). Kept per pattern:
    each policy validated checks every alternative compiles, and a policy edited in one place
    repeats the other patterns (``re``'s own cache holds 512 regexes: the shipped policy's
    alternatives alone are more, so each validation compiled them all again)."""
    parts: list[str] = []
    current: list[str] = []
    depth, in_class, escaped = 0, False, False
    for ch in pattern:
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
        elif ch in "()":
            depth += 1 if ch == "(" else -1
        elif ch == "|" and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        current.append(ch)
    parts.append("".join(current))
    try:
        for part in parts:
            re.compile(part)
    except re.error:
        return (pattern,)  # an unusual pattern: keep it whole
    return tuple(parts)


def _is_word_char(ch: str) -> bool:
    return ch.isalnum() or ch in "_-"


def _is_part_char(ch: str) -> bool:
    """A purpose may be one part of a hyphenated compound ("risk-stratifying" holds
    "stratifying", "pre-screening" holds "screening"): only letters, digits and _ join it."""
    return ch.isalnum() or ch == "_"


# Bytes that end a word become spaces; everything else (letters, digits, _ -, UTF-8) stays.
_WORD_BYTES = bytes(b if b >= 128 or _is_word_char(chr(b)) else 32 for b in range(256))
_PART_BYTES = bytes(b if b >= 128 or _is_part_char(chr(b)) else 32 for b in range(256))
_FIRST_BYTES = itemgetter(slice(0, KeywordMatcher.INDEX_BYTES))


def _lowercase(pattern: str, end: str = "") -> tuple[str, int]:
    """The regex and flags that match lower-cased text: without IGNORECASE, ``re`` can scan fast
    for a literal start. A pattern with upper-case literals keeps IGNORECASE."""
    flags = re.IGNORECASE if re.search(r"(?<!\\)[A-Z]", pattern) else 0
    return f"(?:{pattern}){end or _WORD_END}", flags


@cache
def _compiled(source: str, flags: int) -> re.Pattern[str]:
    """Kept for the process (``re``'s own cache holds 512: a policy has more)."""
    return re.compile(source, flags)


_WORD_END = r"(?![\w-])"
_PART_END = r"(?!\w)"


def _whole_word_search(regex: re.Pattern[str], text: str) -> tuple[int, int] | None:
    """The span of the first match that starts a word (checked here, not by a lookbehind, so
    ``re`` can scan for the literal start)."""
    found = _whole_word_match(regex, text, 0, len(text))
    return None if found is None else found.span()


def _whole_word_match(regex: re.Pattern[str], text: str, position: int, end: int) -> re.Match[str] | None:
    """The first match within ``text[position:end]`` that starts a word."""
    while (match := regex.search(text, position, end)) is not None:
        start = match.start()
        if start == 0 or not _is_word_char(text[start - 1]):
            return match
        position = start + 1
    return None


def _literal_prefixes(pattern: str) -> set[tuple[str, bool]] | None:
    """The literal start (lower case) of each alternative of ``pattern`` and whether it is a
    whole word, or None when some alternative does not start with a literal word character."""
    from re import _parser  # type: ignore[attr-defined]  # the stdlib's regex parser (private): exact

    try:
        return _literal_prefixes_of_ops(list(_parser.parse(pattern, re.IGNORECASE)))
    except (re.error, IndexError, TypeError):
        return None


def _literal_prefixes_of_ops(ops: list[Any], top: bool = True) -> set[tuple[str, bool]] | None:
    from re import _parser  # type: ignore[attr-defined]

    if not ops:
        return None
    op, arg = ops[0]
    if op is _parser.BRANCH:
        starts: set[tuple[str, bool]] = set()
        for branch in arg[1]:
            found = _literal_prefixes_of_ops(list(branch), top and len(ops) == 1)
            if found is None:
                return None
            starts |= found
        return starts
    if op is _parser.SUBPATTERN:
        return _literal_prefixes_of_ops(list(arg[-1]), top and len(ops) == 1)
    literal, position = "", 0
    for op, arg in ops:
        if op is not _parser.LITERAL or not _is_word_char(chr(arg)):
            break
        literal += chr(arg).lower()
        position += 1
    rest = ops[position:]
    whole_word = (not rest and top) or (bool(rest) and rest[0][0] is _parser.LITERAL)
    return {(literal, whole_word)} if literal else None


def _required_literals(pattern: str) -> tuple[tuple[str, ...], ...]:
    """Literal texts every match of ``pattern`` contains (lower case), as alternatives:
    ``benefits? (?:claims?|appeals?)`` needs "benefit" and one of "claim" or "appeal"."""
    from re import _parser  # type: ignore[attr-defined]

    required: list[tuple[str, ...]] = []

    def flush(run: list[str]) -> None:
        text = "".join(run)
        if text.strip():
            required.append((text,))
        run.clear()

    def walk(ops: list[Any]) -> None:
        run: list[str] = []
        for op, arg in ops:
            if op is _parser.LITERAL:
                run.append(chr(arg).lower())
                continue
            flush(run)
            if op is _parser.SUBPATTERN:
                walk(list(arg[-1]))
            elif op is _parser.BRANCH:
                starts = [_literal_prefixes_of_ops(list(b), top=False) for b in arg[1]]
                groups = [group for group in starts if group]
                if len(groups) == len(starts):
                    required.append(tuple(sorted({s for group in groups for s, _ in group})))
        flush(run)

    try:
        walk(list(_parser.parse(pattern, re.IGNORECASE)))
    except (re.error, IndexError, TypeError):
        return ()
    return tuple(required)


def parse_policy(text: str, source: str = "policy") -> Policy:
    """Validate a policy's TOML text; a bad policy names the key and the problem."""
    try:
        return _validated(text, source)
    except tomllib.TOMLDecodeError as e:
        raise PolicyError(f"{source}: not valid TOML: {e}", "fix the syntax") from e
    except ValidationError as e:
        first = e.errors()[0]
        key = ".".join(str(part) for part in first["loc"])
        more = f" (and {e.error_count() - 1} more)" if e.error_count() > 1 else ""
        raise PolicyError(
            f"{source}: key '{key}': {first['msg']}{more}", "see aiops/policies/default.toml"
        ) from e


@lru_cache(maxsize=16)
def _validated(text: str, source: str) -> Policy:
    """A policy is immutable, so one validated object per text serves the whole process: its
    compiled matchers are built once, not once per store opened (errors are not cached). The
    shipped policy's patterns are code, compiled by its tests (``test_policy``): compiling its
    ~70 patterns only to check them cost every process that loads it, one that never classifies
    too (loading it in a new process: 22 ms, 6 ms without)."""
    shipped = text == default_policy_text()
    return Policy.model_validate(
        {**load_toml(text, source), "source_text": text}, context={PATTERNS_CHECKED: shipped}
    )


PATTERNS_CHECKED = "patterns_checked"  # validation context: the patterns are known to compile


def _check_pattern(pattern: str, info: ValidationInfo, end: str = "") -> None:
    """Raises re.error unless every regex the matchers make of the pattern compiles (skipped when
    the context says it does): a pattern can compile alone and not as they run it (``(?i)x`` inside
    a group), and they compile each only when first run, on a text that may come much later."""
    if not (info.context or {}).get(PATTERNS_CHECKED):
        matcher_regexes(pattern, end)


def matcher_regexes(pattern: str, end: str = "") -> list[re.Pattern[str]]:
    """The regexes the matchers make of ``pattern``, compiled: the whole (``PurposeFinder`` looks
    for a concept's other occurrences with it) and each alternative, as ``_lowercase`` wraps them
    (``end``: how a match ends, a keyword's by default)."""
    return [_compiled(*_lowercase(part, end)) for part in [pattern, *_alternatives(pattern)]]


@cache
def default_policy_text() -> str:
    return resources.files("aiops.policies").joinpath("default.toml").read_text("utf-8")


def load_policy(path: str | Path | None = None) -> Policy:
    """The policy at ``path``, or the default one shipped with the package."""
    if path is None:
        return parse_policy(default_policy_text(), "default policy")
    try:
        text = Path(path).read_text("utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise PolicyError(f"cannot read policy file {path}: {e}", "check the path") from e
    return parse_policy(text, str(path))
