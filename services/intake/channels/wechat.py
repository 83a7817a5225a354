"""WeChat Official Account pushes (routing key ``wechat``) → :class:`Normalised`.

The body is the XML push as WeChat sends it to the account's server URL in plaintext or
"compatible" mode; a "safe" mode push is decrypted by the webhook (``wechat_crypto``) and its
plaintext published, while an encrypted body reaching the queue is refused with that reason::

    <xml><ToUserName><![CDATA[gh_...]]></ToUserName><FromUserName><![CDATA[o...openid]]></FromUserName>
    <CreateTime>1764570000</CreateTime><MsgType><![CDATA[text]]></MsgType>
    <Content><![CDATA[你好，我想預訂會議室]]></Content><MsgId>24601234567890123</MsgId></xml>

It is parsed with :mod:`defusedxml`: a document type declaration (and with it entity expansion and
external entities) is refused, as WeChat never sends one. Text messages are classified downstream;
every other message type (image, voice, video, location, link) is recorded as an inquiry; events
(subscribe, menu clicks, location reports) are recorded on the conversation as status changes
with ``intent="other"`` and the ``non_text`` flag, never classified. The size limit is checked
before this adapter runs.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from xml.etree.ElementTree import ParseError

from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
from defusedxml import ElementTree as SafeET

from shared.runtime import Incoming, Rejected

from ..normalised import ChannelContext, Normalised

CHANNEL = "wechat"
REQUIRED = ("FromUserName", "CreateTime", "MsgType")
_MAX_EPOCH = 253402300799  # 9999-12-31T23:59:59Z


def parse(body: bytes) -> dict[str, str]:
    """The push's top-level fields (tag → stripped text), or :class:`Rejected` saying why not.

    Only checks that the body is safe, well-formed WeChat XML (root ``<xml>``); the adapter and the
    webhook decide which fields they need. The first occurrence of a repeated field wins.
    """
    try:
        root = SafeET.fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DTDForbidden:
        raise Rejected(
            "XML with a document type declaration is refused (no entities, no external references)"
        ) from None
    except EntitiesForbidden:
        raise Rejected("XML entity declarations are refused (entity expansion)") from None
    except ExternalReferenceForbidden:
        raise Rejected("XML external references are refused") from None
    except ParseError as exc:
        raise Rejected(f"body is not well-formed XML: {exc}") from None
    except (ValueError, LookupError) as exc:  # e.g. an encoding expat cannot read
        raise Rejected(f"body is not readable XML: {exc}") from None
    if root.tag != "xml":
        raise Rejected(f"not a WeChat push: the root element is <{str(root.tag)[:40]}>, expected <xml>")
    fields: dict[str, str] = {}
    for child in root:
        if isinstance(child.tag, str):
            fields.setdefault(child.tag, (child.text or "").strip())
    return fields


def source_ref(fields: dict[str, str]) -> str:
    """WeChat's own id of the push: ``MsgId``; pushes without one (events) get
    ``"{FromUserName}:{CreateTime}:{Event}"``, which WeChat's redeliveries repeat unchanged."""
    msg_id = fields.get("MsgId")
    if msg_id:
        return msg_id
    what = fields.get("Event") or fields.get("MsgType", "")
    return f"{fields.get('FromUserName', '')}:{fields.get('CreateTime', '')}:{what}"


def check(fields: dict[str, str]) -> None:
    """Rejected unless the push has what every WeChat message has."""
    missing = [name for name in REQUIRED if not fields.get(name)]
    if missing:
        if fields.get("Encrypt"):
            raise Rejected("an encrypted (safe mode) WeChat push is decrypted by the webhook, not read from the queue")
        raise Rejected(f"WeChat push without {', '.join(missing)}")
    if fields["MsgType"] == "event" and not fields.get("Event"):
        raise Rejected("WeChat event push without Event")


