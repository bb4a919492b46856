"""ui.text: user text made inert for Streamlit's markdown, and formula-escaped table frames."""

from __future__ import annotations

import re
import string

import pandas as pd
from hypothesis import example, given
from hypothesis import strategies as st

from ui.text import WORD_JOINER, md_escape, md_frame, safe_frame

# The patterns Streamlit's GFM autolinking applies to *decoded* text (mdast-util-gfm-autolink-literal).
AUTOLINK = re.compile(r"(https?://|www(?=\.))[-.\w]+|[-.\w+]+@[-\w]+(\.[-\w]+)+", re.IGNORECASE)


def decoded(markdown: str) -> str:
    """What the renderer sees after backslash escapes are resolved."""
    return re.sub(r"\\(.)", r"\1", markdown)


def test_bare_urls_and_emails_no_longer_autolink():
    for text in ("see https://evil.example/x", "www.evil.example", "WWW.EVIL.EXAMPLE", "mail a@evil.example"):
        assert AUTOLINK.search(decoded(md_escape(text))) is None, text
        assert decoded(md_escape(text)).replace(WORD_JOINER, "") == text


def test_every_markdown_construct_is_escaped():
    text = "![i](http://x/i.png) [a](javascript:x) <img src=x> `c` :red[r] :material/home: # h $x$ ~s~"
    escaped = md_escape(text)
    unescaped = re.sub(r"\\.", "", escaped)  # drop every escaped character: no punctuation is left
    assert not set(unescaped) & set(string.punctuation)
    assert decoded(escaped).replace(WORD_JOINER, "") == text


def test_line_breaks_cannot_start_a_block():
    assert "\n" not in md_escape("a\n\n# heading\r\n- item") and md_escape(None) == ""


@given(st.text())
@example("\u2060")  # a word joiner typed by a user: hypothesis found it
def test_any_text_round_trips_and_never_autolinks(text):
    escaped = md_escape(text)
    assert AUTOLINK.search(decoded(escaped)) is None
    # The escape adds word joiners; the text's own (U+2060 typed by a user) go in the comparison too.
    expected = re.sub(r"[\r\n\u2028\u2029\x0b\x0c\x85]+", " ", text).replace(WORD_JOINER, "")
    assert decoded(escaped).replace(WORD_JOINER, "") == expected


def test_md_frame_escapes_cells_and_headers_for_st_table():
    frame = md_frame(pd.DataFrame({"![h](x)": ["[a](http://x)", 3]}))
    assert list(frame.columns) == [md_escape("![h](x)")]
    assert frame.iloc[0, 0] == md_escape("[a](http://x)") and frame.iloc[1, 0] == 3


def test_safe_frame_escapes_formula_cells_like_the_csv_export():
    frame = safe_frame(pd.DataFrame({"=h": ["=1+1", "+x", "-2", "@a", "\tz", "ok", None], "n": range(7)}))
    assert list(frame.columns) == ["'=h", "n"]
    assert frame["'=h"].tolist()[:6] == ["'=1+1", "'+x", "'-2", "'@a", "'\tz", "ok"]
    assert frame.n.tolist() == list(range(7))
