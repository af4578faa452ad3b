"""A small keep-alive HTTP/1.1 client for posting JSON to one server, on asyncio streams.

Why hand-written: the model backends spend their time in the HTTP client, and on the
2-core machine the benchmark runs on (client, server and database together) the CPU per
call bounds the throughput. Measured with bench/generate.py (1,000 calls, concurrency
32, 20 ms latency): the `openai` package's client costs ~0.9 to 1.2 ms of CPU per call,
a plain shared `httpx.AsyncClient` (httpcore 1.0 pool) ~3 ms, this client ~0.07 ms.

It does only what a chat-completions call needs: ``POST`` with a body to one
``http://`` or ``https://`` origin, a pool of keep-alive connections (each used by one
request at a time), responses framed by ``Content-Length``, chunked transfer encoding
or the end of the connection, and gzip/deflate bodies. A pooled connection the server
has closed meanwhile is replaced, and the request sent again once, before an error is
raised. No proxies, redirects, cookies or HTTP/2: the backend uses the `openai` client
when a proxy applies (see `proxy_for`). Time limits are the caller's
(``asyncio.timeout``): a cancelled request closes its connection.
"""

from __future__ import annotations

import asyncio
import os
import ssl
import urllib.request
import zlib
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

MAX_HEAD = 64 * 1024
USER_AGENT = "judgeloop"


class HTTPConnectionError(Exception):
    """The connection failed, or the server's answer broke off or is not HTTP."""


@dataclass(frozen=True)
class HTTPResponse:
    """A response: status, headers (names lowercased) and the decoded body."""

    status: int
    headers: dict[str, str]
    body: bytes


def proxy_for(url: str) -> str | None:
    """Return the proxy the environment sets for `url` (``HTTPS_PROXY``, ``ALL_PROXY``)."""
    parts = urlsplit(url)
    proxies = urllib.request.getproxies()
    proxy = proxies.get(parts.scheme) or proxies.get("all")
    if not proxy or urllib.request.proxy_bypass(parts.hostname or ""):
        return None
    return proxy


def _tls_context() -> ssl.SSLContext:
    """Verify servers as httpx does: certifi's CA bundle, unless SSL_CERT_FILE/DIR is set."""
    if not (os.environ.get("SSL_CERT_FILE") or os.environ.get("SSL_CERT_DIR")):
        try:
            import certifi
        except ImportError:
            pass
        else:
            return ssl.create_default_context(cafile=certifi.where())
    return ssl.create_default_context()


class _Connection:
    """One TCP (or TLS) connection, used by one request at a time."""

    __slots__ = ("loop", "reader", "writer")

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self.reader, self.writer, self.loop = reader, writer, loop

    def usable(self, loop: asyncio.AbstractEventLoop) -> bool:
        return self.loop is loop and not self.writer.is_closing() and not self.reader.at_eof()

    def close(self) -> None:
        if not self.loop.is_closed():
            self.writer.close()


