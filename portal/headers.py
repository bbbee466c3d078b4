"""Security headers on every response: Content-Security-Policy with a per-request nonce
(no inline script runs without it; no ``'unsafe-inline'`` for scripts), no framing, no
MIME sniffing, a strict referrer policy and no powerful browser features.

Styles still allow ``'unsafe-inline'``: Bootstrap Italia's markup (the collapsible menu)
and a few bars drawn with a computed width use ``style`` attributes; scripts, which is
what a content-injection attack needs, do not. Stripe Checkout and Connect onboarding are
reached by a redirect after a form post, so ``form-action`` names them
(``CSP_FORM_ACTION``, space-separated, adds more).
"""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, request

STRIPE_FORM_TARGETS = "https://checkout.stripe.com https://connect.stripe.com"

PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "autoplay",
        "camera",
        "display-capture",
        "encrypted-media",
        "fullscreen",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "picture-in-picture",
        "publickey-credentials-get",
        "screen-wake-lock",
        "usb",
        "xr-spatial-tracking",
    )
)


def csp_nonce() -> str:
    """This response's nonce, for ``<script nonce="{{ csp_nonce() }}">``."""
    # Kept with the request (not in ``g``, which an app context may share between requests).
    return request.environ.setdefault("ponte.csp_nonce", secrets.token_urlsafe(16))


def allow_form_action(url: str) -> None:
    """Let this response's forms post to ``url``'s origin (a SPID/CIE identity provider
    reached with the SAML HTTP-POST binding): only this response, not every page."""
    parts = urlsplit(url)
    if parts.scheme in ("https", "http") and parts.netloc:
        extra = request.environ.setdefault("ponte.csp_form_action", [])
        extra.append(f"{parts.scheme}://{parts.netloc}")


def content_security_policy() -> str:
    form_action = " ".join(
        [
            "'self'",
            STRIPE_FORM_TARGETS,
            current_app.config.get("CSP_FORM_ACTION", ""),
            *request.environ.get("ponte.csp_form_action", []),
        ]
    ).strip()
    directives = {
        "default-src": "'self'",
        "script-src": f"'self' 'nonce-{csp_nonce()}'",
        "style-src": "'self' 'unsafe-inline'",
        "img-src": "'self' data:",
        "font-src": "'self' data:",
        "connect-src": "'self'",
        "object-src": "'none'",
        "base-uri": "'self'",
        "form-action": form_action,
        "frame-ancestors": "'none'",
    }
    return "; ".join(f"{name} {value}" for name, value in directives.items())


def add_security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", content_security_policy())
    headers.setdefault("X-Frame-Options", "DENY")  # for browsers without frame-ancestors
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    return response


def init_app(app: Flask) -> None:
    app.after_request(add_security_headers)
    app.jinja_env.globals["csp_nonce"] = csp_nonce
