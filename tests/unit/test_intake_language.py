"""Chinese text that does not show its script (位置信息: the same characters in both) takes the
conversation's earlier Chinese, else the channel's usual script — not always zh-Hant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.intake import domain, handlers
from services.intake.domain import Policy
from services.intake.normalised import ChannelContext, Normalised
from services.intake.understand import understand
from shared.runtime import derive_uuid

from .fakes import FakeUnitOfWork
from .intake_fakes import FakeIntakeStore

T0 = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
POLICY = Policy.of(ChannelContext(), 1_048_576)


def wechat(ref: str, text: str, *, at: datetime = T0, openid: str = "oWx7Kd0a9Zq") -> Normalised:
    return Normalised(
        channel="wechat",
        source_ref=ref,
        received_at=at,
        contact=None,
        text=text,
        conversation_key=f"wechat:{openid}",
        channel_identity=("wechat", openid),
    )


async def languages(*messages: Normalised) -> list[str]:
    store = FakeIntakeStore()
    out: list[str] = []
    for i, n in enumerate(messages):
        now = T0 + timedelta(minutes=i)
        uow = FakeUnitOfWork(store, producer="intake", now=now)
        await handlers.apply(uow, [domain.prepare(n, derive_uuid("t", n.source_ref), now, POLICY)], now, POLICY)
        out += [e["language"] for e in uow.events("inquiry.received")]
    return out


@pytest.mark.parametrize(
    "channel, expected", [("wechat", "zh-Hans"), ("chat", "zh-Hant"), ("email", "zh-Hant"), ("phone", "zh-Hant")]
)
def test_text_without_a_script_of_its_own_takes_the_channel_s_usual_one(channel: str, expected: str) -> None:
    n = Normalised(channel=channel, source_ref="1", received_at=T0, contact=None, text="位置信息")
    u = understand(n, T0, POLICY.tz, usual_chinese=POLICY.usual_chinese_of(channel))
    assert (u.language, u.script_undecided) == (expected, True)


@pytest.mark.parametrize("text, expected", [("我想預訂會議室", "zh-Hant"), ("我想预订会议室", "zh-Hans")])
def test_text_that_shows_its_script_is_decided_by_it(text: str, expected: str) -> None:
    u = understand(wechat("1", text), T0, POLICY.tz, usual_chinese="zh-Hans")
    assert (u.language, u.script_undecided) == (expected, False)


async def test_a_traditional_conversation_keeps_its_script_for_text_that_shows_none() -> None:
    assert await languages(wechat("1", "請問會議室幾點開門？"), wechat("2", "位置信息")) == ["zh-Hant", "zh-Hant"]


async def test_a_simplified_conversation_keeps_its_script_on_a_traditional_channel() -> None:
    chat = [
        Normalised(channel="chat", source_ref=r, received_at=T0, contact=None, text=t, conversation_key="chatwoot:9")
        for r, t in (("1", "请问会议室几点开门？"), ("2", "位置信息"))
    ]
    assert await languages(*chat) == ["zh-Hans", "zh-Hans"]


async def test_without_an_earlier_chinese_message_the_channel_s_usual_script_is_used() -> None:
    assert await languages(wechat("1", "Hello, where are you?"), wechat("2", "位置信息")) == ["en", "zh-Hans"]
    assert await languages(wechat("3", "位置信息", openid="oOther")) == ["zh-Hans"]


async def test_the_latest_clear_script_wins() -> None:
    messages = [wechat("1", "请问会议室几点开门？"), wechat("2", "請問會議室幾點開門？"), wechat("3", "位置信息")]
    assert await languages(*messages) == ["zh-Hans", "zh-Hant", "zh-Hant"]
