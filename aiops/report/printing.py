"""HTML to PDF with WeasyPrint, offline: only ``data:`` URIs may load, whatever a string holds.

Also the dashboard's printer child: ``python -m aiops.report.printing PACK.html PACK.pdf`` (see
``aiops.report.bounded``).
"""

from __future__ import annotations

import resource
import sys
from pathlib import Path

from weasyprint import HTML
from weasyprint.urls import URLFetcher


def pdf_from_html(html: str) -> bytes:
    offline = URLFetcher(allowed_protocols={"data"})  # the pack never reaches the network
    return bytes(HTML(string=html, url_fetcher=offline).write_pdf())


def main(argv: list[str]) -> int:
    """``python -m aiops.report.printing PACK.html PACK.pdf [MAX_BYTES]`` (the printer child of the
    dashboard and the CLI); past MAX_BYTES of data the child fails instead of growing."""
    source, target = Path(argv[0]), Path(argv[1])
    if len(argv) > 2:
        limit = int(argv[2])
        resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
    target.write_bytes(pdf_from_html(source.read_text(encoding="utf-8")))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
