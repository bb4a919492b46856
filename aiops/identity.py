"""One identity rule for emails, workflow ids, department names, source and preset names, in Python and SQL.

``identity_key``: Unicode NFKC (full-width ``ＳＵＰＰＯＲＴ`` is ``SUPPORT``, the ligature ``ﬀ`` is
``ff``, the long ``ſ`` is ``s``), then lower-case, then runs of white space as one space, trimmed.
Identity (sign-in), permissions (a lead's departments) and storage (ids and departments matched to
their stored spelling) all compare through it, so a spelling is never one department to the
permission check and another to the store. ``casefold()`` is not used: it and NFKC disagree
(``ß``), and an email is refused rather than folded (see ``aiops.auth``).

SQL gets this very function under the same name (``aiops.store.functions``: DuckDB has no NFKC of
its own), so a bulk import matches ids exactly as Python does.
"""

from __future__ import annotations

import unicodedata


def identity_key(text: str) -> str:
    """The identity ``text`` names: NFKC, lower-case, white space collapsed and trimmed. NFKC again
    after lower-casing: ``İ`` lowers to ``i`` and a combining dot, which must be put back in canonical
    order among other marks, or the key of a key would differ from the key."""
    lowered = unicodedata.normalize("NFKC", text).lower()
    return " ".join(unicodedata.normalize("NFKC", lowered).split())


def has_lookalikes(text: str) -> bool:
    """Whether ``text`` holds compatibility characters (ligatures, full-width or styled letters, the
    long s) that NFKC turns into other letters: as an email, another person's address."""
    return not unicodedata.is_normalized("NFKC", text)
