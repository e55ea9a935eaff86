"""Credentials never reach a screen or a log: URLs are shown with their secrets replaced.

Operators put credentials in URLs (``NEWSFLOW_ES_URL=https://user:pass@host``), and
client libraries copy URLs into their error messages. Every URL we print or log goes
through ``redact_url``; free text that may quote one (an exception message) goes
through ``redact_text``; ``RedactingFilter`` does the same for every log record the
CLI writes, as a last line of defence.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MASK = "***"
# Query parameters that carry a secret rather than say what is asked for.
SECRET_PARAMS = frozenset(
    {
        "access_token",
        "api_key",
        "apikey",
        "auth",
        "key",
        "password",
        "passwd",
        "pwd",
        "secret",
        "sig",
        "signature",
        "token",
        "x-amz-signature",
        "x-amz-credential",
        "x-amz-security-token",
    }
)
# scheme://userinfo@ anywhere in a text; userinfo runs to the last '@' before a '/' or blank.
# A password holding an unencoded '/' ("user:pa/ss@host") ends the authority early by the URL
# rules, so the host would read "user" and the path "/ss@host": a "user:" followed by text up
# to an '@' is userinfo too when that text is more than a port ("host:8443/@name" is a path).
_USERINFO = re.compile(
    r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]*://)"
    r"(?P<userinfo>[^/\s'\"<>]+|[^/\s'\"<>@:]*:[^\s'\"<>@]*[^\s'\"<>@0-9/][^\s'\"<>@]*)@"
)
_SECRET_NAMES = "|".join(re.escape(p) for p in sorted(SECRET_PARAMS))
_SECRET_QUERY = re.compile(rf"(?P<name>[?&](?:{_SECRET_NAMES}))=(?P<value>[^&\s#'\"]*)", re.IGNORECASE)


def _mask_userinfo(userinfo: str) -> str:
    user, sep, _password = userinfo.partition(":")
    # "user:pass" keeps the user name (it helps to know which account); a lone token is all secret.
    return f"{user}:{MASK}" if sep and user else MASK


def redact_url(url: str) -> str:
    """``url`` with the password (or a bare token) of its userinfo and secret query values masked."""
    url = _USERINFO.sub(lambda m: f"{m['scheme']}{_mask_userinfo(m['userinfo'])}@", url, count=1)
    try:
        parts = urlsplit(url)
    except ValueError:
        return redact_text(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        netloc = f"{_mask_userinfo(userinfo)}@{hostport}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(name.lower() in SECRET_PARAMS for name, _ in pairs):
            query = urlencode([(n, MASK if n.lower() in SECRET_PARAMS else v) for n, v in pairs], safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def redact_text(text: str) -> str:
    """``text`` with the credentials of every URL it quotes masked (userinfo and secret parameters)."""
    masked = _USERINFO.sub(lambda m: f"{m['scheme']}{_mask_userinfo(m['userinfo'])}@", text)
    return _SECRET_QUERY.sub(lambda m: f"{m['name']}={MASK}", masked)


class RedactingFilter(logging.Filter):
    """Masks URL credentials in a record's final message (arguments included)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_text(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        # A logged traceback quotes exception messages, which quote URLs: it is formatted here,
        # masked, and kept where the formatter looks for it first.
        if record.exc_info:
            text = record.exc_text or logging.Formatter().formatException(record.exc_info)
            record.exc_text = redact_text(text)
        return True
