"""Energy intervals as CSV (RFC 4180), one line at a time.

The standard ``csv`` module writes each row (comma-separated, CRLF line ends,
quoting only where needed), so a response can stream a long export row by row
instead of holding it. Times are ISO 8601 with their offset, as in the JSON; an
interval without data has empty energy fields (a gap is shown, never a 0).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

from portal_api.consumption.schemas import EnergyInterval

HEADER = ("interval_start", "interval_end", "import_kwh", "export_kwh", "completeness")
MEDIA_TYPE = "text/csv; charset=utf-8"


def _kwh(value: float | None) -> str:
    return "" if value is None else f"{value:.3f}"


def csv_lines(intervals: Iterable[EnergyInterval]) -> Iterator[str]:
    """The header line, then one line per interval; each ends with CRLF."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def line(row: Iterable[str]) -> str:
        writer.writerow(row)
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    yield line(HEADER)
    for iv in intervals:
        yield line(
            (
                iv.interval_start.isoformat(),
                iv.interval_end.isoformat(),
                _kwh(iv.import_kwh),
                _kwh(iv.export_kwh),
                f"{iv.completeness:.4f}",
            )
        )


def csv_filename(site_id: str, group_by: str, first: str, last: str) -> str:
    """A download name: ``<site>_<group_by>_<first day>_<last day>.csv`` (ASCII)."""
    safe = "".join(c if c.isascii() and (c.isalnum() or c in "-_") else "_" for c in site_id)
    return f"{safe}_{group_by}_{first}_{last}.csv"


__all__ = ["HEADER", "MEDIA_TYPE", "csv_filename", "csv_lines"]
