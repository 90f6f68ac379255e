"""A throwaway local PostgreSQL cluster for the tests (and the benchmarks).

initdb + pg_ctl in a temporary directory, listening on a unix socket only (and a free
port number, which names the socket), durability off: it lives for one test session.
initdb refuses to run as root, so as root the cluster belongs to the ``postgres`` user
(``runuser``); the tests connect over the socket with trust authentication as a role
that is neither superuser nor BYPASSRLS, so row-level security applies to them as it
does in production.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

ROLE = "mcu"  # the role the bot connects as: owns its databases, no superuser


def binaries() -> Path | None:
    """The folder holding initdb and pg_ctl: on PATH, or Debian's /usr/lib/postgresql."""
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(os.path.realpath(found)).parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
                      key=lambda p: int(Path(p).parent.parent.name))
    return Path(versions[-1]).parent if versions else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Cluster:
    def __init__(self) -> None:
        self.bin = binaries()
        self.dir: Path | None = None
        self.port = 0
        self._as: list[str] = []

    @property
    def available(self) -> bool:
        return self.bin is not None

    def _run(self, *args: str) -> None:
        assert self.bin is not None
        cmd = [*self._as, str(self.bin / args[0]), *args[1:]]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       timeout=60)

    def start(self) -> str:
        """Create and start the cluster; the URL of its ``postgres`` database as ROLE."""
        self.dir = Path(tempfile.mkdtemp(prefix="mcu-pg-"))
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
            self._as = ["runuser", "-u", "postgres", "--"]
        data = self.dir / "data"
        self.port = _free_port()
        # C collation: ISO times and keys compare byte by byte, as in SQLite
        self._run("initdb", "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
                  "--locale=C", "--no-sync")
        options = (f"-c listen_addresses='' -c unix_socket_directories='{self.dir}'"
                   f" -p {self.port} -c fsync=off -c synchronous_commit=off"
                   " -c full_page_writes=off -c shared_buffers=32MB -c max_connections=200")
        self._run("pg_ctl", "-D", str(data), "-o", options, "-w", "-s",
                  "-l", str(self.dir / "log"), "start")
        self.psql(f"CREATE ROLE {ROLE} LOGIN CREATEDB")
        return self.url("postgres")

    def url(self, database: str, user: str = ROLE) -> str:
        return f"postgresql://{user}@/{database}?host={self.dir}&port={self.port}"

    def psql(self, sql: str, database: str = "postgres") -> None:
        assert self.bin is not None and self.dir is not None
        psql = self.bin / "psql"
        subprocess.run([str(psql), "-h", str(self.dir), "-p", str(self.port), "-U", "postgres",
                        "-d", database, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql],
                       check=True, stdout=subprocess.DEVNULL, timeout=60)

    def stop(self) -> None:
        if self.dir is None:
            return
        try:
            self._run("pg_ctl", "-D", str(self.dir / "data"), "-m", "immediate", "-s", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None
