"""Sending email: SMTP when configured, otherwise ``.eml`` files a newcomer can open."""

from __future__ import annotations

import copy
import email.generator
import email.policy
import email.utils
import io
import re
import smtplib
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from email.message import Message
from pathlib import Path

from flask import current_app


class MailError(Exception):
    """The message could not be handed over; worth trying again later."""


@dataclass(frozen=True)
class Envelope:
    """Whom a message is from and to, as SMTP's MAIL and RCPT commands give them."""

    sender: str
    recipients: tuple[str, ...]

    @classmethod
    def of_headers(cls, sender: str, recipients: list[str]) -> Envelope:
        """From header values ("Name <address>" or a bare address), as smtplib's
        ``send_message`` takes them."""
        return cls(email.utils.getaddresses([sender])[0][1],
                   tuple(address for _name, address in email.utils.getaddresses(recipients)))

    @classmethod
    def of(cls, message: Message) -> Envelope:
        """From ``message``'s headers: its Sender or From; its To, Bcc and Cc."""
        return cls.of_headers(message["Sender"] or message["From"],
                              [field for field in (message["To"], message["Bcc"], message["Cc"])
                               if field])


class Mailer:
    """Hands messages to one SMTP connection, opened on first use and kept for a batch
    (opening a connection per message cost four times the sending).

    A message goes out in two steps: ``start`` sends all of it but the final "." (the
    envelope, DATA and the content), ``finish`` sends the "." and reads the server's answer,
    the only moment the server accepts the message. The dispatch puts the previous email's
    "sent" commit between the two (``services.deliver_and_take``). ``send`` is both at once.
    """

    def __init__(self) -> None:
        self._smtp: smtplib.SMTP | None = None
        self._started: str | None = None  # the file name of the message awaiting its "."
        self._message: Message | None = None  # that message, while it waits without SMTP
        self._failure: MailError | None = None  # what went wrong starting it

    @property
    def started(self) -> str | None:
        """The file name of the message started and not yet finished (None: there is none)."""
        return self._started

    def send(self, message: Message, filename: str) -> None:
        """Send ``message``, or write it as ``<outbox>/<filename>.eml`` without SMTP."""
        self.start(filename, Envelope.of(message), lambda: message)
        self.finish()

    def start(self, filename: str, envelope: Envelope, build: Callable[[], Message]) -> None:
        """Hand over everything of the message ``build`` makes, for ``envelope``, but the
        final "." that asks the server to accept it. Nothing is delivered until ``finish``,
        which also raises what went wrong here (so a failure is the outcome of the one
        attempt, whenever it showed). ``build`` runs while the server answers MAIL."""
        self.abandon()
        self._started = filename
        if not current_app.config.get("SMTP_HOST"):
            try:
                self._message = build()
            except Exception as exc:  # see _BuildError
                self._failure = _build_failure(filename, exc)
            return
        try:
            _send_all_but_the_end(self._connection(), envelope, _reported(build))
        except (OSError, smtplib.SMTPException) as exc:
            self._failure = MailError(f"{type(exc).__name__}: {exc}")
            self._drop_connection()  # the next message starts on a fresh connection
        except _BuildError as exc:
            self._failure = _build_failure(filename, exc.__cause__)
            self._drop_connection()  # MAIL was sent: the connection is mid-transaction

    def finish(self) -> None:
        """The started message's final ".": it is accepted when this returns. MailError if
        it was refused, or could not be handed over."""
        filename, message, failure = self._started, self._message, self._failure
        self._started = self._message = self._failure = None
        if filename is None:
            raise RuntimeError("finish() without start()")
        if failure is not None:
            raise failure
        if message is not None:  # no SMTP
            _write_eml(Path(current_app.config["MAIL_OUTBOX_DIR"]), message, filename)
            return
        try:
            self._smtp.send(b".\r\n")
            code, reply = self._smtp.getreply()
            if code != 250:
                raise smtplib.SMTPDataError(code, reply)
        except (OSError, smtplib.SMTPException) as exc:
            self.close()
            raise MailError(f"{type(exc).__name__}: {exc}") from exc

    def abandon(self) -> None:
        """Drop the started message unsent. Its connection is closed before the "." (any
        command now would be read as part of its content): a server takes a message on only
        by its answer to the final "." (RFC 5321, 4.1.1.4 and 6.1), so it is never delivered
        (tests/notifications/test_mail.py)."""
        if self._started is not None and self._message is None and self._failure is None:
            self._drop_connection()
        self._started = self._message = self._failure = None

    def _connection(self) -> smtplib.SMTP:
        if self._smtp is None:
            config = current_app.config
            smtp = smtplib.SMTP(config["SMTP_HOST"], config["SMTP_PORT"], timeout=10)
            # The final "." is a write of its own (``finish``): without this, Nagle's algorithm
            # holds it until the server acknowledges the content, which a server delays by up
            # to 40 ms (measured here: 43 ms an email instead of 0.3).
            smtp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if config.get("SMTP_STARTTLS"):
                smtp.starttls()
            if config.get("SMTP_USERNAME"):
                smtp.login(config["SMTP_USERNAME"], config.get("SMTP_PASSWORD") or "")
            self._smtp = smtp
        return self._smtp

    def _drop_connection(self) -> None:
        """Close the connection without QUIT (inside a message's content it would be read
        as a line of it)."""
        if self._smtp is not None:
            with suppress(OSError):
                self._smtp.close()
            self._smtp = None

    def close(self) -> None:
        self.abandon()
        if self._smtp is not None:
            with suppress(OSError, smtplib.SMTPException):
                self._smtp.quit()
            self._smtp = None


