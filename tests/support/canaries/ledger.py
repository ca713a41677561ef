"""The run's ledger: every harvested canary, every observation scanned, and what was found where.

One ledger (``LEDGER``) serves the whole run: the support code hands it what the tests give the hub
and what the hub answers, writes and logs; the pytest plugin tells it which test is running and
turns a test's findings into that test's error. A test of the scanner itself builds its own.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.canaries import harvest
from tests.support.canaries.dbscan import DatabaseScanner
from tests.support.canaries.needles import (
    DATABASE,
    EVERYWHERE,
    LOG,
    MIN_LENGTH,
    OUTPUT,
    RESPONSE,
    Canary,
    Needles,
    scan,
)

#: Observations made outside any test (collection, session start) are filed under this name.
SESSION = "(outside any test)"


@dataclass(frozen=True)
class Finding:
    canary: Canary
    where: str
    test: str

    def __str__(self) -> str:
        return f"{self.canary.masked()}, {self.canary.source}: found in {self.where}"


class Ledger:
    def __init__(self) -> None:
        self.needles = Needles()
        self.canaries: dict[str, Canary] = {}
        self.public: set[str] = set()
        self.current = SESSION
        self.findings: dict[str, list[Finding]] = {}
        self.counts: Counter[str] = Counter()
        #: Seconds spent harvesting and scanning, by kind: the check's own cost.
        self.cost: defaultdict[str, float] = defaultdict(float)
        self.databases = DatabaseScanner()
        self._watched: dict[Path, str] = {}
        self._lock = threading.Lock()

    # -- harvesting ---------------------------------------------------------------------------
    def harvest(
        self,
        value: object,
        source: str,
        *,
        scopes: Iterable[str] = EVERYWHERE,
        raw: bytes | None = None,
        hexed: bool = True,
    ) -> Canary | None:
        """Remember ``value`` as a secret to look for from now on; ``None`` if it is too short or public."""
        if not isinstance(value, str) or len(value) < MIN_LENGTH or value in self.public:
            return None
        with self._lock:
            if value in self.canaries:
                return self.canaries[value]
            started = time.perf_counter()
            canary = Canary(value, source, frozenset(scopes), raw, hexed)
            self.canaries[value] = canary
            self.needles.add(canary)
            self.cost["harvest"] += time.perf_counter() - started
            return canary

    def add_public(self, value: str) -> None:
        with self._lock:
            if value not in self.public and value not in self.canaries:
                self.public.add(value)
                self.needles.add_public(value)

    def harvest_request(self, request: httpx.Request) -> None:
        started = time.perf_counter()
        secrets, public = harvest.secrets_in_request(request)
        for value in public:
            self.add_public(value)
        self.cost["harvest"] += time.perf_counter() - started
        for value in secrets:
            self.harvest(value, f"sent to {request.method} {self.path_label(request.url.path)}")

    def harvest_env(self, env: dict[str, str] | dict[str, str | None], where: str) -> None:
        for name, value, raw in harvest.secrets_in_env(env):
            self.harvest(value, f"{name} of {where}", raw=raw)

    def harvest_files(self, paths: Iterable[Path]) -> None:
        for path in paths:
            for value in sorted(harvest.secrets_in_source(path)):
                self.harvest(value, f"written in {path.name}")

    def path_label(self, path: str) -> str:
        """``path`` for a report: a segment holding a secret (a key pasted into a URL) is cut to 8 characters."""
        segments = path.split("/")
        for n, segment in enumerate(segments):
            if harvest.SECRET_SHAPE.search(segment) or self.needles.find(segment.encode()):
                segments[n] = segment[:8] + "…"
        return "/".join(segments)

    # -- observing ----------------------------------------------------------------------------
    def check(self, data: str | bytes, scope: str, where: str) -> list[Finding]:
        """Scan one observation; what is found is filed under the running test."""
        return self._file(self._scan(data, scope, where))

    def _scan(self, data: str | bytes, scope: str, where: str) -> list[Finding]:
        started = time.perf_counter()
        found = [Finding(canary, where, self.current) for canary, _ in scan(self.needles, data, scope)]
        self.cost[scope] += time.perf_counter() - started
        return found

    def _file(self, found: list[Finding]) -> list[Finding]:
        if found:
            with self._lock:
                self.findings.setdefault(self.current, []).extend(found)
        return found

    def observe_response(self, response: httpx.Response) -> list[Finding]:
        """A response the tests got from the hub: status, headers and body."""
        request = response.request
        head = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
        where = f"the response to {request.method} {self.path_label(request.url.path)} ({response.status_code})"
        return self.observe_page(head.encode() + b"\n" + response.content, where)

    def observe_page(self, data: str | bytes, where: str) -> list[Finding]:
        """Something the hub answered, however the test got it (a response, a page a browser shows)."""
        self.counts["responses"] += 1
        found = self.check(data, RESPONSE, where)
        # What the hub issues itself (API keys, notification secrets) may be shown in an answer, by
        # contract; from here on it is looked for everywhere else.
        text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
        for value in harvest.ISSUED_SHAPE.findall(text):
            api_key = value.startswith("hub_")  # by the thousand, and only their digests are stored
            self.harvest(value, f"issued in {where}", scopes=EVERYWHERE - {RESPONSE}, hexed=not api_key)
        return found

    def observe_log(self, text: str, where: str) -> list[Finding]:
        self.counts["log records"] += 1
        return self.check(text, LOG, where)

    def observe_output(self, data: str | bytes, where: str) -> list[Finding]:
        """What a process (a hub process, the CLI, the test run itself) wrote to stdout/stderr."""
        self.counts["outputs"] += 1
        return self.check(data, OUTPUT, where)

    def watch_file(self, path: Path, where: str) -> None:
        """A process's output file, scanned when the test that started it ends (``scan_watched``)."""
        self._watched[path] = where

    def scan_watched(self) -> None:
        watched, self._watched = self._watched, {}
        for path, where in watched.items():
            if path.exists():
                self.observe_output(path.read_bytes(), where)

    async def scan_database(self, url: str, *, keep: bool = True) -> list[Finding]:
        """Every byte or row the database holds now (what the test changed, for a SQLite file).

        ``keep=False`` for a database about to be dropped: nothing of it is kept for the next scan.
        """
        self.counts["database scans"] += 1
        started = time.perf_counter()
        parts = await self.databases.contents(url, keep=keep)
        self.cost[DATABASE] += time.perf_counter() - started
        found: list[Finding] = []
        for part in parts:
            for hit in self._scan(part.data, DATABASE, part.where):
                where = f"{hit.where}, in {part.locate(hit.canary, self.needles)}" if part.locate else hit.where
                found.append(Finding(hit.canary, where, hit.test))
        return self._file(found)

    def scan_database_blocking(self, url: str, *, keep: bool = True) -> list[Finding]:
        """``scan_database`` from synchronous code, inside a running event loop or not."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(self.scan_database(url, keep=keep))
        result: list[list[Finding]] = []
        worker = threading.Thread(target=lambda: result.append(asyncio.run(self.scan_database(url, keep=keep))))
        worker.start()
        worker.join()
        return result[0] if result else []

    # -- reporting ----------------------------------------------------------------------------
    def take(self, test: str) -> list[Finding]:
        """The distinct findings filed under ``test``, removed from the ledger."""
        with self._lock:
            return distinct(self.findings.pop(test, []))


def distinct(findings: Iterable[Finding]) -> list[Finding]:
    """One finding per secret and place, in the order found."""
    seen: dict[tuple[str, str], Finding] = {}
    for f in findings:
        seen.setdefault((f.canary.value, f.where), f)
    return list(seen.values())


def report(findings: list[Finding], *, most: int = 30) -> str:
    """What a test's error says: each secret (masked), where it was harvested, and where it was found."""
    lines = [f"canary secrets found ({len(findings)}):"]
    lines += [f"  {f}" for f in findings[:most]]
    if len(findings) > most:
        lines.append(f"  … and {len(findings) - most} more")
    return "\n".join(lines)


#: The one ledger of this run.
LEDGER = Ledger()

__all__ = ["LEDGER", "SESSION", "Finding", "Ledger", "distinct", "report"]
