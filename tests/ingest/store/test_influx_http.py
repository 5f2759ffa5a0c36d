"""InfluxHttp against a scripted loopback HTTP server: gzip, retries, auth, failures."""

from __future__ import annotations

import gzip
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from ingest.store import InfluxConfig, StoreQueryError, StoreWriteError
from ingest.store.influx_http import InfluxHttp, _expired_only


class Scripted(ThreadingHTTPServer):
    """Answers each request with the next (status, body) of ``script``; records requests."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.script: list[tuple[int, bytes]] = []
        self.requests: list[tuple[str, dict[str, list[str]], dict[str, str], bytes]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class Handler(BaseHTTPRequestHandler):
    server: Scripted

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        query = parse_qs(urlsplit(self.path).query)
        self.server.requests.append((self.command, query, dict(self.headers), body))
        status, payload = self.server.script.pop(0) if self.server.script else (204, b"")
        self.send_response(status)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = _answer  # noqa: N815 - http.server's handler names

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[Scripted]:
    srv = Scripted()
    thread = threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def client(server: Scripted, **options: object) -> tuple[InfluxHttp, list[float]]:
    slept: list[float] = []
    config = InfluxConfig(url=server.url, database="db", **options)  # type: ignore[arg-type]
    return InfluxHttp(config, sleep=slept.append), slept


def test_write_is_gzipped_with_db_rp_precision(server: Scripted) -> None:
    http, _ = client(server)
    http.write(["m f=1i 1", "m f=2i 2"], rp="raw", precision="s")
    ((method, query, headers, body),) = server.requests
    assert method == "POST"
    assert query == {"db": ["db"], "rp": ["raw"], "precision": ["s"]}
    assert headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(body) == b"m f=1i 1\nm f=2i 2"


def test_write_is_chunked_by_lines_and_bytes(server: Scripted) -> None:
    http, _ = client(server, max_batch_lines=2, max_batch_bytes=1000)
    http.write([f"m f={i}i {i}" for i in range(5)], rp="", precision="s")
    assert [gzip.decompress(r[3]).count(b"\n") + 1 for r in server.requests] == [2, 2, 1]
    assert "rp" not in server.requests[0][1]
    server.requests.clear()
    http, _ = client(server, max_batch_bytes=20)
    http.write(["m f=1i 1", "m f=2i 2", "m f=3i 3"], rp="", precision="s")
    assert len(server.requests) == 2


def test_5xx_is_retried_with_backoff(server: Scripted) -> None:
    server.script = [(503, b"busy"), (500, b"oops"), (204, b"")]
    http, slept = client(server, retries=3, backoff_s=0.5)
    http.write(["m f=1i 1"], rp="", precision="s")
    assert len(server.requests) == 3
    assert slept == [0.5, 1.0]


def test_retries_exhausted_raise(server: Scripted) -> None:
    server.script = [(503, b"busy")] * 3
    http, slept = client(server, retries=2, backoff_s=1.0, max_backoff_s=1.5)
    with pytest.raises(StoreWriteError, match=r"after 3 attempts.*503"):
        http.write(["m f=1i 1"], rp="", precision="s")
    assert slept == [1.0, 1.5]


def test_bad_data_is_not_retried(server: Scripted) -> None:
    server.script = [(400, b'{"error":"field type conflict"}')]
    http, slept = client(server)
    with pytest.raises(StoreWriteError, match=r"rejected.*field type conflict"):
        http.write(["m f=1i 1"], rp="", precision="s")
    assert len(server.requests) == 1
    assert slept == []


def test_points_beyond_retention_count_as_written(server: Scripted) -> None:
    server.script = [(400, b'{"error":"partial write: points beyond retention policy dropped=2"}')]
    http, _ = client(server)
    http.write(["m f=1i 1"], rp="", precision="s")
    assert _expired_only(
        400, b'{"error":"partial write: points beyond retention policy dropped=1"}'
    )
    assert not _expired_only(400, b'{"error":"partial write: field type conflict"}')
    assert not _expired_only(500, b"")
    assert not _expired_only(400, b"not json")


def test_connection_refused_is_a_write_error() -> None:
    from tests.fixtures.ports import free_port

    config = InfluxConfig(url=f"http://127.0.0.1:{free_port()}", database="db", retries=1)
    slept: list[float] = []
    with pytest.raises(StoreWriteError, match="after 2 attempts"):
        InfluxHttp(config, sleep=slept.append).write(["m f=1i 1"], rp="", precision="s")
    assert len(slept) == 1


def test_token_and_basic_auth_headers(server: Scripted) -> None:
    server.script = [(200, b'{"results":[]}')] * 3
    client(server, token="s3cr3t")[0].query("SHOW DATABASES")
    client(server, username="u", password="p")[0].query("SHOW DATABASES")
    client(server)[0].query("SHOW DATABASES")
    auth = [r[2].get("Authorization") for r in server.requests]
    assert auth == ["Token s3cr3t", "Basic dTpw", None]


def test_query_get_and_post_with_epoch(server: Scripted) -> None:
    ok = b'{"results":[{"statement_id":0}]}'
    server.script = [(200, ok), (200, ok)]
    http, _ = client(server)
    http.query("SELECT 1", epoch="ms")
    http.query("CREATE DATABASE x", post=True)
    (m1, q1, _, _), (m2, _, _, body) = server.requests
    assert (m1, q1["epoch"], q1["q"]) == ("GET", ["ms"], ["SELECT 1"])
    assert m2 == "POST"
    assert parse_qs(body.decode())["q"] == ["CREATE DATABASE x"]


def test_query_errors(server: Scripted) -> None:
    server.script = [(200, b'{"results":[{"statement_id":0,"error":"bad"}]}'), (401, b"no")]
    http, _ = client(server)
    with pytest.raises(StoreQueryError, match="bad"):
        http.query("SELECT 1")
    with pytest.raises(StoreQueryError, match="401"):
        http.query("SELECT 1")