def adapt(msg: Incoming, ctx: ChannelContext) -> list[Normalised]:
    fields = parse(msg.body)
    check(fields)
    openid = fields["FromUserName"]
    msg_type = fields["MsgType"]
    base: dict[str, Any] = {
        "channel": CHANNEL,
        "source_ref": source_ref(fields),
        "received_at": _received_at(fields["CreateTime"]),
        "contact": None,  # WeChat gives neither an email address nor a phone number
        "kind": "inquiry",
        "conversation_key": f"{CHANNEL}:{openid}",
        "channel_identity": (CHANNEL, openid),
    }
    account = {"account": fields["ToUserName"]} if fields.get("ToUserName") else {}
    if msg_type == "text":
        content = fields.get("Content")
        if not content:
            raise Rejected("WeChat text message without Content")
        return [Normalised(**base, text=content, extra={"msg_type": "text", **account})]
    text, details, flags = _describe(msg_type, fields)
    if msg_type == "event":
        # subscribe / unsubscribe / menu clicks / automatic location reports are not messages from
        # the customer: recorded on the conversation, no inquiry and no acknowledgement
        extra = {"msg_type": "event", "status": fields["Event"].lower(), **account}
        return [Normalised(**(base | {"kind": "status_change"}), text=text, extra=extra | _present(details))]
    return [
        Normalised(
            **base,
            intent="other",
            text=text,
            flags=["non_text", *flags],
            extra={"msg_type": msg_type, **account, **{k: v for k, v in details.items() if v}},
        )
    ]


def _present(details: dict[str, str | None]) -> dict[str, str]:
    return {k: v for k, v in details.items() if v}


def _received_at(raw: str) -> datetime:
    if not (raw.isascii() and raw.isdigit()) or int(raw) > _MAX_EPOCH:
        raise Rejected(f"WeChat CreateTime is not epoch seconds: {raw[:40]!r}")
    return datetime.fromtimestamp(int(raw), UTC)


def _describe(msg_type: str, f: dict[str, str]) -> tuple[str, dict[str, str | None], list[str]]:
    """A short text for a message that is not text, the fields worth keeping, extra flags."""
    get = f.get
    match msg_type:
        case "image":
            return "[image]", {"pic_url": get("PicUrl"), "media_id": get("MediaId")}, []
        case "voice":
            # WeChat's speech recognition (when enabled on the account) is kept as the text, but a
            # voice message is still not classified: recognition quality is unknown.
            recognition = get("Recognition")
            details = {"media_id": get("MediaId"), "format": get("Format"), "recognition": recognition}
            return recognition or "[voice]", details, ["speech_recognised"] if recognition else []
        case "video" | "shortvideo":
            label = "[video]" if msg_type == "video" else "[short video]"
            return label, {"media_id": get("MediaId"), "thumb_media_id": get("ThumbMediaId")}, []
        case "location":
            lat, lon, label = get("Location_X"), get("Location_Y"), get("Label")
            where = label or ", ".join(p for p in (lat, lon) if p)
            details = {"latitude": lat, "longitude": lon, "scale": get("Scale"), "label": label}
            return f"[location] {where}".strip(), details, []
        case "link":
            title = get("Title")
            details = {"title": title, "description": get("Description"), "url": get("Url")}
            return f"[link] {title or get('Url') or ''}".strip(), details, []
        case "event":
            return _describe_event(f)
    return f"[{msg_type[:40]}]", {}, []


_EVENTS = {
    "subscribe": "[subscribed]",
    "unsubscribe": "[unsubscribed]",
    "SCAN": "[QR code scanned]",
    "LOCATION": "[location reported]",
    "CLICK": "[menu click]",
    "VIEW": "[menu link opened]",
}


def _describe_event(f: dict[str, str]) -> tuple[str, dict[str, str | None], list[str]]:
    event = f["Event"]
    key = f.get("EventKey")
    details = {
        "event": event,
        "event_key": key,
        "ticket": f.get("Ticket"),
        "latitude": f.get("Latitude"),
        "longitude": f.get("Longitude"),
        "precision": f.get("Precision"),
    }
    label = _EVENTS.get(event, f"[event {event[:40]}]")
    if key and event in ("CLICK", "VIEW", "SCAN"):
        label = f"{label} {key[:200]}"
    return label, details, []
