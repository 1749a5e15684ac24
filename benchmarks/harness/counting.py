"""Exact counts of what requests cost the stores behind octotp.

In this process: SQL statements, write transactions and rows written through SQLAlchemy's engine
events, and Redis round trips through redis-py's connection. On the servers: PostgreSQL's
``pg_stat_database`` and the CPU of a database's backends, Redis's ``INFO commandstats`` and ``INFO
cpu``, and the WAL a database wrote (``pg_walinspect``).
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import redis
from sqlalchemy import Engine, event, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError

_WRITE = re.compile(r"\b(INSERT|UPDATE|DELETE)\b", re.IGNORECASE)
_TABLE = re.compile(r"\b(?:INTO|UPDATE|FROM)\s+\"?(\w+)", re.IGNORECASE)


def is_write(statement: str) -> bool:
    """An INSERT, UPDATE or DELETE, or a CTE that runs one (not ``SELECT ... FOR UPDATE``)."""
    verb = statement.lstrip()[:6].upper()
    return verb in ("INSERT", "UPDATE", "DELETE") or (verb.startswith("WITH") and bool(_WRITE.search(statement)))


def statement_label(statement: str) -> str:
    """``UPDATE octotp_tokens``: the statement's verb and the first table it names."""
    verb = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else "?"
    table = _TABLE.search(statement)
    writes = [w.upper() for w in _WRITE.findall(statement)]
    if verb == "WITH" and writes:  # a CTE: name what it ends with (``WITH ... UPDATE ... INSERT``)
        verb = "WITH " + "+".join(dict.fromkeys(writes))
    return f"{verb} {table.group(1)}" if table else verb


@dataclass
class StatementCounts:
    """What one stretch of requests sent to the database."""

    statements: int = 0
    write_transactions: int = 0
    rows_written: int = 0
    by_label: Counter[str] = field(default_factory=Counter)


class StatementCounter:
    """Counts every statement an engine runs (``before_cursor_execute``), the transactions that wrote
    (a committed ``BEGIN ... COMMIT`` with at least one INSERT/UPDATE/DELETE, or one such statement in
    autocommit) and, on SQLite, the rows they wrote (the connection's ``total_changes``; a statement's
    ``rowcount`` misses RETURNING and CTEs, so other databases' rows come from the server: on
    PostgreSQL ``pg_stat_database``)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.counts = StatementCounts()
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)
        event.listen(engine, "commit", self._commit)
        event.listen(engine, "rollback", self._rollback)

    def take(self) -> StatementCounts:
        """The counts so far, and start again from zero."""
        counts, self.counts = self.counts, StatementCounts()
        return counts

    def _before(self, conn: Connection, cursor: Any, statement: str, *_: Any) -> None:
        self._before_first(conn)
        self.counts.statements += 1
        self.counts.by_label[statement_label(statement)] += 1

    def _after(self, conn: Connection, cursor: Any, statement: str, *_: Any) -> None:
        if not is_write(statement):
            return
        if conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
            self.counts.write_transactions += 1
        else:
            conn.info["capacity_wrote"] = True

    def _commit(self, conn: Connection) -> None:
        if conn.info.pop("capacity_wrote", False):
            self.counts.write_transactions += 1
        self.counts.rows_written += self._changes(conn)

    def _rollback(self, conn: Connection) -> None:
        conn.info.pop("capacity_wrote", None)
        self._changes(conn)  # rolled back: nothing written

    def _changes(self, conn: Connection) -> int:
        """Rows SQLite changed on this connection since the last call (``total_changes``, which
        counts every row an INSERT, UPDATE or DELETE touched, RETURNING or not); 0 elsewhere."""
        dbapi = conn.connection.dbapi_connection
        total = getattr(dbapi, "total_changes", None)
        if not isinstance(total, int):
            return 0
        last = conn.info.get("capacity_changes", total)
        conn.info["capacity_changes"] = total
        return total - last

    def _before_first(self, conn: Connection) -> None:
        dbapi = conn.connection.dbapi_connection
        total = getattr(dbapi, "total_changes", None)
        if isinstance(total, int):
            conn.info.setdefault("capacity_changes", total)


class RedisRoundTrips:
    """Counts the requests redis-py sends (one per command, one per pipeline), while active."""

    def __init__(self) -> None:
        self.count = 0

    @contextlib.contextmanager
    def active(self) -> Iterator[RedisRoundTrips]:
        original = redis.connection.AbstractConnection.send_packed_command

        def counted(connection: Any, command: Any, check_health: bool = True) -> None:
            self.count += 1
            original(connection, command, check_health)

        redis.connection.AbstractConnection.send_packed_command = counted  # type: ignore[method-assign]
        try:
            yield self
        finally:
            redis.connection.AbstractConnection.send_packed_command = original  # type: ignore[method-assign]

    def take(self) -> int:
        count, self.count = self.count, 0
        return count


@dataclass(frozen=True)
class RedisSnapshot:
    """A Redis server's command calls (``INFO commandstats``) and CPU seconds (``INFO cpu``) at one moment."""

    calls: dict[str, int]
    usec: dict[str, int]
    cpu: float
    memory: int

    @classmethod
    def of(cls, client: redis.Redis) -> RedisSnapshot:
        stats = client.info("commandstats")
        cpu = client.info("cpu")
        calls = {name.removeprefix("cmdstat_"): int(value["calls"]) for name, value in stats.items()}
        usec = {name.removeprefix("cmdstat_"): int(value["usec"]) for name, value in stats.items()}
        memory = int(client.info("memory")["used_memory"])
        return cls(calls, usec, float(cpu["used_cpu_user"]) + float(cpu["used_cpu_sys"]), memory)

    def script_usec(self, earlier: RedisSnapshot) -> float:
        """Microseconds Redis spent inside EVALSHA calls per call since ``earlier`` (its own timing)."""
        calls = self.calls.get("evalsha", 0) - earlier.calls.get("evalsha", 0)
        usec = self.usec.get("evalsha", 0) - earlier.usec.get("evalsha", 0)
        return usec / calls if calls else float("nan")

    def since(self, earlier: RedisSnapshot) -> tuple[dict[str, int], float]:
        """Calls per command and CPU seconds between ``earlier`` and this snapshot (the ``INFO`` calls
        themselves left out)."""
        calls = {k: v - earlier.calls.get(k, 0) for k, v in self.calls.items()}
        calls = {k: v for k, v in calls.items() if v and k != "info"}
        return calls, self.cpu - earlier.cpu


