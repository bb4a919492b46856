"""Structured input from people (JSON uploads, TOML files) is measured before it is parsed.

DuckDB's JSON reader and Python's ``tomllib`` recurse into nested values: a 2 KB JSON file nested
1,000 deep took DuckDB 47 s, 10,000 deep crashed the process, and a TOML key dotted 100,000 times
ran ``tomllib`` out of memory. So every such input is first scanned without recursion, in one pass
that keeps only a counter, and refused with one line when it is larger or deeper than any real
export or settings file.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from aiops.errors import AiopsError, IngestError, PolicyError

# Real exports nest a few levels (`gh pr list --json ...`: 4; Jira: about 8); the policy and the
# settings files 3. DuckDB reads 32 levels of nested arrays in milliseconds.
MAX_NESTING = 32
MAX_JSON_BYTES = 64 * 1024 * 1024
MAX_TOML_CHARS = 1024 * 1024  # the shipped policy is 50 KB
_CHUNK = 1024 * 1024

# -- JSON ---------------------------------------------------------------------------------------------
_CLOSED_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_STRING_REST = re.compile(rb'[^"\\]*(?:\\.[^"\\]*)*', re.DOTALL)  # after an opening quote, to its end
_NOT_BRACKETS = bytes(sorted(set(range(256)) - set(b"[]{}")))
_STEP = np.zeros(256, dtype=np.int64)
_STEP[list(b"[{")] = 1
_STEP[list(b"]}")] = -1


def check_json_upload(path: Path) -> None:
    """Refuse (``IngestError``) a JSON upload above ``MAX_JSON_BYTES`` or nested deeper than
    ``MAX_NESTING``, before any parser sees it."""
    size = path.stat().st_size
    if size > MAX_JSON_BYTES:
        raise IngestError(
            f"the JSON file is {size / 1e6:,.1f} MB, above the limit of {MAX_JSON_BYTES / 1e6:,.0f} MB"
            " for JSON uploads",
            "export fewer records per file, or as CSV",
        )
    with path.open("rb") as f:
        depth = json_nesting(f, MAX_NESTING)
    if depth > MAX_NESTING:
        raise IngestError(
            f"the JSON is nested more than {MAX_NESTING} levels deep; exports nest a few levels",
            "upload an array of flat objects, e.g. the output of `gh pr list --json ...`",
        )


def json_nesting(f: BinaryIO, stop_above: int | None = None) -> int:
    """How deep the arrays and objects of the JSON text in ``f`` nest (brackets inside strings do
    not count), read in chunks; stops early once deeper than ``stop_above``. Malformed text gets a
    number too: the parser that follows refuses it."""
    depth = deepest = 0
    in_string, pending = False, b""  # pending: a chunk's last byte, a backslash inside a string
    while chunk := f.read(_CHUNK):
        data, pending = pending + chunk, b""
        start = 0
        if in_string:
            end = _STRING_REST.match(data).end()  # type: ignore[union-attr]  # matches the empty string
            if end < len(data) and data[end : end + 1] == b'"':
                start, in_string = end + 1, False
            else:  # the string goes on into the next chunk (perhaps after an escaping backslash)
                pending = data[end:]
                continue
        outside = _CLOSED_STRING.sub(b"", data[start:])
        quote = outside.find(b'"')
        if quote >= 0:  # an opening quote without its closing one in this chunk: the rest is its text
            tail = outside[quote + 1 :]
            pending = tail[_STRING_REST.match(tail).end() :]  # type: ignore[union-attr]
            outside, in_string = outside[:quote], True
        steps = _STEP[np.frombuffer(outside.translate(None, _NOT_BRACKETS), dtype=np.uint8)]
        if steps.size:
            running = np.cumsum(steps) + depth
            deepest, depth = max(deepest, int(running.max())), int(running[-1])
        if stop_above is not None and deepest > stop_above:
            break
    return deepest


# -- TOML ---------------------------------------------------------------------------------------------
_TOML_TOKEN = re.compile(
    r'''"""(?:[^"\\]|\\.|"(?!""))*"{3,5}'''  # multi-line strings
    r"|'''.*?'{3,5}"
    r'|"(?:[^"\\\n]|\\.)*"'  # one-line strings
    r"|'[^'\n]*'"
    r"|\#[^\n]*"  # comments
    r"|(?<![\w-])\d[\d_]*\.\d"  # a number's decimal point is not a dotted key's dot
    r"|[\[\]{}.=,\n]",
    re.DOTALL,
)


def toml_nesting(text: str) -> int:
    """How deep a TOML text nests: arrays and inline tables, plus the dots of a dotted key or table
    name (``a.b.c = 1`` nests 3), outside strings and comments; no recursion."""
    depth = dots = deepest = 0
    for match in _TOML_TOKEN.finditer(text):
        token = match.group()
        if token in ("[", "{"):
            depth, dots = depth + 1, 0
        elif token in ("]", "}"):
            depth -= 1
        elif token == ".":
            dots += 1
        elif token in ("=", ",", "\n"):
            dots = 0
        else:
            continue
        deepest = max(deepest, depth + dots)
    return deepest


def load_toml(text: str, source: str, error: type[AiopsError] = PolicyError) -> dict[str, Any]:
    """``tomllib.loads(text)`` for a file a person wrote, refused (``error``, naming ``source``)
    when larger than ``MAX_TOML_CHARS`` or nested deeper than ``MAX_NESTING``."""
    if len(text) > MAX_TOML_CHARS:
        raise error(
            f"{source} is {len(text):,} characters long; the limit is {MAX_TOML_CHARS:,}",
            "a settings or policy file fits in a few kilobytes",
        )
    if toml_nesting(text) > MAX_NESTING:
        raise error(
            f"{source} nests more than {MAX_NESTING} levels deep (arrays, inline tables or dotted keys)",
            "a settings or policy file nests two or three levels",
        )
    return tomllib.loads(text)
