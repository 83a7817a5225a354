"""Structured JSON logging (structlog) with the correlation id bound per message.

Phone numbers and email addresses never reach a log line in clear: every string value passes
through :func:`mask_pii` before it is rendered.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import Any

import structlog

# Any script (陳大文@example.com, x@例子.香港): a run without spaces or delimiters around an "@" and a dot.
_NOT_IN_ADDRESS = r"\s@<>()\[\],;:\"'"
_EMAIL = re.compile(
    rf"([^{_NOT_IN_ADDRESS}])[^{_NOT_IN_ADDRESS}]*@([^{_NOT_IN_ADDRESS}.])[^{_NOT_IN_ADDRESS}]*\.([^{_NOT_IN_ADDRESS}.]{{2,}})"
)
# +852 2123 4567 · (02) 2712-3456 · 02-2712-3456 · 0912 345 678 · 13800138000 · 2123-4567, also glued
# to Chinese text or after "Tel:"; not dates (2026-11-23), times (14:00:00), uuids or small counts.
_ASCII_WORD = r"A-Za-z0-9_"
_PHONE = re.compile(
    rf"(?<![{_ASCII_WORD}.\-/+])"
    r"(?:\+\d{1,3}(?:[ \-]?\(?\d{1,4}\)?)(?:[ \-]?\d{2,4}){1,4}"
    r"|\(\d{2,4}\)[ -]?\d{3,4}[ -]?\d{3,4}"
    r"|\d{2,4}[ -]\d{3,4}[ -]\d{3,4}"
    r"|\d{3,4}[ -]\d{4}"
    r"|\d{8,15})"
    rf"(?![{_ASCII_WORD}\-:])"
)


def _mask_phone(m: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", m.group(0))
    if len(digits) < 7:  # "+852 20" is not a phone number
        return m.group(0)
    return f"[phone ***{digits[-2:]}]"


def mask_pii(text: str) -> str:
    """Mask email addresses and phone numbers in free text."""
    text = _EMAIL.sub(lambda m: f"{m.group(1)}***@{m.group(2)}***.{m.group(3)}", text)
    return _PHONE.sub(_mask_phone, text)


def _mask(value: Any) -> Any:
    if isinstance(value, str):
        return mask_pii(value)
    if isinstance(value, dict):
        return {k: _mask(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_mask(v) for v in value]
    return value


def _mask_processor(_: Any, __: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    return {k: _mask(v) for k, v in event_dict.items()}


def configure_logging(service: str, level: str = "INFO") -> None:
    """JSON lines on stdout; stdlib logging (faststream, uvicorn, alembic) rendered the same way."""
    shared_processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.format_exc_info,
        _mask_processor,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared_processors, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared_processors,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.JSONRenderer(ensure_ascii=False),
        ],
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("aiormq", "aio_pika", "asyncio", "uvicorn.access"):
        logging.getLogger(noisy).setLevel("WARNING")
    adopt_library_loggers()
    structlog.contextvars.bind_contextvars(service=service)


LIBRARY_LOGGERS = ("faststream", "faststream.access", "uvicorn", "uvicorn.error", "uvicorn.access", "alembic")


def adopt_library_loggers() -> None:
    """FastStream and uvicorn give their loggers handlers of their own (plain text, unmasked);
    route them through the root handler instead. Called again once uvicorn has configured itself."""
    for name in LIBRARY_LOGGERS:
        lib = logging.getLogger(name)
        lib.handlers.clear()
        lib.propagate = True
    logging.getLogger("uvicorn.access").setLevel("WARNING")  # health probes every few seconds


def get_logger(name: str | None = None) -> structlog.stdlib.BoundLogger:
    return structlog.get_logger(name)
