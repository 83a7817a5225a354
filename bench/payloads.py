"""A realistic mixed inbound stream: every channel, three languages, as the other systems send it."""

from __future__ import annotations

import json
import random
import uuid
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

TEXTS = {
    "zh-Hant": [
        "你好，我想預訂下週三下午兩點至四點的會議室，大約二十人，需要投影儀和麥克風。",
        "上次會議的投影機一直壞，會議延誤了半小時，非常不滿，請給個說法。",
        "請問你們的大會議室可以容納多少人？有沒有視像會議設備？",
        "謝謝你們的安排，這次董事會很順利，服務非常滿意。",
        "不好意思，我們需要取消十二月三日的會議預訂。",
    ],
    "zh-Hans": [
        "您好，我想预订12月3日上午十点的会议室，十五个人，需要白板。",
        "会场空调太冷了，工作人员态度也很差，我要投诉。",
        "请问会议室的餐饮怎么收费？可以提供茶歇吗？",
        "感谢你们的服务，整体很满意，下次还会再来。",
        "我们的年会要改期，原来的预订请帮忙取消。",
    ],
    "en": [
        "Hi, could we book a room next Tuesday 9-11am for 8 people with a projector?",
        "The microphone kept cutting out during our launch event. This is unacceptable.",
        "What are your rates for a full-day conference with catering for 50 guests?",
        "Thank you for the excellent support during our board meeting yesterday.",
        "Please cancel our reservation for the strategy workshop on Friday.",
    ],
}
CHARSETS = {"zh-Hant": "big5", "zh-Hans": "gb2312", "en": "utf-8"}
NAMES = {"zh-Hant": "陳大文", "zh-Hans": "王芳", "en": "Alice Wong"}


def _text(rng: random.Random) -> tuple[str, str]:
    lang = rng.choice(list(TEXTS))
    return lang, rng.choice(TEXTS[lang])


def email(rng: random.Random, i: int) -> tuple[str, bytes, str]:
    lang, text = _text(rng)
    msg = EmailMessage()
    msg["From"] = f"{NAMES[lang]} <customer{i % 200}@example.com>"
    msg["To"] = "desk@meetdesk.example"
    msg["Subject"] = text[:12]
    msg["Date"] = format_datetime(datetime.now(UTC))
    msg["Message-ID"] = make_msgid(domain="mail.example.com")
    msg.set_content(text + "\n\n-- \n" + NAMES[lang], charset=CHARSETS[lang])
    return "email", bytes(msg), msg["Message-ID"].strip("<>")


def phone(rng: random.Random, i: int) -> tuple[str, bytes, str]:
    lang, text = _text(rng)
    uid = f"{1764570000 + i}.{rng.randint(1, 9999)}"
    start = datetime.now(UTC).astimezone().replace(microsecond=0)
    answered = rng.random() > 0.2
    cdr = {
        "UniqueID": uid,
        "CallerID": f'"{NAMES[lang]}" <+8529{i % 1000:03d}{rng.randint(1000, 9999)}>',
        "Source": f"+8529{i % 1000:03d}0000",
        "Destination": "8001",
        "DestinationContext": "desk",
        "StartTime": start.strftime("%Y-%m-%d %H:%M:%S"),
        "AnswerTime": (start + timedelta(seconds=8)).strftime("%Y-%m-%d %H:%M:%S") if answered else "",
        "EndTime": (start + timedelta(seconds=180)).strftime("%Y-%m-%d %H:%M:%S"),
        "Duration": "180",
        "BillableSeconds": "172" if answered else "0",
        "Disposition": "ANSWERED" if answered else rng.choice(["NO ANSWER", "BUSY"]),
    }
    body = {"cdr": cdr, "agent_id": f"agent-{i % 7}", "notes": text if answered else None}
    return "phone", json.dumps(body, ensure_ascii=False).encode(), uid


def chat(rng: random.Random, i: int) -> tuple[str, bytes, str]:
    lang, text = _text(rng)
    mid = 900000 + i
    conv = 5000 + i % 300
    contact = {"id": 700 + i % 300, "name": NAMES[lang], "email": f"chat{i % 300}@example.com", "type": "contact"}
    body = {
        "event": "message_created",
        "id": mid,
        "content": text,
        "created_at": datetime.now(UTC).isoformat(),
        "message_type": "incoming",
        "content_type": "text",
        "private": False,
        "sender": contact,
        "conversation": {"id": conv, "display_id": conv, "status": "open", "meta": {"sender": contact}},
        "inbox": {"id": 1, "name": "Website"},
        "account": {"id": 1, "name": "meetdesk"},
    }
    return "chat", json.dumps(body, ensure_ascii=False).encode(), f"message:{mid}"


def wechat(rng: random.Random, i: int) -> tuple[str, bytes, str]:
    _, text = _text(rng)
    msg_id = str(24600000000000000 + i)
    xml = (
        f"<xml><ToUserName><![CDATA[gh_meetdesk]]></ToUserName><FromUserName><![CDATA[oWx{i % 400:06d}]]>"
        f"</FromUserName><CreateTime>{int(datetime.now(UTC).timestamp())}</CreateTime><MsgType><![CDATA[text]]>"
        f"</MsgType><Content><![CDATA[{text}]]></Content><MsgId>{msg_id}</MsgId></xml>"
    )
    return "wechat", xml.encode(), msg_id


def webform(rng: random.Random, i: int) -> tuple[str, bytes, str]:
    lang, text = _text(rng)
    sid = str(uuid.uuid4())
    body = {
        "kind": "inquiry",
        "submission_id": sid,
        "submitted_at": datetime.now(UTC).isoformat(),
        "customer": {"name": NAMES[lang], "email": f"web{i % 500}@example.com", "phone": None},
        "subject": None,
        "text": text,
    }
    return "webform", json.dumps(body, ensure_ascii=False).encode(), sid


def onsite(rng: random.Random, i: int) -> tuple[str, bytes, str]:
    _, text = _text(rng)
    eid = str(uuid.uuid4())
    body = {
        "kind": rng.choice(["feedback", "incident", "complaint"]),
        "entry_id": eid,
        "recorded_at": datetime.now(UTC).isoformat(),
        "staff_id": f"staff-{i % 5}",
        "booking_id": f"b-{i % 50}",
        "room_id": "harbour",
        "customer": None,
        "text": text,
        "category": None,
        "severity": None,
    }
    return "onsite", json.dumps(body, ensure_ascii=False).encode(), eid


def survey(rng: random.Random, i: int) -> tuple[str, bytes, str]:
    _, text = _text(rng)
    rid = str(uuid.uuid4())
    body = {
        "subject": {"type": "booking", "id": f"b-{i % 50}"},
        "score": rng.randint(1, 5),
        "comment": text,
        "respondent": None,
        "response_id": rid,
    }
    return "survey", json.dumps(body, ensure_ascii=False).encode(), rid


# share of each channel in a desk's day
MIX = [(email, 25), (chat, 20), (wechat, 20), (phone, 15), (webform, 12), (onsite, 4), (survey, 4)]


def stream(n: int, seed: int = 7, start: int = 0) -> list[tuple[str, bytes, str]]:
    """n messages (routing key, body, channel-native id), channels and languages mixed; ``start``:
    the index of the first (channel-native ids follow the index, so streams with disjoint index
    ranges never repeat one another's messages)."""
    rng = random.Random(seed)
    makers = [m for m, w in MIX for _ in range(w)]
    return [rng.choice(makers)(rng, i) for i in range(start, start + n)]