_PG_COUNTERS = ("xact_commit", "xact_rollback", "tup_inserted", "tup_updated", "tup_deleted")


class PostgresObserver:
    """Reads one database's counters from another database of the same server (so that reading them
    adds nothing to them); ``target`` (the observed database itself) is only used after the counters
    were read, and let go before the next reading."""

    def __init__(self, admin: Engine, target: Engine) -> None:
        self._engines = (admin, target)
        self.admin = admin.execution_options(isolation_level="AUTOCOMMIT")
        self.target = target.execution_options(isolation_level="AUTOCOMMIT")
        self.database = str(target.url.database)

    def close(self) -> None:
        for engine in self._engines:
            engine.dispose()

    def _scalar(self, sql: str, **params: Any) -> Any:
        with self.admin.connect() as conn:
            return conn.execute(text(sql), params).scalar()

    def counters(self) -> dict[str, int]:
        """``pg_stat_database``'s transaction and row counters. A backend reports them when it ends (or
        at most every few seconds while idle): call ``wait_idle`` first."""
        with self.admin.connect() as conn:
            conn.execute(text("SELECT pg_stat_clear_snapshot()"))
            row = conn.execute(
                text(f"SELECT {', '.join(_PG_COUNTERS)} FROM pg_stat_database WHERE datname = :db"),
                {"db": self.database},
            ).one()
        return dict(zip(_PG_COUNTERS, (int(v) for v in row), strict=True))

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Wait until no backend is connected to the database (so each has reported its counters)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self._scalar("SELECT count(*) FROM pg_stat_activity WHERE datname = :db", db=self.database):
                time.sleep(0.2)  # the last backend's exit report
                return True
            time.sleep(0.1)
        return False

    def backend_cpu(self) -> dict[int, float]:
        """CPU seconds (user + system) of every backend connected to the database, by pid (the
        server must run on this machine)."""
        with self.admin.connect() as conn:
            pids = [
                int(p)
                for p in conn.execute(
                    text("SELECT pid FROM pg_stat_activity WHERE datname = :db"), {"db": self.database}
                ).scalars()
            ]
        return {pid: seconds for pid in pids if (seconds := process_cpu_precise(pid)) is not None}

    def wal_lsn(self) -> str:
        """The server's WAL flush position."""
        return str(self._scalar("SELECT pg_current_wal_flush_lsn()"))

    def enable_wal_reading(self) -> bool:
        """Create ``pg_walinspect`` (PostgreSQL 15+, a superuser) in the observed database; False if
        that is not possible here."""
        try:
            with self.target.connect() as conn:
                conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_walinspect"))
            return True
        except Exception:  # an older server or no privilege: no WAL figures, said in the report
            return False
        finally:
            self.target.dispose()

    @contextlib.contextmanager
    def retaining_wal(self) -> Iterator[None]:
        """Keep the server from recycling WAL while the block runs: a temporary physical replication
        slot (dropped by the server when this session ends, even if this process dies), since on a
        shared server other databases' writes can make a checkpoint remove the segments to be read."""
        with self.admin.connect() as conn:
            conn.execute(
                text("SELECT pg_create_physical_replication_slot(:name, true, true)"),
                {"name": f"octotp_capacity_{os.getpid()}"},
            )
            yield

    def wal_bytes(self, start: str, end: str) -> float:
        """WAL bytes between two positions that belong to the observed database: every record touching
        one of its relations, and the commit records of the transactions that wrote them. The server is
        shared, so records of other databases are left out by the database's OID in each block
        reference."""
        sql = """
            WITH records AS (
                SELECT xid, record_length, block_ref, resource_manager
                FROM pg_get_wal_records_info(CAST(:start AS pg_lsn), CAST(:end AS pg_lsn))
            ), ours AS (
                SELECT xid, record_length FROM records WHERE block_ref LIKE :pattern
            )
            SELECT coalesce((SELECT sum(record_length) FROM ours), 0)
                 + coalesce((SELECT sum(record_length) FROM records
                             WHERE resource_manager = 'Transaction'
                               AND xid <> '0' AND xid IN (SELECT xid FROM ours)), 0)
        """
        try:
            with self.target.connect() as conn:
                oid = conn.execute(text("SELECT oid FROM pg_database WHERE datname = current_database()")).scalar()
                found = conn.execute(text(sql), {"start": start, "end": end, "pattern": f"%/{oid}/%"}).scalar()
        except OperationalError as exc:  # e.g. the segments were recycled after all: no figure, said so
            print(f"warning: no WAL figure: {str(exc.orig).strip()}", file=sys.stderr)
            return float("nan")
        finally:
            self.target.dispose()
        return float(found)

    def table_bytes(self, table: str) -> tuple[int, int, int]:
        """``table``'s rows, heap bytes and index bytes (after ``ANALYZE``, exact row count)."""
        try:
            with self.target.connect() as conn:
                conn.execute(text(f"ANALYZE {table}"))
                rows = conn.execute(text(f"SELECT count(*) FROM {table}")).scalar()
                heap = conn.execute(text("SELECT pg_table_size(CAST(:t AS regclass))"), {"t": table}).scalar()
                index = conn.execute(text("SELECT pg_indexes_size(CAST(:t AS regclass))"), {"t": table}).scalar()
        finally:
            self.target.dispose()
        return int(rows), int(heap), int(index)


def process_cpu_precise(pid: int) -> float | None:
    """CPU seconds of a single-threaded process, to the nanosecond (``/proc/<pid>/schedstat``: a
    PostgreSQL backend spends a fraction of a clock tick per request, below ``/proc/<pid>/stat``'s
    resolution); psutil's tick-grained figure where schedstat is missing; None once it is gone."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0]) / 1e9
    with contextlib.suppress(psutil.Error):
        times = psutil.Process(pid).cpu_times()
        return float(times.user + times.system)
    return None


def delta(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    """``after - before``, counter by counter."""
    return {key: after[key] - before.get(key, 0) for key in after}


def cpu_delta(after: dict[int, float], before: dict[int, float]) -> float:
    """CPU seconds the processes spent between two ``backend_cpu`` readings (a new one counts in full)."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())
