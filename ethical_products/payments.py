"""Stripe, through the official library: Checkout Sessions, Connect accounts, transfers
(*separate charges and transfers*), refunds and transfer reversals.

Every call goes through a :class:`stripe.StripeClient` built from the application's
configuration: ``STRIPE_SECRET_KEY``, and ``STRIPE_API_BASE`` when set (a local
Stripe-compatible server in tests) as the client's API base address. Every call that
creates something carries an idempotency key derived from our own ids, so a retry never
charges, transfers or refunds twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import stripe
from flask import current_app

from ethical_products.pricing import to_cents


class PaymentError(RuntimeError):
    """Stripe refused or could not be reached."""


def configured() -> bool:
    """Whether online payments are available (the default on a fresh machine: no)."""
    return bool(current_app.config.get("STRIPE_SECRET_KEY"))


def webhook_secret() -> str:
    return str(current_app.config.get("STRIPE_WEBHOOK_SECRET") or "")


def client() -> stripe.StripeClient:
    kwargs: dict[str, Any] = {"max_network_retries": 2}
    base = current_app.config.get("STRIPE_API_BASE")
    if base:
        kwargs["base_addresses"] = {"api": base.rstrip("/"), "connect": base.rstrip("/")}
    return stripe.StripeClient(current_app.config["STRIPE_SECRET_KEY"], **kwargs)


def _call(fn: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return fn(*args, **kwargs)
    except stripe.StripeError as error:
        current_app.logger.warning("stripe: %s", error)
        raise PaymentError(str(error.user_message or error)) from error


def create_checkout_session(
    order: Any, success_url: str, cancel_url: str, expires_at: datetime
) -> tuple[str, str]:
    """One Checkout Session for the whole order (all producers): one payment."""
    items = []
    for line in order.lines:
        items.append(
            {
                "quantity": line.quantity,
                "price_data": {
                    "currency": "eur",
                    "unit_amount": to_cents(line.unit_price),
                    "product_data": {"name": f"{line.product_name} – {line.variant_label}"[:250]},
                },
            }
        )
    params = {
        "mode": "payment",
        "line_items": items,
        "client_reference_id": order.reference,
        "customer_email": order.email,
        "success_url": success_url,
        "cancel_url": cancel_url,
        "expires_at": int(expires_at.timestamp()),
        "metadata": {"order_reference": order.reference},
        "payment_intent_data": {
            "transfer_group": order.reference,
            "metadata": {"order_reference": order.reference},
        },
    }
    session = _call(
        client().v1.checkout.sessions.create,
        params,
        {"idempotency_key": f"checkout-{order.reference}"},
    )
    return session.id, session.url


def expire_session(session_id: str) -> str:
    """Expire an open session; answers the session's status ("expired" or "complete")."""
    try:
        session = client().v1.checkout.sessions.expire(session_id)
        return str(session.status)
    except stripe.StripeError:
        session = _call(client().v1.checkout.sessions.retrieve, session_id)
        return str(session.status)


def charge_of(payment_intent_id: str) -> str:
    """The charge of a payment intent (the source of the transfers)."""
    intent = _call(client().v1.payment_intents.retrieve, payment_intent_id).to_dict()
    charge = intent.get("latest_charge")
    return charge if isinstance(charge, str) else (charge or {}).get("id", "") or ""


def create_transfer(sub_order: Any, destination: str, charge_id: str) -> str:
    params: dict[str, Any] = {
        "amount": to_cents(sub_order.payout),
        "currency": "eur",
        "destination": destination,
        "transfer_group": sub_order.order.reference,
        "metadata": {"order_reference": sub_order.order.reference, "sub_order": str(sub_order.id)},
    }
    if charge_id:
        # The transfer waits for the charge's funds instead of the platform's balance.
        params["source_transaction"] = charge_id
    transfer = _call(
        client().v1.transfers.create, params, {"idempotency_key": f"transfer-{sub_order.id}"}
    )
    return str(transfer.id)


def refund(payment_intent_id: str, amount: Any, key: str) -> str:
    result = _call(
        client().v1.refunds.create,
        {"payment_intent": payment_intent_id, "amount": to_cents(amount)},
        {"idempotency_key": key},
    )
    return str(result.id)


def reverse_transfer(transfer_id: str, amount: Any, key: str) -> str:
    reversal = _call(
        client().v1.transfers.reversals.create,
        transfer_id,
        {"amount": to_cents(amount)},
        {"idempotency_key": key},
    )
    return str(reversal.id)


def create_account(org: Any) -> str:
    """A Connect Express account for a producer."""
    account = _call(
        client().v1.accounts.create,
        {
            "type": "express",
            "country": "IT",
            "email": org.email or None,
            "business_profile": {"name": org.name},
            "capabilities": {"transfers": {"requested": True}},
            "metadata": {"organisation_id": str(org.id)},
        },
        {"idempotency_key": f"account-{org.id}"},
    )
    return str(account.id)


def account_link(account_id: str, refresh_url: str, return_url: str) -> str:
    link = _call(
        client().v1.account_links.create,
        {
            "account": account_id,
            "refresh_url": refresh_url,
            "return_url": return_url,
            "type": "account_onboarding",
        },
    )
    return str(link.url)


def account_ready(account_id: str) -> bool:
    account = _call(client().v1.accounts.retrieve, account_id).to_dict()
    return bool(account.get("charges_enabled") or account.get("payouts_enabled"))


def construct_event(payload: bytes, signature: str) -> Any:
    """The verified event; raises ValueError or stripe.SignatureVerificationError."""
    return stripe.Webhook.construct_event(payload, signature, webhook_secret())
