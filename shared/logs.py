"""Structured JSON logging (structlog) with the correlation id bound per message.

Phone numbers and email addresses never reach a log line in clear: every string value passes
through :func:`mask_pii` before it is rendered.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
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
    route_uvicorn_config_through_root()
    capture_stray_output()
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


#: what uvicorn's default ``log_config`` becomes (see :func:`route_uvicorn_config_through_root`):
#: levels only (``incremental``), no handlers of its own, everything propagated to the root handler
UVICORN_LOGGING: dict[str, Any] = {
    "version": 1,
    "incremental": True,
    "disable_existing_loggers": False,
    # uvicorn writes ``use_colors`` into these two when it is given; nothing else reads them
    "formatters": {"default": {}, "access": {}},
    "loggers": {
        "uvicorn": {"level": "INFO", "propagate": True},
        "uvicorn.error": {"level": "INFO", "propagate": True},
        "uvicorn.access": {"level": "WARNING", "propagate": True},
    },
}


def route_uvicorn_config_through_root() -> None:
    """uvicorn applies its default ``LOGGING_CONFIG`` (plain text on stderr) whenever it builds its
    ``Config`` — after the service module was imported, so after :func:`configure_logging`: in the
    process ``faststream run`` starts and, with ``--workers N``, in the supervisor and again in each
    worker before it imports the app. Its first lines ("Started server process", "Waiting for
    application startup", "Started parent process", "Received SIGTERM", "Waiting for child process")
    were plain text. The services cannot pass ``log_config`` through ``faststream run``; the default
    object is the one uvicorn uses (``Config(log_config=LOGGING_CONFIG)``), so its contents are
    replaced in place by :data:`UVICORN_LOGGING`, which leaves the handlers alone."""
    try:
        import uvicorn.config
    except ImportError:  # pragma: no cover - uvicorn comes with faststream[cli]
        return
    default = uvicorn.config.LOGGING_CONFIG
    if default.get("incremental") is not True:
        default.clear()
        default.update(UVICORN_LOGGING)


def _log_uncaught(exc_type: type[BaseException], exc: BaseException, tb: Any) -> None:
    if issubclass(exc_type, KeyboardInterrupt):
        sys.__excepthook__(exc_type, exc, tb)
        return
    logging.getLogger("uncaught").critical("uncaught exception", exc_info=(exc_type, exc, tb))


def _log_thread_uncaught(args: Any) -> None:
    if args.exc_type is SystemExit:
        return
    thread = args.thread.name if args.thread is not None else None
    logging.getLogger("uncaught").critical(
        "uncaught exception in thread %s", thread, exc_info=(args.exc_type, args.exc_value, args.exc_traceback)
    )


def _log_unraisable(unraisable: Any) -> None:
    logging.getLogger("unraisable").error(
        "%s: %r",
        unraisable.err_msg or "Exception ignored in",
        unraisable.object,
        exc_info=(unraisable.exc_type, unraisable.exc_value, unraisable.exc_traceback),
    )


def capture_stray_output() -> None:
    """What Python itself would write to stderr as plain text goes through logging instead:
    warnings (``warnings.warn``, ``py.warnings``), uncaught exceptions (main thread and threads) and
    exceptions ignored in ``__del__`` or callbacks (``sys.unraisablehook``)."""
    logging.captureWarnings(True)
    sys.excepthook = _log_uncaught
    threading.excepthook = _log_thread_uncaught
    sys.unraisablehook = _log_unraisable


def get_logger(name: str | None = None) -> structlog.stdlib.BoundLogger:
    return structlog.get_logger(name)
