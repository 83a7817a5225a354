"""The public contract as pydantic models: envelope, inbound payloads, events, commands.

Importing any part of the contract registers every command (``commands.COMMANDS``) and event type
(``events.EVENT_TYPES``), the desk's (:mod:`.desk`) included.
"""

from . import desk as desk  # registers the desk's commands and events
