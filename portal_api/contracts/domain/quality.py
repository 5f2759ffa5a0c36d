"""The quality norm of 6.5: our measured energy within ±5 % of the network operator's.

6.5 holds the company to interruptions within 5.1 / 5.2 (``interruptions``) and
to data from its equipment deviating from the network operator's measurements
of the site by no more than +/-5 %. The work is split by job:

* ``quality_parse``: the operator's CSV export as readings and errors, each
  with its line number (``parse_operator_csv``, ``decode_operator_export``);
* ``quality_compare``: the readings beside our energy per (site, period), one
  Decision per period, and the flagged sites (``compare``, ``flagged_sites``).

This module keeps the public names importable from one place.
"""

from __future__ import annotations

from portal_api.contracts.domain.quality_compare import (
    DEFAULT_MIN_COMPLETENESS,
    TOLERANCE,
    OurEnergy,
    Verdict,
    compare,
    flagged_sites,
)
from portal_api.contracts.domain.quality_parse import (
    COLUMNS,
    OperatorImport,
    OperatorReading,
    ParseError,
    Period,
    decode_operator_export,
    parse_operator_csv,
)

__all__ = [
    "COLUMNS",
    "DEFAULT_MIN_COMPLETENESS",
    "TOLERANCE",
    "OperatorImport",
    "OperatorReading",
    "OurEnergy",
    "ParseError",
    "Period",
    "Verdict",
    "compare",
    "decode_operator_export",
    "flagged_sites",
    "parse_operator_csv",
]
