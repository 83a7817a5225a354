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

_EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9-])[A-Za-z0-9.-]*\.([A-Za-z]{2,})")
# +852 2123 4567 · (02) 2712-3456 · 13800138000 · 2123-4567; not dates (2026-11-23), times or uuids.
_PHONE = re.compile(
    r"(?<![\w:.\-/])"
    r"(?:\+\d[\d \-().]{6,}\d|\(\d{2,4}\)[ -]?\d{3,4}[ -]?\d{3,4}|\d{3,4}[ -]\d{4}(?:[ -]\d{3,4})?|\d{8,15})"
    r"(?![\w:\-])"
)


def _mask_phone(m: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", m.group(0))
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
    for noisy in ("aiormq", "aio_pika", "asyncio"):
        logging.getLogger(noisy).setLevel("WARNING")
    structlog.contextvars.bind_contextvars(service=service)


def get_logger(name: str | None = None) -> structlog.stdlib.BoundLogger:
    return structlog.get_logger(name)
