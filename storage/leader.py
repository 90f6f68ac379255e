"""Which of several processes of one municipality does the work (failover).

Two processes may run for the same municipality (two hosts, or a spare beside the
first); only one may poll Telegram, deliver the outbox and run the schedule. It is the
one holding the municipality's lock:

* PostgreSQL: a session advisory lock on a connection of its own. When the process
  dies, even by SIGKILL, its connection closes and the server releases the lock; the
  standby, trying every ``interval`` seconds, takes it. TCP keepalives make the server
  notice a host that vanished; the leader checks its lock connection every ``interval``
  and gives up leading when it is gone (the server may have released the lock already).
* SQLite: an exclusive ``flock`` on ``<database>.lock`` beside the file; the kernel
  releases it when the process dies.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
from pathlib import Path

from storage import pg

_LEADER = 7_150_002  # advisory lock class; the second key is the municipality's hash
_TCP = {"tcp_keepalives_idle": "5", "tcp_keepalives_interval": "2",
        "tcp_keepalives_count": "3"}


class Leadership:
    def __init__(self, target: str, municipality: str, postgres: bool):
        self.target = target
        self.municipality = municipality
        self.postgres = postgres
        self._conn: pg.PgConn | None = None
        self._fd: int | None = None

    async def _try(self) -> bool:
        if not self.postgres:
            if self.target == ":memory:":
                return True  # private to this process: nobody to share it with
            if self._fd is None:
                path = Path(self.target + ".lock")
                path.parent.mkdir(parents=True, exist_ok=True)
                self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            return True
        if self._conn is None:
            self._conn = await pg.connect(self.target, self.municipality, extra=_TCP)
        return bool(await self._conn.raw.fetchval(
            "SELECT pg_try_advisory_lock($1, hashtext($2))", _LEADER, self.municipality))

    async def try_lead(self) -> bool:
        """Take the lock if nobody holds it; do not wait."""
        return await self._try()

    async def acquire(self, stop: asyncio.Event, interval: float = 1.0,
                      waiting: object = None) -> bool:
        """Wait until this process leads (True) or ``stop`` is set (False). ``waiting`` is
        called once when another process leads."""
        told = False
        while not stop.is_set():
            try:
                if await self._try():
                    return True
            except (OSError, pg.asyncpg.PostgresError, pg.asyncpg.InterfaceError):
                await self._drop()  # the server is away: try again with a new connection
            if not told and callable(waiting):
                waiting()
                told = True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)
        return False

    async def held(self, patience: float = 5.0) -> bool:
        """Whether the lock is still ours (PostgreSQL: its connection answers)."""
        if not self.postgres:
            return True
        if self._conn is None:
            return False
        try:
            await asyncio.wait_for(self._conn.raw.fetchval("SELECT 1"), patience)
        except (TimeoutError, OSError, pg.asyncpg.PostgresError, pg.asyncpg.InterfaceError):
            return False
        return True

    async def _drop(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.raw.close(timeout=2)
            self._conn = None

    async def release(self) -> None:
        await self._drop()  # the session ends: its advisory lock with it
        if self._fd is not None:
            os.close(self._fd)  # the flock goes with the last descriptor
            self._fd = None
