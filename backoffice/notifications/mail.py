"""Sending email: SMTP when configured, otherwise ``.eml`` files a newcomer can open."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from pathlib import Path

from flask import current_app


class MailError(Exception):
    """The message could not be handed over; worth trying again later."""


def send(message: EmailMessage, filename: str) -> None:
    """Hand ``message`` to the SMTP server, or write it as ``<outbox>/<filename>.eml``."""
    config = current_app.config
    if not config.get("SMTP_HOST"):
        outbox = Path(config["MAIL_OUTBOX_DIR"])
        outbox.mkdir(parents=True, exist_ok=True)
        # Written whole under a temporary name, then renamed: a reader never sees half a file,
        # and a resend overwrites the same file.
        target = outbox / f"{filename}.eml"
        partial = target.with_suffix(".eml.part")
        partial.write_bytes(bytes(message))
        partial.replace(target)
        return
    try:
        with smtplib.SMTP(config["SMTP_HOST"], config["SMTP_PORT"], timeout=10) as smtp:
            if config.get("SMTP_STARTTLS"):
                smtp.starttls()
            if config.get("SMTP_USERNAME"):
                smtp.login(config["SMTP_USERNAME"], config.get("SMTP_PASSWORD") or "")
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise MailError(f"{type(exc).__name__}: {exc}") from exc
