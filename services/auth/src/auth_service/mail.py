"""Mail: what auth writes (plain text plus HTML, the link and the code in both) and how it leaves
(SMTP, with STARTTLS and a login when the settings ask for them)."""

from __future__ import annotations

import html
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from string import Template

import aiosmtplib


@dataclass(frozen=True)
class Mail:
    subject: str
    text: str
    html: str


_HTML = Template(
    """<!doctype html>
<html><body style="font-family: sans-serif; line-height: 1.5">
<p>Hello $username,</p>
<p>$intro</p>
$action
<p style="color: #666">$outro</p>
</body></html>
"""
)
_ACTION = Template(
    """<p><a href="$link" style="font-weight: bold">$label</a></p>
<p>Or paste this code: <code>$code</code></p>
"""
)


def _compose(
    *,
    username: str,
    subject: str,
    intro: str,
    outro: str,
    link: str = "",
    label: str = "",
    code: str = "",
) -> Mail:
    text = f"Hello {username},\n\n{intro}\n\n"
    action = ""
    if link:
        text += f"{label}: {link}\n\nOr paste this code: {code}\n\n"
        action = _ACTION.substitute(
            link=html.escape(link), label=html.escape(label), code=html.escape(code)
        )
    text += f"{outro}\n"
    body = _HTML.substitute(
        username=html.escape(username),
        intro=html.escape(intro),
        action=action,
        outro=html.escape(outro),
    )
    return Mail(subject=subject, text=text, html=body)


def verification_mail(*, username: str, link: str, code: str) -> Mail:
    return _compose(
        username=username,
        subject="Confirm your email address",
        intro="Please confirm that this is your email address. The link works once, for 24 hours.",
        label="Confirm my email",
        link=link,
        code=code,
        outro="If you did not create an account, ignore this message.",
    )


def reset_mail(*, username: str, link: str, code: str) -> Mail:
    return _compose(
        username=username,
        subject="Reset your password",
        intro="Someone asked to reset your password. The link works once, for 30 minutes.",
        label="Choose a new password",
        link=link,
        code=code,
        outro="If it was not you, ignore this message: your password stays as it is.",
    )


def password_changed_mail(*, username: str) -> Mail:
    return _compose(
        username=username,
        subject="Your password was changed",
        intro="Your password was just reset, and every session of your account was ended.",
        outro="If it was not you, reset your password now and tell your administrator.",
    )


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    sender: str
    username: str | None = None
    password_file: Path | None = None
    starttls: bool = False
    timeout_seconds: float = 10.0


class SmtpMailer:
    """Sends one message per connection: mail is rare, and a fresh connection never goes stale."""

    def __init__(self, config: SmtpConfig) -> None:
        self._config = config

    async def send(self, *, recipient: str, mail: Mail) -> None:
        """Raises when the server does not accept it (the caller's event is then retried)."""
        config = self._config
        message = EmailMessage()
        message["From"] = config.sender
        message["To"] = recipient
        message["Subject"] = mail.subject
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = make_msgid(domain="suite.local")
        message.set_content(mail.text)
        message.add_alternative(mail.html, subtype="html")
        password = config.password_file.read_text().strip() if config.password_file else None
        await aiosmtplib.send(
            message,
            hostname=config.host,
            port=config.port,
            username=config.username,
            password=password,
            start_tls=config.starttls,
            timeout=config.timeout_seconds,
        )