class LeanHTTP:
    """Post to one origin over a pool of keep-alive HTTP/1.1 connections.

    Args:
        base_url: ``http://host:port/prefix``; request paths are appended to it.
        headers: Sent with every request (``Authorization``, ...).
        max_connections: Requests in flight at once; more wait for a connection.
    """

    def __init__(
        self, base_url: str, *, headers: dict[str, str] | None = None, max_connections: int = 64
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {base_url}")
        self._tls = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port or (443 if self._tls else 80)
        self._prefix = quote(parts.path.rstrip("/"), safe="/%:@!$&'()*+,;=~")
        default_port = self._port == (443 if self._tls else 80)
        host = f"[{self._host}]" if ":" in self._host else self._host
        authority = host if default_port else f"{host}:{self._port}"
        fixed = {
            "Host": authority,
            "User-Agent": USER_AGENT,
            "Accept": "application/json",
            "Accept-Encoding": "gzip, deflate",
            "Content-Type": "application/json",
            **(headers or {}),
        }
        for name, value in fixed.items():
            if any(c in name + value for c in "\r\n") or not (name + value).isascii():
                raise ValueError(f"the {name} header must be ASCII on one line")
        self._fixed_head = "".join(f"{k}: {v}\r\n" for k, v in fixed.items()).encode("ascii")
        self._max = max(1, max_connections)
        self._ssl: ssl.SSLContext | None = None
        self._idle: list[_Connection] = []
        self._slots: asyncio.Semaphore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _slots_for(self, loop: asyncio.AbstractEventLoop) -> asyncio.Semaphore:
        """The semaphore of this loop (a client reused on a new loop starts afresh)."""
        if self._slots is None or self._loop is not loop:
            self._slots, self._loop, self._idle = asyncio.Semaphore(self._max), loop, []
        return self._slots

    async def _connect(self, loop: asyncio.AbstractEventLoop) -> _Connection:
        if self._tls and self._ssl is None:
            self._ssl = _tls_context()
        try:
            reader, writer = await asyncio.open_connection(
                self._host, self._port, ssl=self._ssl, limit=MAX_HEAD
            )
        except (OSError, ssl.SSLError) as exc:
            where = f"{self._host}:{self._port}"
            raise HTTPConnectionError(f"cannot connect to {where}: {exc}") from exc
        return _Connection(reader, writer, loop)

    async def post(self, path: str, body: bytes) -> HTTPResponse:
        """POST `body` to the base URL + `path`; return the response, whatever its status.

        Raises:
            HTTPConnectionError: No connection, or no complete HTTP response on it.
        """
        loop = asyncio.get_running_loop()
        request = b"".join(
            (
                f"POST {self._prefix}{path} HTTP/1.1\r\n".encode("latin-1"),
                self._fixed_head,
                b"Content-Length: %d\r\n\r\n" % len(body),
                body,
            )
        )
        async with self._slots_for(loop):
            while self._idle:
                conn = self._idle.pop()
                if not conn.usable(loop):
                    conn.close()
                    continue
                try:
                    return await self._exchange(conn, request)
                except _StaleConnection:
                    continue  # the server closed it while idle: try the next one
            conn = await self._connect(loop)
            try:
                return await self._exchange(conn, request)
            except _StaleConnection as exc:
                raise HTTPConnectionError(f"the server closed the connection: {exc}") from None

    async def _exchange(self, conn: _Connection, request: bytes) -> HTTPResponse:
        """Send one request on `conn`, read the answer, and pool or close `conn`."""
        keep = False
        try:
            try:
                conn.writer.write(request)
                head = await conn.reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError as exc:
                if not exc.partial:
                    raise _StaleConnection("no answer") from None
                raise HTTPConnectionError("the answer broke off in its headers") from None
            except (ConnectionError, BrokenPipeError) as exc:
                raise _StaleConnection(str(exc) or type(exc).__name__) from None
            status, headers, http10 = _parse_head(head)
            while 100 <= status < 200:  # interim answers (100 Continue): read the next
                status, headers, http10 = _parse_head(await conn.reader.readuntil(b"\r\n\r\n"))
            body, framed = await _read_body(conn.reader, status, headers)
            connection = headers.get("connection", "").lower()
            keep = framed and not http10 and "close" not in connection
            return HTTPResponse(status, headers, _decode(body, headers))
        except asyncio.LimitOverrunError:
            raise HTTPConnectionError("the answer's headers are too long") from None
        except asyncio.IncompleteReadError:
            raise HTTPConnectionError("the answer broke off in its body") from None
        except OSError as exc:
            raise HTTPConnectionError(f"connection error: {exc}") from exc
        finally:
            if keep:
                self._idle.append(conn)
            else:
                conn.close()

    async def aclose(self) -> None:
        """Close the pooled connections."""
        idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


class _StaleConnection(Exception):
    """A pooled connection gave no answer at all: the server had closed it."""


def _parse_head(head: bytes) -> tuple[int, dict[str, str], bool]:
    """Read a status line and headers: (status, lowercased headers, HTTP/1.0?)."""
    lines = head.decode("latin-1").split("\r\n")
    version, _, rest = lines[0].partition(" ")
    code = rest[:3]
    if not version.startswith("HTTP/") or not code.isdigit():
        raise HTTPConnectionError(f"not an HTTP answer: {lines[0][:100]!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            key = name.strip().lower()
            value = value.strip()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return int(code), headers, version == "HTTP/1.0"


async def _read_body(
    reader: asyncio.StreamReader, status: int, headers: dict[str, str]
) -> tuple[bytes, bool]:
    """Read the body; say whether its end was framed (else the connection ended it)."""
    if status in (204, 304):
        return b"", True
    if "chunked" in headers.get("transfer-encoding", "").lower():
        parts: list[bytes] = []
        while True:
            size_line = await reader.readuntil(b"\r\n")
            try:
                size = int(size_line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise HTTPConnectionError("a malformed chunk size") from None
            if size == 0:
                while (await reader.readuntil(b"\r\n")) != b"\r\n":
                    pass  # trailers
                return b"".join(parts), True
            parts.append(await reader.readexactly(size))
            await reader.readexactly(2)
    length = headers.get("content-length")
    if length is not None:
        try:
            size = int(length.split(",")[0])
        except ValueError:
            raise HTTPConnectionError(f"a malformed Content-Length: {length!r}") from None
        return await reader.readexactly(size), True
    return await reader.read(), False


def _decode(body: bytes, headers: dict[str, str]) -> bytes:
    """Undo a gzip or deflate Content-Encoding."""
    encoding = headers.get("content-encoding", "identity").lower().strip()
    if encoding in ("identity", ""):
        return body
    try:
        if encoding in ("gzip", "x-gzip"):
            return zlib.decompress(body, wbits=31)
        if encoding == "deflate":
            try:
                return zlib.decompress(body)
            except zlib.error:
                return zlib.decompress(body, wbits=-15)  # raw deflate, as some servers send
    except zlib.error as exc:
        raise HTTPConnectionError(f"a corrupt {encoding} body: {exc}") from None
    raise HTTPConnectionError(f"an unsupported Content-Encoding: {encoding}")
