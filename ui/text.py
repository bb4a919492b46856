"""User text made inert before it reaches Streamlit.

Every Streamlit call that renders markdown (``st.markdown``, ``st.caption``, ``st.header``, ``st.table``
cells, widget labels, ``st.success``/``st.info`` bodies ...) turns stored text into links, images,
code spans, colour directives (``:red[...]``), Material icons (``:material/home:``), emoji shortcodes
and maths. ``md_escape`` makes any string render exactly as typed, checked against Streamlit's own
renderer in a real browser (``tests/browser/test_hostile_text.py``):

- every ASCII punctuation character is backslash-escaped (CommonMark lets any of them be escaped,
  and an escaped one never opens markdown, HTML, a directive, an icon or an emoji);
- Streamlit's GFM autolinking runs on the *decoded* text, so escaping cannot stop
  ``https://…``, ``www.…`` or ``name@host`` from becoming links: an invisible word joiner
  (U+2060) is put after ``:`` in ``://``, after ``www`` before ``.`` and after ``@``, which breaks the
  patterns without changing what a reader sees;
- line breaks become spaces, so text can never start a new block (heading, list, table, fence).

``safe_frame`` is for tables whose toolbar can export CSV: text cells a spreadsheet would run as a
formula are escaped by the app's own export rule (``aiops.report.export.escape_cell``).
"""

from __future__ import annotations

import re
import string

import pandas as pd

from aiops.report.export import escape_cell

WORD_JOINER = "\u2060"
_PUNCTUATION = frozenset(string.punctuation)  # CommonMark: every ASCII punctuation char is escapable
_AUTOLINK = re.compile(r"(?<=:)(?=//)|(?<=@)|(?<=www)(?=\.)", re.IGNORECASE)
_LINE_BREAKS = re.compile(r"[\r\n\u2028\u2029\x0b\x0c\x85]+")


def md_escape(text: object) -> str:
    """``text`` as inert markdown: it renders exactly as typed, never as a link, image, HTML tag,
    code span, heading, list, colour, icon, emoji or formula. ``None`` becomes ``""``."""
    if text is None:
        return ""
    value = _LINE_BREAKS.sub(" ", str(text))
    value = _AUTOLINK.sub(WORD_JOINER, value)
    return "".join("\\" + ch if ch in _PUNCTUATION else ch for ch in value)


def md_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy for ``st.table`` (which renders every cell as markdown): text cells and headers escaped."""
    return frame.rename(columns=md_escape).map(lambda v: md_escape(v) if isinstance(v, str) else v)


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy whose text cells (and headers) that would run as a spreadsheet formula are escaped,
    for tables whose built-in toolbar exports CSV."""
    return frame.rename(columns=escape_cell).map(escape_cell)
