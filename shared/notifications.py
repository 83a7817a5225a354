"""Where a message to a customer goes (for ``notification.requested``)."""

from __future__ import annotations


def reply_route(
    channel: str, *, email: str | None, phone: str | None, conversation_id: str | None = None
) -> tuple[str, str | None]:
    """Answer on the channel the customer used when it can carry a reply (email, phone, chat,
    WeChat: the address of a chat is its conversation); a web form, an on-site entry or a survey
    has no reply path, so email, else phone (SMS). ``(channel, None)`` when there is no address:
    an agent has to reach the customer another way."""
    if channel == "email" and email:
        return "email", email
    if channel == "phone" and phone:
        return "phone", phone
    if channel in ("chat", "wechat") and conversation_id:
        return channel, conversation_id
    if email:
        return "email", email
    if phone:
        return "phone", phone
    return channel, None
