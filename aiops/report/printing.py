"""HTML to PDF with WeasyPrint, offline: only ``data:`` URIs may load, whatever a string holds.

Also the dashboard's printer child: ``python -m aiops.report.printing PACK.html PACK.pdf`` (see
``aiops.report.bounded``).
"""

from __future__ import annotations

import sys
from pathlib import Path

from weasyprint import HTML
from weasyprint.urls import URLFetcher


def pdf_from_html(html: str) -> bytes:
    offline = URLFetcher(allowed_protocols={"data"})  # the pack never reaches the network
    return bytes(HTML(string=html, url_fetcher=offline).write_pdf())


def main(argv: list[str]) -> int:
    """``python -m aiops.report.printing PACK.html PACK.pdf`` (the dashboard's printer child)."""
    source, target = Path(argv[0]), Path(argv[1])
    target.write_bytes(pdf_from_html(source.read_text(encoding="utf-8")))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
