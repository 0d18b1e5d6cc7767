"""Who is typing, in chromium: typing a reply in a thread shows in that thread's panel, typing in the channel's
box under the channel's box, each never in the other (as in Slack; docs/websocket.md, ``typing`` with
``thread_id``). Every wait is for a condition in the page, never a fixed sleep.
"""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from harness.browser import CHANNEL_MESSAGES, browser, general_channel, open_channel, open_tab, send_text, web  # noqa: F401 (fixtures)
from harness import LiveServer

pytestmark = pytest.mark.slow  # a real chromium drives the web client (browser)

THREAD_MESSAGES = ".thread-panel .messages-inner .msg"


async def test_typing_shows_in_the_thread_or_under_the_channel_box_where_it_happens(browser: Browser, web: LiveServer) -> None:
    (alice, bob), _, channel = await general_channel(web, "alice", "bob")
    root = await alice.post("/message/edit", channel_id=channel, contents="Who takes the release notes?")
    await alice.post("/message/edit", channel_id=channel, contents="Someone, please", reply_to=root["id"])
    a = await open_tab(browser, web, "alice")
    b = await open_tab(browser, web, "bob")
    for tab in (a, b):
        await open_channel(tab, web, channel)
        await expect(tab.page.locator(CHANNEL_MESSAGES)).to_have_count(1)
        await tab.page.locator(".msg-thread").click()
        await expect(tab.page.locator(THREAD_MESSAGES)).to_have_count(1)
    in_thread = a.page.locator(".thread-panel .typing")
    in_channel = a.page.locator(".channel .typing")

    # Bob types a reply: Alice sees it in the thread she has open, not under the channel's box.
    await b.page.locator(".thread-panel .composer-input").press_sequentially("I'll take it")
    await expect(in_thread).to_have_text("bob is typing…")
    await expect(in_channel).to_have_text("")
    # His reply ends his typing there at once (not when it would have expired).
    await b.page.press(".thread-panel .composer-input", "Enter")
    await expect(a.page.locator(THREAD_MESSAGES)).to_have_count(2)
    assert await in_thread.text_content() == ""

    # Bob types in the channel's box: Alice sees it under the channel's box, not in the thread.
    await b.page.locator(".channel .composer-input").press_sequentially("Also")
    await expect(in_channel).to_have_text("bob is typing…")
    await expect(in_thread).to_have_text("")
    await send_text(b, "Also: the deploy is at 3")
    await expect(a.page.locator(CHANNEL_MESSAGES)).to_have_count(2)
    assert await in_channel.text_content() == ""
    a.assert_clean()
    b.assert_clean()
