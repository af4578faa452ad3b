"""Security headers for HTML: a strict Content-Security-Policy and friends.

Page routes add ``PAGE_HEADERS`` themselves (see ``templating.PageRoute``). To cover
everything else too (static files, unknown paths), add the middleware in ``create_app``::

    app.add_middleware(SecurityHeadersMiddleware)
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
SECURITY_HEADERS: Mapping[str, str] = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}
PAGE_HEADERS: Mapping[str, str] = {**SECURITY_HEADERS, "Cache-Control": "no-store"}
# The interactive API reference loads Swagger UI from a CDN; the strict policy would blank it.
DEFAULT_EXEMPT_PATHS = ("/api/v1/docs", "/api/v1/docs/oauth2-redirect")


def apply_security_headers(headers: MutableHeaders, values: Mapping[str, str]) -> None:
    """Set each header in `values` that `headers` does not set already.

    Args:
        headers: A response's headers.
        values: The headers to add, e.g. ``PAGE_HEADERS``.
    """
    for name, value in values.items():
        if name not in headers:
            headers[name] = value


class SecurityHeadersMiddleware:
    """ASGI middleware adding ``SECURITY_HEADERS`` to every HTTP response it passes on."""

    def __init__(self, app: ASGIApp, exempt_paths: tuple[str, ...] = DEFAULT_EXEMPT_PATHS):
        """Wrap `app`; responses to `exempt_paths` get no Content-Security-Policy."""
        self.app = app
        self.exempt_paths = exempt_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on and add the headers to the response's start message."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        values = dict(SECURITY_HEADERS)
        if scope.get("path", "") in self.exempt_paths:
            values.pop("Content-Security-Policy")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                apply_security_headers(MutableHeaders(scope=message), values)
            await send(message)

        await self.app(scope, receive, send_with_headers)
