"""``storage.url``: which database, checked before anything connects; shown masked."""

from __future__ import annotations

from urllib.parse import urlsplit

POSTGRES = ("postgresql://", "postgres://")


def check_storage_url(value: str) -> str:
    """A PostgreSQL URL naming a database, ``sqlite:PATH`` or nothing; the error says
    what is wrong and never repeats the URL (it may hold a password)."""
    if not value or value.startswith("sqlite:"):
        return value
    if not value.startswith(POSTGRES):
        raise ValueError("expected postgresql://USER@HOST:PORT/DATABASE or sqlite:PATH, "
                         f"got a URL of scheme {value.split(':', 1)[0]!r}")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - a port that is not a number raises here
    except ValueError:
        raise ValueError("not a valid postgresql:// URL: expected "
                         "postgresql://USER@HOST:PORT/DATABASE") from None
    if not parts.path.strip("/"):
        raise ValueError("the postgresql:// URL names no database: put it after the "
                         "host, as postgresql://USER@HOST:PORT/DATABASE")
    return value


def masked(url: str) -> str:
    """The URL as printed: its password replaced by ***."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()
