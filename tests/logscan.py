"""A scan of service logs for personal data and secrets in clear: email addresses, phone numbers,
customer names (the ones a run sent) and tokens. Its patterns are independent of the masking's own
(shared/logs.py), so a gap in one is caught by the other. Used by the test suite's last test
(tests/integration/test_zz_logs_keep_no_personal_data.py) and by the fault suite (tools/chaos.py).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
PHONE = re.compile(r"\+\d{8,15}\b|\+852[ -]?\d{4}[ -]?\d{4}|\b[2-9]\d{3}[ -]\d{4}\b")
ALLOWED_EMAILS = re.compile(r"@(?:example\.invalid)$")  # none so far: every address is a customer's
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")  # ids, not numbers


@dataclass
class LogScan:
    """What a scan found: ``findings`` (file: kind and the text, at most ``keep`` of them kept),
    ``counts`` per kind (all of them), and how much it read."""

    files: int = 0
    lines: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    findings: list[str] = field(default_factory=list)
    keep: int = 50

    @property
    def clean(self) -> bool:
        return not self.counts

    def _found(self, path: Path, kind: str, text: str) -> None:
        self.counts[kind] += 1
        if len(self.findings) < self.keep:
            self.findings.append(f"{path.name}: {kind} {text!r}")

    def summary(self) -> str:
        kinds = ("email", "phone", "name", "token")
        found = ", ".join(f"{self.counts[k]} {k}" for k in kinds)
        return f"{self.lines} log lines in {self.files} files: {found} in clear" + (
            "" if self.clean else f", e.g. {self.findings[:5]}"
        )


def names_pattern(names: Iterable[str]) -> re.Pattern[str] | None:
    """One pattern for the customer names a run sent (longest first; None when there are none)."""
    unique = sorted({n for n in names if n}, key=len, reverse=True)
    return re.compile("|".join(re.escape(n) for n in unique)) if unique else None


def scan(
    paths: Iterable[Path], *, secrets: Iterable[str] = (), names: re.Pattern[str] | None = None, keep: int = 50
) -> LogScan:
    """Every line of the files ``paths``: emails (but ``ALLOWED_EMAILS``), phone numbers (ids taken
    out first), text matching ``names``, and each of ``secrets``."""
    secrets = [s for s in secrets if s]
    out = LogScan(keep=keep)
    for path in paths:
        out.files += 1
        with path.open(errors="replace") as f:
            for line in f:
                out.lines += 1
                for m in EMAIL.finditer(line):
                    if not ALLOWED_EMAILS.search(m.group()):
                        out._found(path, "email", m.group())
                for m in PHONE.finditer(UUID.sub("", line)):
                    out._found(path, "phone", m.group())
                if names is not None:
                    for m in names.finditer(line):
                        out._found(path, "name", m.group())
                for secret in secrets:
                    if secret in line:
                        out._found(path, "token", secret[:4] + "…")
    return out


def scan_dir(log_dir: Path, **kwargs: object) -> LogScan:
    """Every ``*.log`` file in ``log_dir`` (one per process start: nothing a restart wrote is lost)."""
    return scan(sorted(log_dir.glob("*.log")), **kwargs)  # type: ignore[arg-type]
