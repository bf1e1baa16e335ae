"""The Mailer against a real SMTP server (aiosmtpd, in-process): a message sent in two steps
(``start``, all but the final "."; ``finish``, the "." and the server's answer) reaches the
server as smtplib's own ``send_message`` sends it (but for SIZE), a started message that is
abandoned is never delivered, and a failure while starting is the outcome of ``finish``."""

from __future__ import annotations

import smtplib
import socket
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText

import pytest
from aiosmtpd.controller import Controller

from backoffice.notifications import mail
from tests.notifications.test_dispatch import free_port

pytestmark = pytest.mark.one_backend  # no database involved


class Recorder:
    """Keeps what the server received of every accepted message; refuses the recipients in
    ``refuse`` at RCPT."""

    def __init__(self, refuse: frozenset[str] = frozenset()) -> None:
        self.received: list[tuple] = []
        self.refuse = refuse
        self.connections = 0

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self.connections += 1
        session.host_name = hostname
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        self.received.append((envelope.mail_from, tuple(envelope.mail_options),
                              tuple(envelope.rcpt_tos), envelope.original_content))
        return "250 OK"


@pytest.fixture
def server(app, monkeypatch):
    recorder = Recorder(frozenset({"nobody@example.org"}))
    controller = Controller(recorder, hostname="127.0.0.1", port=free_port(),
                            enable_SMTPUTF8=True)
    controller.start()
    monkeypatch.setitem(app.config, "SMTP_HOST", "127.0.0.1")
    monkeypatch.setitem(app.config, "SMTP_PORT", controller.port)
    monkeypatch.setitem(app.config, "SMTP_STARTTLS", False)
    with app.app_context():
        yield recorder, controller.port
    controller.stop()


def message(to: str = "cw@example.org", body: str = "Hello.\n", **headers) -> MIMEMultipart:
    built = MIMEMultipart("alternative")
    built["Subject"] = "Reminder"
    built["From"] = "backoffice@example.org"
    built["To"] = to
    built["Message-ID"] = "<reminder-1@talent-admission-backoffice>"
    for name, value in headers.items():
        built[name] = value
    built.attach(MIMEText(body, "plain", "utf-8"))
    built.set_boundary("==boundary==")  # else each flattening draws its own
    return built


def start(sender: mail.Mailer, built: MIMEMultipart, filename: str) -> None:
    sender.start(filename, mail.Envelope.of(built), lambda: built)


@pytest.mark.parametrize("built", [
    message(),
    message(body=".a line that starts with a dot\n.\n..\nend\n"),
    message(Bcc="hidden@example.org", Cc="copy@example.org"),
], ids=["plain", "leading dots", "bcc and cc"])
def test_a_message_reaches_the_server_as_smtplib_sends_it(server, built):
    recorder, port = server
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        smtp.send_message(built)
    with mail.mailer() as sender:
        sender.send(built, "reminder-1")
    library, ours = recorder.received
    # The one difference: MAIL goes out before the content is built, so it carries no SIZE.
    mail_from, options, recipients, content = library
    assert options == (f"SIZE={len(content)}",)
    assert ours == (mail_from, (), recipients, content)
    assert b"hidden@example.org" not in content


def test_a_non_ascii_address_goes_out_with_smtputf8_where_smtplib_fails(server):
    """smtplib needs a policy that can write UTF-8 headers for an address that is not ASCII,
    and the classic MIME classes' (compat32) cannot: it raises a TypeError, which stopped the
    dispatch at that email on every run. Ours writes the headers as UTF-8 and the server
    receives the message under SMTPUTF8."""
    recorder, port = server
    built = message(to="陳美玲@example.org")
    with smtplib.SMTP("127.0.0.1", port) as smtp, pytest.raises(TypeError):
        smtp.send_message(built)
    with mail.mailer() as sender:
        start(sender, built, "reminder-1")
        sender.finish()
    [(_mail_from, options, recipients, content)] = recorder.received
    assert recipients == ("陳美玲@example.org",)
    assert "SMTPUTF8" in options
    assert "To: 陳美玲@example.org".encode() in content


def test_a_non_ascii_address_without_smtputf8_is_a_mail_error_not_a_crash(server,
                                                                          monkeypatch):
    """A server that does not offer SMTPUTF8: the attempt fails as MailError (retried, then
    failed for all to see), never as an exception that stops the run."""
    recorder, _port = server
    monkeypatch.setattr(smtplib.SMTP, "has_extn", lambda self, name: False)
    with mail.mailer() as sender:
        start(sender, message(to="陳美玲@example.org"), "reminder-1")
        with pytest.raises(mail.MailError, match="SMTPUTF8"):
            sender.finish()
    assert recorder.received == []


def test_nothing_is_delivered_before_finish_and_an_abandoned_message_never(server):
    recorder, _port = server
    with mail.mailer() as sender:
        start(sender, message(to="first@example.org"), "reminder-1")
        assert sender.started == "reminder-1"
        assert recorder.received == []
        sender.abandon()
        assert sender.started is None
        sender.send(message(to="second@example.org"), "reminder-2")
        start(sender, message(to="third@example.org"), "reminder-3")
    # The run ended with the third started: closing the Mailer abandons it too (no QUIT,
    # which the server would read as a line of its content).
    assert [rcpt for _from, _options, rcpt, _content in recorder.received] == [
        ("second@example.org",)]
    assert recorder.connections == 2  # the abandoned message took its connection with it


def test_a_failure_while_starting_is_the_outcome_of_finish(server):
    recorder, _port = server
    with mail.mailer() as sender:
        start(sender, message(to="nobody@example.org"), "reminder-1")  # refused at RCPT
        with pytest.raises(mail.MailError, match="550"):
            sender.finish()
        sender.send(message(), "reminder-2")
    assert [rcpt for _from, _options, rcpt, _content in recorder.received] == [
        ("cw@example.org",)]
    assert recorder.connections == 2  # a fresh connection after the failure


def test_the_final_dot_is_not_held_back_by_nagle(server):
    """``finish`` writes the "." on its own; with Nagle's algorithm on, it waited for the
    server's delayed acknowledgement of the content (43 ms an email here)."""
    with mail.mailer() as sender:
        sender.send(message(), "reminder-1")
        sock = sender._smtp.sock
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)


def test_without_smtp_the_file_is_written_at_finish_only(app, monkeypatch, tmp_path):
    monkeypatch.setitem(app.config, "SMTP_HOST", None)
    monkeypatch.setitem(app.config, "MAIL_OUTBOX_DIR", tmp_path)
    with app.app_context(), mail.mailer() as sender:
        start(sender, message(), "reminder-1")
        assert list(tmp_path.iterdir()) == []
        sender.finish()
        start(sender, message(), "reminder-2")
        sender.abandon()
    assert [path.name for path in tmp_path.iterdir()] == ["reminder-1.eml"]
