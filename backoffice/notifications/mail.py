"""Sending email: SMTP when configured, otherwise ``.eml`` files a newcomer can open."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from email.message import Message
from pathlib import Path

from flask import current_app


class MailError(Exception):
    """The message could not be handed over; worth trying again later."""


class Mailer:
    """Hands messages to one SMTP connection, opened on first use and kept for a batch
    (opening a connection per message cost four times the sending)."""

    def __init__(self) -> None:
        self._smtp: smtplib.SMTP | None = None

    def send(self, message: Message, filename: str) -> None:
        """Send ``message``, or write it as ``<outbox>/<filename>.eml`` without SMTP."""
        config = current_app.config
        if not config.get("SMTP_HOST"):
            _write_eml(Path(config["MAIL_OUTBOX_DIR"]), message, filename)
            return
        try:
            self._connection().send_message(message)
        except (OSError, smtplib.SMTPException) as exc:
            self.close()  # the next message starts on a fresh connection
            raise MailError(f"{type(exc).__name__}: {exc}") from exc

    def _connection(self) -> smtplib.SMTP:
        if self._smtp is None:
            config = current_app.config
            smtp = smtplib.SMTP(config["SMTP_HOST"], config["SMTP_PORT"], timeout=10)
            if config.get("SMTP_STARTTLS"):
                smtp.starttls()
            if config.get("SMTP_USERNAME"):
                smtp.login(config["SMTP_USERNAME"], config.get("SMTP_PASSWORD") or "")
            self._smtp = smtp
        return self._smtp

    def close(self) -> None:
        if self._smtp is not None:
            with suppress(OSError, smtplib.SMTPException):
                self._smtp.quit()
            self._smtp = None


@contextmanager
def mailer() -> Iterator[Mailer]:
    sender = Mailer()
    try:
        yield sender
    finally:
        sender.close()


def send(message: Message, filename: str) -> None:
    """Send one message on its own connection."""
    with mailer() as sender:
        sender.send(message, filename)


def _write_eml(outbox: Path, message: Message, filename: str) -> None:
    outbox.mkdir(parents=True, exist_ok=True)
    # Written whole under a temporary name, then renamed: a reader never sees half a file,
    # and a resend overwrites the same file.
    target = outbox / f"{filename}.eml"
    partial = target.with_suffix(".eml.part")
    partial.write_bytes(bytes(message))
    partial.replace(target)
