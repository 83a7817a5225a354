"""The public contract as pydantic models: envelope, inbound payloads, events, commands."""
