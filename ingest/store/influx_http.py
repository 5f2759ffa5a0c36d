"""A small InfluxDB v1-API client: ``/write`` (line protocol) and ``/query`` (InfluxQL).

These two endpoints are what InfluxDB 1.8+, 2.x (v1 compatibility API with a DBRP
mapping) and 3.x all serve, so the store speaks nothing else. urllib3 (already a
dependency of influxdb-client) does the HTTP; influxdb-client's own write API is
not used because it batches in a background thread and would let the caller ack
data it has not yet written.

Writes: gzip body, retried with exponential backoff on connection errors, 429
and 5xx; any other status is final (the data is bad, retrying cannot help).
Either way the failure is raised as `StoreWriteError` and nothing is acked.
"""

from __future__ import annotations

import base64
import gzip
import json
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlencode

import urllib3

from ingest.store.base import StoreQueryError, StoreWriteError
from ingest.store.config import InfluxConfig

log = logging.getLogger(__name__)

_RETRY_STATUS = frozenset({429, 500, 502, 503, 504})


class InfluxHttp:
    """HTTP to one InfluxDB server for one database."""

    def __init__(
        self,
        config: InfluxConfig,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config
        self._sleep = sleep
        self._pool = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=config.connect_timeout_s, read=config.timeout_s),
            retries=False,  # our own retry loop: it must know what failed and when to give up
            maxsize=4,
        )
        self._headers: dict[str, str] = {}
        if config.token:
            # InfluxDB 2.x/3.x v1 API, and 1.x with a shared secret proxy, accept this.
            self._headers["Authorization"] = f"Token {config.token}"
        elif config.username:
            basic = base64.b64encode(f"{config.username}:{config.password}".encode()).decode()
            self._headers["Authorization"] = f"Basic {basic}"

    def close(self) -> None:
        self._pool.clear()

    # -- write --------------------------------------------------------------------

    def write(self, lines: Sequence[str], *, rp: str, precision: str) -> None:
        """POST ``lines`` in chunks of at most max_batch_lines / max_batch_bytes."""
        chunk: list[str] = []
        size = 0
        for line in lines:
            if chunk and (
                len(chunk) >= self.config.max_batch_lines
                or size + len(line) > self.config.max_batch_bytes
            ):
                self._post_lines(chunk, rp, precision)
                chunk, size = [], 0
            chunk.append(line)
            size += len(line) + 1
        if chunk:
            self._post_lines(chunk, rp, precision)

    def _post_lines(self, lines: list[str], rp: str, precision: str) -> None:
        body = gzip.compress("\n".join(lines).encode(), compresslevel=5)
        fields: dict[str, str] = {"db": self.config.database, "precision": precision}
        if rp:
            fields["rp"] = rp
        url = f"{self.config.url}/write?{urlencode(fields)}"
        headers = {
            **self._headers,
            "Content-Encoding": "gzip",
            "Content-Type": "text/plain; charset=utf-8",
        }
        delay = self.config.backoff_s
        attempts = max(1, self.config.retries + 1)
        for attempt in range(1, attempts + 1):
            try:
                response = self._pool.request("POST", url, body=body, headers=headers)
            except urllib3.exceptions.HTTPError as exc:
                problem = f"{type(exc).__name__}: {exc}"
            else:
                if response.status == 204:
                    return
                if _expired_only(response.status, response.data):
                    # Backfill older than the policy's duration: the server drops it
                    # on purpose and writes the rest. Expired data is not a
                    # failure; refusing the ack would redeliver it forever.
                    log.info("influx dropped points beyond retention (%d lines sent)", len(lines))
                    return
                problem = f"HTTP {response.status}: {response.data[:500]!r}"
                if response.status not in _RETRY_STATUS:
                    raise StoreWriteError(f"influx write rejected ({len(lines)} lines): {problem}")
            if attempt < attempts:
                log.warning("influx write failed, retry %d in %.2fs: %s", attempt, delay, problem)
                self._sleep(delay)
                delay = min(delay * 2, self.config.max_backoff_s)
        raise StoreWriteError(
            f"influx write failed after {attempts} attempts ({len(lines)} lines): {problem}"
        )

    # -- query --------------------------------------------------------------------

    def query(self, q: str, *, post: bool = False, epoch: str = "s") -> list[dict[str, Any]]:
        """Run InfluxQL; one result per statement, times as integers in ``epoch`` units.

        GET for reads (InfluxDB 1.x refuses DDL on GET, so ``post=True`` for those).
        """
        fields = {"db": self.config.database, "q": q, "epoch": epoch}
        try:
            if post:
                response = self._pool.request(
                    "POST",
                    f"{self.config.url}/query",
                    fields=fields,
                    headers=self._headers,
                    encode_multipart=False,
                )
            else:
                response = self._pool.request(
                    "GET", f"{self.config.url}/query", fields=fields, headers=self._headers
                )
        except urllib3.exceptions.HTTPError as exc:
            raise StoreQueryError(f"influx query failed: {exc}") from exc
        if response.status != 200:
            raise StoreQueryError(f"influx query HTTP {response.status}: {response.data[:500]!r}")
        results: list[dict[str, Any]] = json.loads(response.data).get("results", [])
        for result in results:
            if "error" in result:
                raise StoreQueryError(f"influx query error: {result['error']} in {q!r}")
        return results

    def rows(self, q: str, *, epoch: str = "s") -> list[tuple[str, dict[str, Any]]]:
        """(measurement, {column: value}) for every row of every series of every statement."""
        out: list[tuple[str, dict[str, Any]]] = []
        for result in self.query(q, epoch=epoch):
            for series in result.get("series", []):
                columns = series["columns"]
                for values in series.get("values", []):
                    out.append((series["name"], dict(zip(columns, values, strict=True))))
        return out

    def ping(self) -> bool:
        try:
            response = self._pool.request("GET", f"{self.config.url}/ping", headers=self._headers)
        except urllib3.exceptions.HTTPError:
            return False
        return response.status == 204


def _expired_only(status: int, body: bytes) -> bool:
    """True for InfluxDB 1.x's partial-write answer when the only dropped points
    were older than the retention policy allows."""
    if status != 400:
        return False
    try:
        error = str(json.loads(body).get("error", ""))
    except (ValueError, AttributeError):
        return False
    return error.startswith("partial write: points beyond retention policy dropped=") and (
        "\n" not in error
    )
