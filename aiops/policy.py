"""The policy: the company's one-page classifier as an editable, versioned TOML file."""

from __future__ import annotations

import hashlib
import re
import tomllib
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from aiops.errors import PolicyError
from aiops.workflow import CHANGES, CUSTOMER_IMPACT, DATA_TOUCHED, REVIEW_REQUIREMENTS

RiskLevel = Literal["low", "medium", "high"]
RISK_ORDER: dict[str, int] = {"low": 0, "medium": 1, "high": 2}
REVIEW_ORDER: dict[str, int] = {name: rank for rank, name in enumerate(REVIEW_REQUIREMENTS)}
Review = Literal["none", "spot_check", "approve_each", "two_person"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class KeywordSignal(_Strict):
    pattern: str = Field(min_length=1)
    reason: str = Field(min_length=1)

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, pattern: str) -> str:
        try:
            re.compile(pattern)
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
    unknown_value_level: Literal["medium", "high"] = "medium"
    high: LevelSignals
    medium: LevelSignals
    low: LevelSignals

    def levels(self) -> list[tuple[RiskLevel, LevelSignals]]:
        return [("high", self.high), ("medium", self.medium), ("low", self.low)]


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


class CheckpointRules(_Strict):
    fresh_evidence_weeks: int = Field(ge=0)
    fresh_evidence_samples: int = Field(ge=0)


class Policy(_Strict):
    version: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1)
    mission: str = ""
    risk: RiskRules
    rollout: Rollout
    evidence: EvidenceRules
    checkpoints: CheckpointRules
    source_text: str = Field(default="", exclude=True, repr=False)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.source_text.encode()).hexdigest()

    @cached_property
    def keyword_matcher(self) -> KeywordMatcher:
        return KeywordMatcher([(level, k) for level, signals in self.risk.levels() for k in signals.keywords])


class KeywordMatcher:
    """Keyword patterns as whole-word, case-insensitive regexes.

    Python's ``re`` has no multi-pattern search, so a text is split into words once and only the
    patterns whose literal start (a word prefix) occurs there are run.
    """

    PREFIX = 4

    def __init__(self, keywords: list[tuple[RiskLevel, KeywordSignal]]) -> None:
        self.keywords = [(level, k, _compile_lowercase(k.pattern)) for level, k in keywords]
        self._always: set[int] = set()
        self._by_prefix: dict[str, set[int]] = {}
        for index, (_, keyword) in enumerate(keywords):
            starts = _literal_prefixes(keyword.pattern, self.PREFIX)
            if starts is None:
                self._always.add(index)
            for start in starts or ():
                self._by_prefix.setdefault(start, set()).add(index)
        self._lengths = sorted({len(p) for p in self._by_prefix})

    def matches(self, text: str) -> list[tuple[RiskLevel, KeywordSignal, str]]:
        """(level, keyword, matched text) for each keyword found in ``text``."""
        lowered = text.lower()
        candidates = set(self._always)
        for word in set(_WORD.findall(lowered)):
            for n in self._lengths:
                hit = self._by_prefix.get(word[:n])
                if hit:
                    candidates |= hit
        same_length = len(lowered) == len(text)
        found = []
        for index in sorted(candidates):
            level, keyword, regex = self.keywords[index]
            span = _whole_word_search(regex, lowered)
            if span:
                found.append((level, keyword, text[slice(*span)] if same_length else lowered[slice(*span)]))
        return found


_WORD = re.compile(r"\w+")


def _compile_lowercase(pattern: str) -> re.Pattern[str]:
    """Match lower-cased text: without IGNORECASE, ``re`` can scan fast for a literal start.
    A pattern with upper-case literals keeps IGNORECASE."""
    flags = re.IGNORECASE if re.search(r"(?<!\\)[A-Z]", pattern) else 0
    return re.compile(rf"(?:{pattern})(?![\w-])", flags)


def _whole_word_search(regex: re.Pattern[str], text: str) -> tuple[int, int] | None:
    """The span of the first match that starts a word (checked here, not by a lookbehind, so
    ``re`` can scan for the literal start)."""
    position = 0
    while (match := regex.search(text, position)) is not None:
        start = match.start()
        if start == 0 or not (text[start - 1].isalnum() or text[start - 1] in "_-"):
            return match.span()
        position = start + 1
    return None


def _literal_prefixes(pattern: str, length: int) -> set[str] | None:
    """The literal first characters (up to ``length``) of each alternative of ``pattern``, or
    None when some alternative does not start with a literal word character."""
    from re import _parser  # the stdlib's own regex parser: exact, no guessing

    def walk(ops: list) -> set[str] | None:
        if not ops:
            return None
        op, arg = ops[0]
        if op is _parser.BRANCH:
            starts: set[str] = set()
            for branch in arg[1]:
                found = walk(list(branch))
                if found is None:
                    return None
                starts |= found
            return starts
        if op is _parser.SUBPATTERN:
            return walk(list(arg[-1]))
        literal = ""
        for op, arg in ops:
            if op is not _parser.LITERAL or len(literal) == length or not _WORD.match(chr(arg)):
                break
            literal += chr(arg).lower()
        return {literal} if literal else None

    try:
        return walk(list(_parser.parse(pattern, re.IGNORECASE)))
    except (re.error, IndexError, TypeError):
        return None


def parse_policy(text: str, source: str = "policy") -> Policy:
    """Validate a policy's TOML text; a bad policy names the key and the problem."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise PolicyError(f"{source}: not valid TOML: {e}", "fix the syntax") from e
    try:
        return Policy.model_validate({**data, "source_text": text})
    except ValidationError as e:
        first = e.errors()[0]
        key = ".".join(str(part) for part in first["loc"])
        more = f" (and {e.error_count() - 1} more)" if e.error_count() > 1 else ""
        raise PolicyError(
            f"{source}: key '{key}': {first['msg']}{more}", "see aiops/policies/default.toml"
        ) from e


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
