"""WeChat safe mode (安全模式): a push carrying only ``<Encrypt>`` is verified (``msg_signature``),
decrypted with the account's EncodingAESKey, checked to be for its AppID, and its plaintext goes on.

The vectors are WeChat's own: the decryption case of the official ``WXBizMsgCrypt`` Python sample
(Sample.py: token ``spamtest``, its EncodingAESKey, AppID ``wx2c2769f8efd9abc2``, timestamp, nonce,
``msg_signature`` and ``Encrypt``) and the encryption case of the official Java sample's test
(``WXBizMsgCryptTest``: AppID ``wxb11529c136998cb6``, random ``aaaabbbbccccdddd``, 我是中文abcd123).
The pushes the webhook tests send are built by :func:`seal`, an encryption written here against the
published scheme, which reproduces the Java sample's ciphertext byte for byte first."""

from __future__ import annotations

import base64
import random
import struct
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.testclient import TestClient

from services.intake.channels import wechat_crypto
from services.intake.webhooks import make_routes, wechat_signature
from shared.clock import FixedClock
from shared.runtime import Rejected

# -- WeChat's published vectors ------------------------------------------------------------------------
KEY_TEXT = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
SAMPLE_TOKEN, SAMPLE_APPID = "spamtest", "wx2c2769f8efd9abc2"
SAMPLE_TIMESTAMP, SAMPLE_NONCE = "1409735669", "1320562132"
SAMPLE_SIGNATURE = "5d197aaffba7e9b25a30732f161a50dee96bd5fa"
SAMPLE_ENCRYPT = (
    "hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQHFVAFmOD2Ld"
    "JF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6tEDYsVticbSnyU8dKOIbgU6ux5"
    "VTjg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3yZbGpy0VxpAe+77TszTfRd5RJSVO/HTnifJpXgC"
    "SUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM669WuMyVWQLCzpu9G"
    "hglF2PE="
)
SAMPLE_PLAINTEXT = (
    "<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName>\n"
    "<FromUserName><![CDATA[oyORnuP8q7ou2gfYjqLzSIWZf0rs]]></FromUserName>\n"
    "<CreateTime>1409735668</CreateTime>\n"
    "<MsgType><![CDATA[text]]></MsgType>\n"
    "<Content><![CDATA[abcdteT]]></Content>\n"
    "<MsgId>6054768590064713728</MsgId>\n"
    "</xml>"
)
JAVA_APPID, JAVA_RANDOM, JAVA_PLAINTEXT = "wxb11529c136998cb6", b"aaaabbbbccccdddd", "我是中文abcd123"
JAVA_ENCRYPT = "jn1L23DB+6ELqJ+6bruv21Y6MD7KeIfP82D6gU39rmkgczbWwt5+3bnyg5K55bgVtVzd832WzZGMhkP72vVOfg=="


def seal(xml: str, key_text: str, app_id: str, random16: bytes) -> str:
    """Encrypt as WeChat does (the test's own implementation of the published scheme)."""
    key = base64.b64decode(key_text + "=")
    body = random16 + struct.pack(">I", len(xml.encode())) + xml.encode() + app_id.encode()
    pad = 32 - len(body) % 32
    body += bytes([pad]) * pad
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(body) + encryptor.finalize()).decode()


def test_the_official_sample_s_msg_signature_is_reproduced() -> None:
    signature = wechat_crypto.msg_signature(SAMPLE_TOKEN, SAMPLE_TIMESTAMP, SAMPLE_NONCE, SAMPLE_ENCRYPT)
    assert signature == SAMPLE_SIGNATURE
    assert wechat_crypto.verify(SAMPLE_TOKEN, SAMPLE_SIGNATURE, SAMPLE_TIMESTAMP, SAMPLE_NONCE, SAMPLE_ENCRYPT)
    assert not wechat_crypto.verify(SAMPLE_TOKEN, SAMPLE_SIGNATURE, SAMPLE_TIMESTAMP, "1320562133", SAMPLE_ENCRYPT)


def test_the_official_sample_decrypts_to_its_message() -> None:
    key = wechat_crypto.aes_key(KEY_TEXT)
    assert len(key) == 32
    assert wechat_crypto.decrypt(SAMPLE_ENCRYPT, key, SAMPLE_APPID).decode() == SAMPLE_PLAINTEXT


def test_the_java_sample_s_ciphertext_decrypts_and_the_test_s_encryption_reproduces_it() -> None:
    key = wechat_crypto.aes_key(KEY_TEXT)
    assert wechat_crypto.decrypt(JAVA_ENCRYPT, key, JAVA_APPID).decode() == JAVA_PLAINTEXT
    assert seal(JAVA_PLAINTEXT, KEY_TEXT, JAVA_APPID, JAVA_RANDOM) == JAVA_ENCRYPT