class _BuildError(Exception):
    """The message could not be built (a fault in its data or in this code). It is the
    attempt's outcome, retried with backoff and then failed for all to see, like a refusal:
    raised through the dispatch, it stopped the run at that email, and every run after it."""


def _reported(build: Callable[[], Message]) -> Callable[[], Message]:
    def built() -> Message:
        try:
            return build()
        except Exception as exc:
            raise _BuildError from exc
    return built


def _build_failure(filename: str, exc: BaseException | None) -> MailError:
    current_app.logger.exception("message %s could not be built", filename, exc_info=exc)
    return MailError(f"the message could not be built: {type(exc).__name__}: {exc}")


def _send_all_but_the_end(smtp: smtplib.SMTP, envelope: Envelope,
                          build: Callable[[], Message]) -> None:
    """What ``smtplib.SMTP.send_message`` sends (Resent- headers aside: this app writes
    none), up to and without the final "." of the content: MAIL with SMTPUTF8 for an address
    that is not ASCII, a RCPT for each recipient, DATA, and the content without its Bcc
    header and with its leading dots doubled. tests/notifications/test_mail.py compares what
    a server receives from both.

    Each command is still answered before the next is sent (the server need not offer
    PIPELINING), but the message is built while the server answers MAIL, and flattened while
    it answers the first RCPT: 0.4-0.8 ms an email that the dispatch otherwise waited and
    then computed, on a machine with a core to spare for the server (none on a busy one;
    bench_dispatch.py). So MAIL carries no SIZE, which RFC 1870 leaves to the client: the
    content does not exist yet; a server still enforces its limit at the end.
    """
    smtp.ehlo_or_helo_if_needed()
    sender, recipients = envelope.sender, envelope.recipients
    international = not "".join([sender, *recipients]).isascii()
    options = ""
    if international:
        if not smtp.has_extn("smtputf8"):
            raise smtplib.SMTPNotSupportedError(
                "an address needs SMTPUTF8, which the server does not offer")
        smtp.command_encoding = "utf-8"  # as smtplib.SMTP.mail does for SMTPUTF8
        options = " SMTPUTF8 BODY=8BITMIME"
    smtp.putcmd("mail", f"from:{smtplib.quoteaddr(sender)}{options}")
    message = build()
    code, reply = smtp.getreply()
    if code != 250:
        raise smtplib.SMTPSenderRefused(code, reply, sender)
    data, refused = None, {}
    for recipient in recipients:
        smtp.putcmd("rcpt", f"to:{smtplib.quoteaddr(recipient)}")
        if data is None:
            data = _content(message, international)
        code, reply = smtp.getreply()
        if code not in (250, 251):
            refused[recipient] = (code, reply)
        if code == 421:  # the server is closing the connection
            raise smtplib.SMTPRecipientsRefused(refused)
    if len(refused) == len(recipients):
        raise smtplib.SMTPRecipientsRefused(refused)
    code, reply = smtp.docmd("data")
    if code != 354:
        raise smtplib.SMTPDataError(code, reply)
    smtp.send(data)


def _content(message: Message, international: bool) -> bytes:
    """The message as DATA carries it, but for its final ".": CRLF line ends, Bcc left out,
    leading dots doubled, a CRLF at the end."""
    if "Bcc" in message:
        message = copy.copy(message)
        del message["Bcc"]
    with io.BytesIO() as content:
        # smtplib clones the message's policy with utf8=True, which the classic MIME
        # classes' compat32 policy cannot do: a TypeError that stopped the dispatch run at
        # that email, every run. The SMTPUTF8 policy writes the headers as UTF-8.
        policy = email.policy.SMTPUTF8 if international else None
        email.generator.BytesGenerator(content, policy=policy).flatten(message, linesep="\r\n")
        data = re.sub(rb"(?m)^\.", b"..", content.getvalue())
    return data if data.endswith(b"\r\n") else data + b"\r\n"


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
