"""Every log line the suite writes is scanned for secrets and personal data (issue #9).

A handler on the root logger formats each record exactly as production writes it (`JsonFormatter`, at the
configured level) and looks for:
- secrets: the suite's passwords and signing key, anything shaped like a JWT, and every value
  `secrets.token_urlsafe` handed out during the run (client secrets, webhook secrets, demo passwords,
  generated signing keys);
- personal data: 居民身份证号码 with a valid check character, and mainland mobile numbers.
The conftest fails the run at the end if any line held one, naming the test and the line.
"""

import logging
import os
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

from app.core.logging import JsonFormatter
from app.services.calculators.national_id import check_character

_JWT = re.compile(r"eyJ[\w-]{8,}\.eyJ[\w-]{8,}")
# Not right after "/" or "-": a path segment is a (fuzzed) row id, and ids are logged with their paths.
_NATIONAL_ID = re.compile(r"(?<![0-9A-Za-z/-])(\d{17})([0-9Xx])(?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?<![0-9A-Za-z/-])1[3-9]\d{9}(?![0-9A-Za-z])")


@dataclass
class Finding:
    test: str
    what: str
    line: str


@dataclass
class LogScan:
    fixed_secrets: tuple[str, ...]
    minted: set[str] = field(default_factory=set)
    findings: list[Finding] = field(default_factory=list)
    lines: int = 0

    def scan(self, line: str) -> None:
        self.lines += 1
        found = [f"secret {s[:4]}…" for s in (*self.fixed_secrets, *self.minted) if s in line]
        found += ["a JWT" for _ in _JWT.finditer(line)]
        found += [
            f"national ID {m[1][:6]}…" for m in _NATIONAL_ID.finditer(line) if check_character(m[1]) == m[2].upper()
        ]
        found += [f"mobile {m[0][:3]}…" for m in _MOBILE.finditer(line)]
        test = os.environ.get("PYTEST_CURRENT_TEST", "(outside a test)")
        self.findings += [Finding(test, what, line[:300]) for what in found]

    def report(self) -> str:
        listed = "\n".join(f"- {f.test}: {f.what} in {f.line}" for f in self.findings[:20])
        return f"{len(self.findings)} log line(s) of {self.lines} hold secrets or personal data:\n{listed}"


class ScanHandler(logging.Handler):
    def __init__(self, scan: LogScan) -> None:
        super().__init__(level=logging.NOTSET)
        self._scan = scan
        # Held, not set as this handler's formatter: configure_logging drops handlers with a JsonFormatter.
        self._json = JsonFormatter()

    def emit(self, record: logging.LogRecord) -> None:
        self._scan.scan(self._json.format(record))


def recording_token_urlsafe(scan: LogScan, original: Callable[..., str]) -> Callable[..., str]:
    def token_urlsafe(nbytes: int | None = None) -> str:
        value = original(nbytes)
        if len(value) >= 12:  # shorter values are not used as secrets and would match by chance
            scan.minted.add(value)
        return value

    return token_urlsafe


def install(fixed_secrets: tuple[str, ...]) -> tuple[LogScan, Callable[[], None]]:
    scan = LogScan(fixed_secrets)
    handler = ScanHandler(scan)
    logging.getLogger().addHandler(handler)
    original = secrets.token_urlsafe
    secrets.token_urlsafe = recording_token_urlsafe(scan, original)

    def uninstall() -> None:
        secrets.token_urlsafe = original
        logging.getLogger().removeHandler(handler)

    return scan, uninstall
