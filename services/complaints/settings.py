"""Complaints' configuration (environment, prefix ``MEETDESK_``)."""

from __future__ import annotations

from shared.settings import ServiceSettings


class ComplaintsSettings(ServiceSettings):
    service: str = "complaints"