def test_a_message_for_another_appid_is_refused() -> None:
    with pytest.raises(Rejected, match="another AppID"):
        wechat_crypto.decrypt(SAMPLE_ENCRYPT, wechat_crypto.aes_key(KEY_TEXT), "wx0000000000000000")


def test_a_message_under_another_key_is_refused_not_misread() -> None:
    other = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefg"
    with pytest.raises(Rejected):
        wechat_crypto.decrypt(SAMPLE_ENCRYPT, wechat_crypto.aes_key(other), SAMPLE_APPID)


@pytest.mark.parametrize("text", ["", "short", KEY_TEXT + "H", "!" * 43])
def test_an_encoding_aes_key_that_is_not_43_base64_characters_is_refused(text: str) -> None:
    with pytest.raises(Rejected):
        wechat_crypto.aes_key(text)


@pytest.mark.parametrize("ciphertext", ["not base64!", base64.b64encode(b"x" * 15).decode(), ""])
def test_ciphertext_that_is_not_whole_aes_blocks_is_refused(ciphertext: str) -> None:
    with pytest.raises(Rejected):
        wechat_crypto.decrypt(ciphertext, wechat_crypto.aes_key(KEY_TEXT), SAMPLE_APPID)


# -- the webhook in safe mode ------------------------------------------------------------------------
TOKEN, APPID = "meetdesk-wechat-token", "wx5823bf96d3bd56c7"
NOW = 1764570060
OPENID = "oXYZ6t9dKx0Qm3bJ8wT2pL5vR1aE"
PLAIN = (
    "<xml><ToUserName><![CDATA[gh_3f2a9c81d7e4]]></ToUserName>"
    f"<FromUserName><![CDATA[{OPENID}]]></FromUserName><CreateTime>1764570000</CreateTime>"
    "<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[位置信息]]></Content><MsgId>24601234567890999</MsgId></xml>"
)


@dataclass
class Settings:
    wechat_token: SecretStr = field(default_factory=lambda: SecretStr(TOKEN))
    chatwoot_secret: SecretStr = field(default_factory=lambda: SecretStr(""))
    wechat_encoding_aes_key: SecretStr = field(default_factory=lambda: SecretStr(KEY_TEXT))
    wechat_app_id: str = APPID
    max_message_bytes: int = 64_000


class Harness:
    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()
        self.published: list[tuple[str, bytes, str | None]] = []

        async def publish(channel: str, body: bytes, message_id: str | None, content_type: str) -> None:
            self.published.append((channel, body, message_id))

        clock = FixedClock(datetime.fromtimestamp(NOW, UTC))
        self.client = TestClient(Starlette(routes=make_routes(publish, lambda: self.settings, clock)))

    def push(self, encrypted: str, *, msg_signature: str | None = None, to: str = "gh_3f2a9c81d7e4") -> int:
        ts, nonce = str(NOW), str(random.randrange(10**9, 10**10))
        query = {
            "signature": wechat_signature(TOKEN, ts, nonce),
            "timestamp": ts,
            "nonce": nonce,
            "openid": OPENID,
            "encrypt_type": "aes",
            "msg_signature": msg_signature or wechat_crypto.msg_signature(TOKEN, ts, nonce, encrypted),
        }
        body = f"<xml><ToUserName><![CDATA[{to}]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
        return self.client.post("/webhooks/wechat", params=query, content=body.encode()).status_code


def test_a_safe_mode_push_is_decrypted_and_its_plaintext_published() -> None:
    h = Harness()
    assert h.push(seal(PLAIN, KEY_TEXT, APPID, b"0123456789abcdef")) == 200
    assert h.published == [("wechat", PLAIN.encode(), "24601234567890999")]


def test_a_safe_mode_push_with_a_wrong_msg_signature_is_refused() -> None:
    h = Harness()
    assert h.push(seal(PLAIN, KEY_TEXT, APPID, b"0123456789abcdef"), msg_signature="0" * 40) == 403
    assert h.published == []


def test_a_safe_mode_push_for_another_account_is_refused() -> None:
    h = Harness()
    assert h.push(seal(PLAIN, KEY_TEXT, "wx0000000000000000", b"0123456789abcdef")) == 400
    assert h.published == []


@pytest.mark.parametrize("missing", ["wechat_encoding_aes_key", "wechat_app_id"])
def test_safe_mode_without_its_settings_says_it_is_not_configured(missing: str) -> None:
    settings = Settings()
    setattr(settings, missing, SecretStr("") if missing == "wechat_encoding_aes_key" else "")
    h = Harness(settings)
    assert h.push(seal(PLAIN, KEY_TEXT, APPID, b"0123456789abcdef")) == 503
    assert h.published == []


def test_a_misconfigured_encoding_aes_key_is_the_service_s_fault_not_the_push_s() -> None:
    h = Harness(Settings(wechat_encoding_aes_key=SecretStr("too-short")))
    assert h.push(seal(PLAIN, KEY_TEXT, APPID, b"0123456789abcdef")) == 503
