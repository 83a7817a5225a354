"""The console's configuration (environment, prefix ``MEETDESK_``).

The console holds no secret of its own and no session: it forwards the caller's own bearer token to the
four services. It reads ``MEETDESK_API_TOKENS`` / ``MEETDESK_API_TOKEN`` (the same settings the services
read) only to tell the page who the caller is (``/api/me``); without them every caller is unknown there,
and the services still decide what each token may do.
"""

from __future__ import annotations

from pydantic import Field

from shared.settings import ServiceSettings

UPSTREAMS = ("intake", "booking", "complaints", "metrics")


class ConsoleSettings(ServiceSettings):
    service: str = "console"
    http_port: int = 8005
    intake_url: str = Field("http://127.0.0.1:8001", description="intake's HTTP address, as the console reaches it")
    booking_url: str = Field("http://127.0.0.1:8002", description="booking's HTTP address")
    complaints_url: str = Field("http://127.0.0.1:8003", description="complaints' HTTP address")
    metrics_url: str = Field("http://127.0.0.1:8004", description="metrics' HTTP address")
    poll_seconds: float = Field(5, ge=1, le=300, description="how often the page asks for new work")
    page_size: int = Field(
        200, ge=1, le=200, description="the page reads a queue whole, this many items a request (intake: at most 200)"
    )
    upstream_timeout_seconds: float = Field(
        5, gt=0, le=60, description="a service that does not answer within this is reported unavailable (503)"
    )

    def upstreams(self) -> dict[str, str]:
        """Service name → its base URL (no trailing slash)."""
        return {
            "intake": self.intake_url.rstrip("/"),
            "booking": self.booking_url.rstrip("/"),
            "complaints": self.complaints_url.rstrip("/"),
            "metrics": self.metrics_url.rstrip("/"),
        }
