"""Outgoing e-mail: SMTP when MAIL_SERVER is set, otherwise written to the log."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

from flask import current_app


def send(to: str, subject: str, body: str) -> None:
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_FROM"]
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    server = current_app.config.get("MAIL_SERVER")
    if not server:
        current_app.logger.info("mail to %s: %s\n%s", to, subject, body)
        outbox = current_app.extensions.setdefault("mail_outbox", [])
        outbox.append(message)
        del outbox[:-50]  # keep the last few, for tests and the demo
        return
    with smtplib.SMTP(server, current_app.config["MAIL_PORT"], timeout=10) as smtp:
        smtp.send_message(message)
