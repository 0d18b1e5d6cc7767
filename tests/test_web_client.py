"""The web client in chromium (docs/web-client.md): what people do in it, seen from their browsers.

Two people are two browser contexts (separate cookies and storage) on one live chatd. Every wait is for a
condition in the page, never a fixed sleep.
"""

from __future__ import annotations

import asyncio
import base64
import io
import re
from typing import Any

import httpx
import pytest
from PIL import Image
from playwright.async_api import Browser, FilePayload, expect

from harness.browser import CHANNEL_MESSAGES, Served, Tab, browser, open_channel, open_tab, other_site, record, screenshot, served, web, general_channel, send_text  # noqa: F401 (fixtures)
from chatd.core.auth import authenticate
from chatd.core.messages import do_post_message
from chatd.core.users import do_create_user
from harness import PASSWORD, LiveServer, Person, free_port, live, make_settings, png, team, wait_until

pytestmark = pytest.mark.slow  # a real chromium drives the web client (browser)

TEXTS = "nodes => nodes.map(n => n.querySelector('.msg-text').innerText.replace(/ \\(edited\\)$/, ''))"



async def _history(person: Person, channel: str, **params: Any) -> list[str]:
    page = await person.get("/message/read", channel_id=channel, limit=200, **params)
    return [m["contents"] for m in page["items"] if m["type"] in ("MESSAGE", "FILE")]


async def _texts(tab: Tab, selector: str = CHANNEL_MESSAGES) -> list[str]:
    return list(await tab.page.eval_on_selector_all(selector, TEXTS))


async def _submit(tab: Tab) -> None:
    """Press the dialog's main button (by its place: hover toolbars may hold buttons of the same name)."""
    await tab.page.click(".modal button[type=submit]")



async def test_first_run_from_the_browser(browser: Browser, served: Served) -> None:
    """After ``chatd serve`` (what scripts/serve runs), the admin opens the printed URL, signs in with the
    printed password, creates an organisation, a team, channels and a colleague's account; they chat."""
    web = served
    admin = await open_tab(browser, web)
    page = admin.page
    await page.goto(web.http)
    await page.wait_for_selector("#username")
    await screenshot(page, "sign-in")
    await page.fill("#username", "admin")
    await page.fill("#password", served.admin_password)
    await page.click("button[type=submit]")
    await expect(page.locator(".welcome")).to_contain_text("Create an organisation")
    await screenshot(page, "welcome")
    await page.click(".welcome >> text=Create an organisation")
    await page.fill("#f-name", "Acme")
    await _submit(admin)
    await expect(page.locator(".channel-name")).to_contain_text("general")  # a first channel comes with it
    await page.click(".side-head")
    await page.get_by_role("menuitem", name="Create a team").click()
    await page.fill("#f-name", "Engineering")
    await _submit(admin)
    await expect(page.locator(".side-section-head", has_text="Engineering")).to_be_visible()
    await page.get_by_role("button", name="Create a channel in Engineering").click()
    await page.fill("#f-name", "deploys")
    await page.fill("#f-topic", "Where releases are announced")
    await _submit(admin)
    await expect(page.locator(".channel-name")).to_contain_text("deploys")
    await expect(page.locator(".channel-topic")).to_have_text("Where releases are announced")
    await page.click(".side-head")
    await page.get_by_role("menuitem", name="Add people").click()
    await page.fill("#f-first_name", "Bob")
    await page.fill("#f-last_name", "Builder")
    await page.fill("#f-email", "bob@example.com")
    await page.fill("#f-username", "bob")
    password = await page.input_value("#f-password")
    assert len(password) >= 8
    await page.get_by_role("button", name="Create account").click()
    await expect(page.get_by_role("dialog", name="Account created")).to_contain_text("bob")
    await page.get_by_role("button", name="Done").click()
    await page.click(".side-item >> text=general")
    await screenshot(page, "first-run-admin")

    await expect(page.locator(".channel .tool.members")).to_have_text("2")  # a newcomer is put in #general

    bob = await open_tab(browser, web, "bob", password=password)
    await expect(bob.page.locator(".side-head")).to_contain_text("Acme")
    await expect(bob.page.locator(".channel-name")).to_contain_text("general")  # where he lands
    await send_text(bob, "Hello from Bob's first day")
    await expect(page.locator(CHANNEL_MESSAGES).last).to_contain_text("Hello from Bob's first day")
    await page.click(".side-item >> text=deploys")
    await bob.page.click(".side-nav >> text=Browse channels")
    await expect(bob.page.locator(".browse-item", has_text="deploys")).to_contain_text(re.compile(r"^# deploys\s*1 member(?!s)"))
    await bob.page.click(".browse-item:has-text('deploys') >> text=View")
    await expect(bob.page.locator(".channel .notice.join")).to_be_visible()  # readable before joining
    await bob.page.get_by_role("button", name="Join channel").click()
    await send_text(bob, "Subscribed to deploys")
    await expect(page.locator(CHANNEL_MESSAGES).last).to_contain_text("Subscribed to deploys")
    admin.assert_clean()
    bob.assert_clean()


async def test_a_post_edit_and_removal_reach_the_other_person_live(browser: Browser, web: LiveServer) -> None:
    (alice, bob), _, channel = await general_channel(web, "alice", "bob")
    a = await open_tab(browser, web, "alice")
    b = await open_tab(browser, web, "bob")
    await open_channel(a, web, channel)
    await open_channel(b, web, channel)
    await send_text(a, "ship it **today**")
    await expect(b.page.locator(CHANNEL_MESSAGES).last).to_contain_text("ship it today")
    assert await b.page.locator(f"{CHANNEL_MESSAGES} strong").last.inner_text() == "today"
    await send_text(b, "on it")
    await expect(a.page.locator(CHANNEL_MESSAGES).last).to_contain_text("on it")
    await expect(b.page.locator(CHANNEL_MESSAGES).last).to_contain_text("on it")  # acknowledged: no longer pending

    # Up in the empty box edits Bob's last message; Enter saves.
    await b.page.focus(".channel .composer-input")
    await b.page.keyboard.press("ArrowUp")
    await b.page.fill(".edit-input", "on it, ETA 5 minutes")
    await b.page.press(".edit-input", "Enter")
    last_for_alice = a.page.locator(CHANNEL_MESSAGES).last
    await expect(last_for_alice).to_contain_text("on it, ETA 5 minutes")
    await expect(last_for_alice.locator(".edited")).to_be_visible()

    # Esc leaves an edit without saving.
    await b.page.keyboard.press("ArrowUp")
    await b.page.fill(".edit-input", "never saved")
    await b.page.press(".edit-input", "Escape")
    await expect(b.page.locator(".edit-input")).to_have_count(0)
    assert "never saved" not in await _history(bob, channel)

    bobs = b.page.locator(CHANNEL_MESSAGES).last
    await bobs.hover()
    await bobs.locator("[data-action=remove]").click()
    await _submit(b)
    await expect(a.page.locator(CHANNEL_MESSAGES)).to_have_count(1)
    assert await _texts(a) == ["ship it today"]

    # Shift+Enter makes a new line; Enter sends both lines as one message.
    await a.page.fill(".channel .composer-input", "line one")
    await a.page.press(".channel .composer-input", "Shift+Enter")
    await a.page.keyboard.type("line two")
    await a.page.press(".channel .composer-input", "Enter")
    await expect(b.page.locator(CHANNEL_MESSAGES)).to_have_count(2)
    assert (await _history(alice, channel))[-1] == "line one\nline two"

    # Emptying a message and saving it offers to delete it (it used to do nothing, silently).
    await a.page.focus(".channel .composer-input")
    await a.page.keyboard.press("ArrowUp")
    await a.page.fill(".edit-input", "")
    await a.page.press(".edit-input", "Enter")
    await expect(a.page.get_by_role("dialog", name="Delete message")).to_be_visible()
    await _submit(a)
    await expect(b.page.locator(CHANNEL_MESSAGES)).to_have_count(1)
    assert await _history(alice, channel) == ["ship it **today**"]

    # Short names of emoji show as the emoji, as in Slack; an unknown one stays as typed.
    await send_text(a, "shipped :tada: :notacode:")
    shown = b.page.locator(CHANNEL_MESSAGES).last
    await expect(shown).to_contain_text("shipped 🎉 :notacode:")
    await expect(shown.locator(".emoji")).to_have_attribute("title", ":tada:")

    # A very long message opens folded ("Show more" unfolds it, "Show less" folds it); a short one has no fold.
    await alice.post("/message/edit", channel_id=channel, contents="\n".join(f"log line {n}" for n in range(80)))
    long = b.page.locator(CHANNEL_MESSAGES).last
    await expect(long).to_contain_text("log line 0")
    more = long.locator(".show-more")
    await expect(more).to_have_text("Show more")
    folded = await long.locator(".msg-text").evaluate("t => t.getBoundingClientRect().height")
    assert folded < 400, folded  # twenty lines or so, not eighty
    await more.click()
    await expect(more).to_have_text("Show less")
    await expect(more).to_have_attribute("aria-expanded", "true")
    unfolded = await long.locator(".msg-text").evaluate("t => t.getBoundingClientRect().height")
    assert unfolded > 3 * folded, (folded, unfolded)
    await more.click()
    await expect(more).to_have_text("Show more")
    assert await b.page.locator(CHANNEL_MESSAGES, has_text="shipped").locator(".show-more").count() == 0
    a.assert_clean()
    b.assert_clean()


async def test_offline_reader_gets_every_missed_message_once_in_order(browser: Browser, web: LiveServer) -> None:
    (alice, bob), _, channel = await general_channel(web, "alice", "bob")
    for n in range(30):  # more than a screen: the list is scrolled to its newest
        await alice.post("/message/edit", channel_id=channel, contents=f"earlier {n}")
    b = await open_tab(browser, web, "bob")
    await open_channel(b, web, channel)
    await b.context.set_offline(True)
    await expect(b.page.locator(".banner")).to_be_visible()
    await send_text(b, "typed on the train")  # kept as pending while offline, in sight below the others
    await expect(b.page.locator(".channel .outbox .msg.pending")).to_have_count(1)
    await expect(b.page.locator(".channel .outbox .msg.pending")).to_be_in_viewport(ratio=1)
    sent = [f"missed {n}" for n in range(1, 6)]
    for text in sent:
        await alice.post("/message/edit", channel_id=channel, contents=text)
    await b.context.set_offline(False)
    await expect(b.page.locator("#connection")).to_have_attribute("data-status", "online")
    await expect(b.page.locator(".banner")).to_have_text("Back online.")  # said, for a moment
    await expect(b.page.locator(".banner")).to_be_hidden()
    await expect(b.page.locator(CHANNEL_MESSAGES)).to_have_count(36)
    await expect(b.page.locator(".channel .outbox .msg")).to_have_count(0)
    shown = await _texts(b)
    assert shown[-6:-1] == sent and shown[-1] == "typed on the train"
    assert (await _history(alice, channel)).count("typed on the train") == 1
    b.assert_clean()


async def test_a_dropped_socket_resumes_without_loss(browser: Browser, web: LiveServer) -> None:
    (alice, bob), _, channel = await general_channel(web, "alice", "bob")
    b = await open_tab(browser, web, "bob")
    await open_channel(b, web, channel)
    await b.page.evaluate("window.chatd.live.ws.close(4000)")  # as a network cut would, from the page's side
    await alice.post("/message/edit", channel_id=channel, contents="while you were away")
    await expect(b.page.locator(CHANNEL_MESSAGES)).to_have_count(1)
    await expect(b.page.locator("#connection")).to_have_attribute("data-status", "online")
    await alice.post("/message/edit", channel_id=channel, contents="and now")
    await expect(b.page.locator(CHANNEL_MESSAGES)).to_have_count(2)
    assert await _texts(b) == ["while you were away", "and now"]
    b.assert_clean()


async def test_an_uploaded_image_shows_its_preview_to_the_other_person(browser: Browser, web: LiveServer) -> None:
    (alice, bob), _, channel = await general_channel(web, "alice", "bob")
    a = await open_tab(browser, web, "alice")
    b = await open_tab(browser, web, "bob")
    await open_channel(a, web, channel)
    await open_channel(b, web, channel)
    picked = FilePayload(name="plan.png", mimeType="image/png", buffer=png(colour="#36c5f0"))
    await a.page.set_input_files(".channel .composer input[type=file]", files=[picked])
    await expect(a.page.locator(".tray img")).to_be_visible()  # a preview before sending
    await send_text(a, "the plan")
    image = b.page.locator(f"{CHANNEL_MESSAGES} img.thumb").last
    await expect(image).to_be_visible()
    await b.page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=await image.element_handle())

    # Dropped onto the channel, a file waits in the tray and goes with the next message.
    data = base64.b64encode(png(40, 40, "#e01e5a")).decode()
    await b.page.evaluate(
        """async (data) => {
            const bytes = Uint8Array.from(atob(data), c => c.charCodeAt(0));
            const transfer = new DataTransfer();
            transfer.items.add(new File([bytes], 'dropped.png', { type: 'image/png' }));
            document.querySelector('.channel').dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
        }""",
        data,
    )
    await expect(b.page.locator(".channel .tray img")).to_be_visible()
    await b.page.press(".channel .composer-input", "Enter")
    await expect(a.page.locator(f"{CHANNEL_MESSAGES} img.thumb")).to_have_count(2)
    a.assert_clean()
    b.assert_clean()


def _tone(seconds: float, rate: int = 8000) -> bytes:
    """A WAV of a quiet tone: a recording any browser plays, made here so the test needs no files."""
    import math
    import wave

    frames = b"".join(
        int(3000 * math.sin(2 * math.pi * 440 * n / rate)).to_bytes(2, "little", signed=True)
        for n in range(int(seconds * rate))
    )
    out = io.BytesIO()
    with wave.open(out, "wb") as sound:
        sound.setnchannels(1)
        sound.setsampwidth(2)
        sound.setframerate(rate)
        sound.writeframes(frames)
    return out.getvalue()


async def test_a_recording_plays_where_it_was_sent_and_seeks(browser: Browser, web: LiveServer) -> None:
    """A voice note plays in the message, and seeking in it asks the server for part of the file (206)."""
    (alice, bob), _, channel = await general_channel(web, "alice", "bob")
    async with httpx.AsyncClient(base_url=web.http, headers={"X-Session-ID": alice.secret}) as client:
        sent = await client.put("/message/attach", data={"channel_id": channel},
                                files={"file": ("voice note.wav", _tone(6.0), "audio/wav")})
        assert sent.status_code == 200, sent.text
    b = await open_tab(browser, web, "bob")
    statuses: list[int] = []
    b.page.on("response", lambda r: statuses.append(r.status) if "/file/download" in r.url else None)
    await open_channel(b, web, channel)
    audio = b.page.locator(f"{CHANNEL_MESSAGES} .file-audio audio")
    await expect(audio).to_have_count(1)
    await expect(b.page.locator(f"{CHANNEL_MESSAGES} .file-audio .file-name")).to_have_text("voice note.wav")
    player = await audio.element_handle()
    await b.page.wait_for_function("a => a.readyState >= 1 && Math.abs(a.duration - 6) < 0.05", arg=player)
    await b.page.evaluate("a => new Promise(done => { a.addEventListener('seeked', done, { once: true }); a.currentTime = 4.5; })", player)
    assert abs(await b.page.evaluate("a => a.currentTime", player) - 4.5) < 0.05
    # The player asks for ranges (Playwright does not always report a media element's responses: those it
    # reports are 206), and the page, signed in by its cookie as the player is, gets one for a part.
    assert all(status == 206 for status in statuses), statuses
    part = await b.page.evaluate(
        "async url => { const r = await fetch(url, { headers: { Range: 'bytes=44-45' } }); "
        "return [r.status, r.headers.get('content-range'), [...new Uint8Array(await r.arrayBuffer())]]; }",
        await audio.get_attribute("src"),
    )
    assert part == [206, "bytes 44-45/96044", list(_tone(6.0)[44:46])], part
    await screenshot(b.page, "voice-note")
    b.assert_clean()


async def test_hostile_messages_and_file_names_render_as_text(browser: Browser, web: LiveServer) -> None:
    (alice, bob), _, channel = await general_channel(web, "alice", "bob")
    hostile = [
        "<img src=x onerror=alert(1)>",
        "[click me](javascript:alert(2))",
        "<script>alert(3)</script>",
        "[data](data:text/html,<script>alert(4)</script>) and **<b onmouseover=alert(5)>bold</b>**",
        "[a](JaVaScRiPt:alert(7)) [b]( javascript:alert(8)) [c](java\tscript:alert(9)) <javascript:alert(10)>"
        " [d](&#106;avascript:alert(11)) [e](vbscript:msgbox(12)) [ok](https://example.com/x?q=<b>)",
    ]
    marked_up = "<img src=x onerror=alert(13)>"
    await alice.post("/channel/edit", id=channel, topic=f"{marked_up} topic")
    await do_create_user(web.core, "eve", "eve@example.com", PASSWORD, display_name=f"{marked_up} Eve")
    eve = await web.login("eve")
    await alice.post("/organisation/members/add", id=(await alice.get("/channel/read", id=channel))["organisation_id"], user_id=eve.id)
    await alice.post("/channel/members/add", id=channel, user_ids=[eve.id])
    await eve.post("/message/edit", channel_id=channel, contents="hi from eve")
    for text in hostile:
        await alice.post("/message/edit", channel_id=channel, contents=text)
    async with httpx.AsyncClient(base_url=web.http, headers={"X-Session-ID": alice.secret}) as client:
        uploaded = await client.put(
            "/message/attach", data={"channel_id": channel}, files={"file": ("<img src=x onerror=alert(6)>.txt", b"hi", "text/html")}
        )
        assert uploaded.status_code == 200, uploaded.text
    b = await open_tab(browser, web, "bob")
    await open_channel(b, web, channel)
    await expect(b.page.locator(CHANNEL_MESSAGES)).to_have_count(7)
    texts = (await _texts(b))[1:]
    assert texts[0] == hostile[0] and texts[2] == hostile[2]
    assert "click me" in texts[1] and "javascript:alert(10)" in texts[4]
    assert await b.page.locator(".msg-text img, .msg-text script, .msg-text b").count() == 0
    hrefs = await b.page.eval_on_selector_all(".messages .msg-text a", "nodes => nodes.map(a => a.href)")
    assert hrefs == ["https://example.com/x?q=%3Cb%3E"], hrefs  # the only link: other schemes, relative ones stay text
    await expect(b.page.locator(".file-name")).to_have_text("<img src=x onerror=alert(6)>.txt")
    await expect(b.page.locator(".channel-topic")).to_have_text(f"{marked_up} topic")
    await expect(b.page.locator(CHANNEL_MESSAGES, has_text="hi from eve").locator(".msg-author")).to_have_text(f"{marked_up} Eve")
    assert await b.page.evaluate("document.querySelectorAll('img[src=x], [onerror], [onmouseover]').length") == 0
    for message in await b.page.locator(CHANNEL_MESSAGES).all():
        await message.hover()
    await b.page.locator(".msg-text", has_text="click me").click()  # text, not a link: nothing happens

    # Search snippets arrive as HTML with <mark>s: still only text and marks.
    await b.page.fill(".search", "onerror")
    await b.page.press(".search", "Enter")
    await expect(b.page.locator(".search-panel .result")).to_have_count(2)
    marks = await b.page.locator(".search-panel mark").all_inner_texts()
    assert marks and all(m == "onerror" for m in marks), marks  # the matched word only, not what sticks to it
    assert await b.page.locator(".search-panel .result-text img, .search-panel .result-text script").count() == 0
    assert "<img src=x onerror=alert(1)>" in await b.page.locator(".search-panel").inner_text()
    b.assert_clean()  # no alert() ever ran


FOREIGN_PAGE = """<!doctype html><title>elsewhere</title>
<form id="f" method="POST" action="{target}/message/edit">
<input name="channel_id" value="{channel}"><input name="contents" value="posted by a form"></form>
<script>
window.tryFetch = async (text, mode) => {{
  const body = new URLSearchParams({{channel_id: '{channel}', contents: text}});
  try {{
    const r = await fetch('{target}/message/edit', {{method: 'POST', credentials: 'include', mode, body}});
    return mode === 'cors' ? r.status : 'sent';
  }} catch (e) {{ return 'blocked: ' + e.message; }}
}};
</script>"""


async def test_forms_and_fetches_from_other_origins_are_refused(browser: Browser, web: LiveServer) -> None:
    """A page on another port of the same host (same site: the cookie goes along) cannot write as Bob."""
    (alice, bob), _, channel = await general_channel(web, "alice", "bob")
    b = await open_tab(browser, web, "bob")
    async with other_site(FOREIGN_PAGE.format(target=web.http, channel=channel)) as foreign:
        await b.page.goto(f"{foreign}/page.html")
        assert await b.page.evaluate("tryFetch('forged by fetch', 'no-cors')") == "sent"
        assert (await b.page.evaluate("tryFetch('forged by cors fetch', 'cors')")).startswith("blocked")
        async with b.page.expect_navigation():
            await b.page.evaluate("document.getElementById('f').submit()")
        assert "cross_site" in await b.page.content()
    assert await _history(alice, channel) == []


async def test_an_allowed_origin_may_write_with_the_cookie(browser: Browser, tmp_path: Any) -> None:

    port, app_port = free_port(), free_port()
    app_origin = f"http://127.0.0.1:{app_port}"
    settings = make_settings(f"sqlite+aiosqlite:///{tmp_path}/chatd.db", tmp_path, server={"allowed_origins": [app_origin.upper()]})
    async with live(settings, port) as server:
        (alice, bob), _, channel = await general_channel(server, "alice", "bob")
        b = await open_tab(browser, server, "bob")
        async with other_site(FOREIGN_PAGE.format(target=server.http, channel=channel), app_port):
            await b.page.goto(f"{app_origin}/app.html")
            assert await b.page.evaluate("tryFetch('from the allowed app', 'cors')") == 200
            async with b.page.expect_navigation():
                await b.page.evaluate("document.getElementById('f').submit()")
        assert await _history(alice, channel) == ["from the allowed app", "posted by a form"]


async def test_threads_reactions_pins_search_and_presence(browser: Browser, web: LiveServer) -> None:
    (alice, bob), org, channel = await general_channel(web, "alice", "bob")
    await alice.post("/channel/edit", organisation_id=org, name="random")
    await alice.post("/channel/edit", organisation_id=org, type="direct", members=[bob.id])
    for text in ("Welcome to **Acme**! Say hi in here.", "The deploy checklist is pinned :)", "Who reviews the release notes?"):
        await alice.post("/message/edit", channel_id=channel, contents=text)
    b = await open_tab(browser, web, "bob")
    a = await open_tab(browser, web, "alice")
    await open_channel(a, web, channel)
    await open_channel(b, web, channel)

    # Presence: Alice sees Bob online in their direct conversation.
    await expect(a.page.locator(".side-item:has-text('bob') .presence")).to_have_class("presence online")

    # Typing shows to the other reader.
    await a.page.type(".channel .composer-input", "I")
    await expect(b.page.locator(".typing")).to_have_text("alice is typing…")

    # A reaction and a pin reach Alice live.
    question = b.page.locator(CHANNEL_MESSAGES).last
    await question.hover()
    await question.locator("[data-action=quick-react]").first.click()
    await expect(a.page.locator(f"{CHANNEL_MESSAGES} .reaction .count").first).to_have_text("1")
    # A click on a reaction adds one's own to it, a second click takes it back; the other person sees both.
    chip = a.page.locator(f"{CHANNEL_MESSAGES} .reaction:not(.add)").first
    await chip.click()
    await expect(chip).to_have_class("reaction mine")
    await expect(question.locator(".reaction .count").first).to_have_text("2")
    await chip.click()
    await expect(question.locator(".reaction .count").first).to_have_text("1")
    await expect(chip).to_have_class("reaction")
    # An emoji from the picker.
    await question.hover()
    await question.locator(".msg-actions [data-action=react]").click()
    await b.page.locator(".emoji-choice").nth(5).click()
    await expect(a.page.locator(f"{CHANNEL_MESSAGES} .reaction:not(.add)")).to_have_count(2)
    await question.hover()
    await question.locator("[data-action=pin]").click()
    await expect(a.page.locator(".msg.pinned")).to_have_count(1)

    # A thread in the side panel; the reply count reaches the other person.
    await question.hover()
    await question.locator("[data-action=thread]").first.click()
    await send_text(b, "I do, after lunch", composer=".thread-panel .composer-input")
    await expect(a.page.locator(".msg-thread")).to_contain_text("1 reply")
    await a.page.locator(".msg-thread").click()
    await expect(a.page.locator(".thread-panel .messages-inner .msg")).to_have_count(1)
    await send_text(a, "Thanks @bob", composer=".thread-panel .composer-input")
    await expect(b.page.locator(".thread-panel .messages-inner .msg")).to_have_count(2)
    await screenshot(b.page, "thread-panel")

    # Esc in the thread's box deletes nothing and keeps the thread open; the draft is the thread's, there
    # again when the thread opens again; Esc in the empty box closes it.
    reply_box = a.page.locator(".thread-panel .composer-input")
    await reply_box.fill("half a thought")
    await reply_box.press("Escape")
    await expect(reply_box).to_have_value("half a thought")
    await expect(a.page.locator(".thread-panel")).to_be_visible()
    await a.page.locator(".thread-panel [aria-label='Close panel']").click()
    await expect(a.page.locator(".thread-panel")).to_have_count(0)
    await expect(a.page.locator(".channel .composer-input")).to_have_value("I")  # the channel's own draft (typed above)
    await a.page.locator(".msg-thread").click()
    await expect(reply_box).to_have_value("half a thought")
    await reply_box.fill("")
    await reply_box.press("Escape")
    await expect(a.page.locator(".thread-panel")).to_have_count(0)

    # Search with highlighted matches; a result opens its message.
    await a.page.fill(".search", "deploy checklist")
    await a.page.press(".search", "Enter")
    await expect(a.page.locator(".search-panel mark")).to_have_count(2)
    await screenshot(a.page, "search-results")
    assert await a.page.locator(".search-panel mark").all_inner_texts() == ["deploy", "checklist"]
    await a.page.locator(".search-panel .result").first.click()
    await expect(a.page.locator(".msg.flash")).to_have_count(1)
    # A result shows the words, not the markdown around them.
    await a.page.fill(".search", "welcome")
    await a.page.press(".search", "Enter")
    await expect(a.page.locator(".search-panel .result-text")).to_have_text("Welcome to Acme! Say hi in here.")
    await expect(a.page.locator(".search-panel .result-time")).to_have_text(re.compile(r"^Today at \d"))

    # Saved items are one's own.
    saved = b.page.locator(CHANNEL_MESSAGES).first
    await saved.hover()
    await saved.locator("[data-action=flag]").click()
    await b.page.click(".side-nav >> text=Saved items")
    await expect(b.page.locator(".panel-list .result")).to_have_count(1)
    await b.page.keyboard.press("Escape")
    await screenshot(a.page, "channel")
    a.assert_clean()
    b.assert_clean()


async def test_channel_management_from_the_browser(browser: Browser, web: LiveServer) -> None:
    (alice, bob), org, channel = await general_channel(web, "alice", "bob")
    a = await open_tab(browser, web, "alice")
    b = await open_tab(browser, web, "bob")
    await open_channel(a, web, channel)
    # A dialog keeps the keyboard in it: Tab from its last button comes round to its first control, Shift+Tab
    # from there to the last; Esc closes it and gives the focus back to the button that opened it.
    add = a.page.locator(".side-section:has-text('Channels') .side-add")
    await add.focus()
    await a.page.keyboard.press("Enter")
    dialog = a.page.get_by_role("dialog")
    await expect(a.page.locator("#f-name")).to_be_focused()
    await a.page.keyboard.press("Shift+Tab")
    await expect(dialog.locator(".close")).to_be_focused()  # the first control, in the dialog's head
    await a.page.keyboard.press("Shift+Tab")
    await expect(dialog.locator("button[type=submit]")).to_be_focused()
    await a.page.keyboard.press("Tab")
    await expect(dialog.locator(".close")).to_be_focused()
    await a.page.keyboard.press("Escape")
    await expect(dialog).to_have_count(0)
    await expect(add).to_be_focused()
    await add.click()
    await a.page.fill("#f-name", "secret-plans")
    await a.page.check("#f-private")
    await _submit(a)
    await expect(a.page.locator(".channel-name")).to_contain_text("secret-plans")
    await expect(b.page.locator(".side-item", has_text="secret-plans")).to_have_count(0)
    await a.page.click(".channel-name")
    await a.page.get_by_role("menuitem", name="Add people").click()
    await a.page.fill(".picker input", "b")
    await expect(a.page.locator(".suggestion")).to_have_count(1)  # bob, not alice (in the channel already)
    await a.page.fill(".picker input", "ali")
    await expect(a.page.locator(".suggestion")).to_have_count(0)
    await a.page.fill(".picker input", "bo")
    await a.page.click(".suggestion >> text=bob")
    await _submit(a)
    await expect(b.page.locator(".side-item", has_text="secret-plans")).to_have_count(1)
    await a.page.click(".channel-name")
    await a.page.get_by_role("menuitem", name="Add people").click()
    await a.page.fill(".picker input", "b")
    await expect(a.page.get_by_role("dialog")).to_contain_text("Add people")
    await expect(a.page.locator(".suggestion")).to_have_count(0)  # bob is in now: nobody left to offer
    await a.page.keyboard.press("Escape")
    await b.page.click(".side-item >> text=secret-plans")
    # The click routes through the address; until the new channel is shown, the composer there is general's.
    await expect(b.page.locator(".channel-name")).to_contain_text("secret-plans")
    await b.page.type(".channel .composer-input", "half a sent")
    await a.page.click(".channel-topic")
    await a.page.fill("#f-topic", "Q3 surprise")
    await _submit(a)
    await expect(b.page.locator(".channel-topic")).to_have_text("Q3 surprise")
    # The channel changing under Bob's fingers does not take his box away: he types on and sends.
    await expect(b.page.locator(".channel .composer-input")).to_be_focused()
    await b.page.keyboard.type("ence")
    await b.page.keyboard.press("Enter")
    await expect(a.page.locator(CHANNEL_MESSAGES).last).to_contain_text("half a sentence")
    await b.page.click(".channel-name")
    await b.page.get_by_role("menuitem", name="Leave channel").click()
    await _submit(b)
    await expect(b.page.locator(".side-item", has_text="secret-plans")).to_have_count(0)
    await a.page.click(".channel-name")
    await a.page.get_by_role("menuitem", name="Archive channel").click()
    await expect(a.page.locator(".modal")).to_contain_text("nobody can post")  # asked first: it stops everyone
    await _submit(a)
    await expect(a.page.locator(".notice")).to_contain_text("archived")

    # A direct message: Bob sees the conversation appear with an unread count, and a mention badge elsewhere.
    await a.page.click(".side-section:has-text('Direct messages') .side-add")
    await a.page.fill(".picker input", "bob")
    await a.page.press(".picker input", "Enter")
    await _submit(a)
    await expect(a.page.locator(".channel-name")).to_contain_text("bob")
    await send_text(a, "got a minute?")
    dm = b.page.locator(".side-section:has-text('Direct messages') .side-item", has_text="alice")
    await expect(dm.locator(".badge")).to_have_text("1")  # the message; the conversation's CREATE notice is no unread
    await dm.click()
    await expect(b.page.locator(f"{CHANNEL_MESSAGES}").last).to_contain_text("got a minute?")
    await expect(dm.locator(".badge")).to_have_count(0)
    await alice.post("/message/edit", channel_id=channel, contents="@bob see the plan")
    await expect(b.page.locator(".side-item", has_text="general").locator(".badge")).to_have_text("1")
    await b.page.click(".side-item >> text=general")
    await expect(b.page.locator(".side-item", has_text="general").locator(".badge")).to_have_count(0)
    a.assert_clean()
    b.assert_clean()


NOTIFICATIONS = """() => {
    // The browser's notifications, recorded: headless chromium shows none, and what matters is what chatd asks for.
    window.notices = [];
    window.Notification = class {
        static permission = 'default';
        static async requestPermission() { this.permission = 'granted'; return 'granted'; }
        constructor(title, options) { Object.assign(this, { title, body: options.body, tag: options.tag }); window.notices.push(this); }
        close() { this.closed = true; }
    };
}"""


async def _notices(tab: Tab) -> list[dict[str, str]]:
    return list(await tab.page.evaluate("window.notices.map(n => ({ title: n.title, body: n.body }))"))


async def test_a_voice_note_recorded_in_the_browser_reaches_the_other_person_as_sound(browser: Browser, web: LiveServer) -> None:
    """The microphone button records (chromium's fake microphone plays a tone), a second click stops, the note
    waits in the tray and goes with the message; the server stores it as audio, and the other person gets a
    player with its length. Esc while recording throws the note away and keeps the draft."""
    (alice, bob), _, channel = await general_channel(web, "alice", "bob")
    a = await open_tab(browser, web, "alice")
    b = await open_tab(browser, web, "bob")
    await open_channel(a, web, channel)
    await open_channel(b, web, channel)
    mic = a.page.locator(".channel .composer .mic")
    await mic.click()
    await expect(a.page.locator(".channel .composer-error")).to_contain_text("Recording a voice note")
    await expect(mic).to_have_attribute("aria-pressed", "true")
    await expect(mic.locator(".rec-time")).to_have_text(re.compile(r"0:0[0-9]"))
    await a.page.wait_for_timeout(2200)
    await mic.click()
    await expect(a.page.locator(".channel .tray-item")).to_have_count(1)
    await expect(a.page.locator(".channel .tray-item")).to_contain_text("Voice note")
    await send_text(a, "listen")
    player = b.page.locator(f"{CHANNEL_MESSAGES} .file-audio audio")
    await expect(player).to_have_count(1)
    sent = (await bob.get("/message/read", channel_id=channel, limit=1))["items"][0]
    assert sent["contents"] == "listen" and sent["files"][0]["content_type"] == "audio/webm", sent
    assert sent["files"][0]["name"].startswith("Voice note ") and sent["files"][0]["name"].endswith(".webm")
    handle = await player.element_handle()
    # WebM from a recorder carries no duration: seeking to the end makes the browser find it.
    duration = await b.page.evaluate(
        """a => new Promise(done => {
            const settle = () => { if (Number.isFinite(a.duration)) done(a.duration); };
            a.addEventListener('durationchange', settle);
            a.addEventListener('loadedmetadata', () => { a.currentTime = 1e9; settle(); });
            if (a.readyState >= 1) { a.currentTime = 1e9; settle(); }
        })""",
        handle,
    )
    assert 1.5 < duration < 6, duration

    # Esc while recording: nothing in the tray, the draft kept.
    await a.page.fill(".channel .composer-input", "a draft")
    await mic.click()
    await expect(a.page.locator(".channel .composer-error")).to_contain_text("Recording")
    await a.page.press(".channel .composer-input", "Escape")
    await expect(a.page.locator(".channel .composer-error")).to_have_text("")
    await expect(a.page.locator(".channel .tray-item")).to_have_count(0)
    await expect(a.page.locator(".channel .composer-input")).to_have_value("a draft")

    # Leaving the channel while recording turns the microphone off.
    await a.page.evaluate("""() => {
        const ask = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
        navigator.mediaDevices.getUserMedia = async (wanted) => { window.mic = await ask(wanted); return window.mic; };
    }""")
    other = (await alice.post("/channel/edit", organisation_id=(await alice.get("/channel/read", id=channel))["organisation_id"], name="elsewhere"))["id"]
    await mic.click()
    await expect(a.page.locator(".channel .composer-error")).to_contain_text("Recording")
    assert await a.page.evaluate("window.mic.getTracks().every(t => t.readyState === 'live')")
    await open_channel(a, web, other)
    await a.page.wait_for_function("window.mic.getTracks().every(t => t.readyState === 'ended')")
    await expect(a.page.locator(".channel .tray-item")).to_have_count(0)

    # So does the channel being archived under the box (its button goes with it).
    await mic.click()
    await expect(a.page.locator(".channel .composer-error")).to_contain_text("Recording")
    assert await a.page.evaluate("window.mic.getTracks().every(t => t.readyState === 'live')")
    await alice.post("/channel/archive", id=other)
    await expect(a.page.locator(".channel .notice")).to_contain_text("archived")
    await a.page.wait_for_function("window.mic.getTracks().every(t => t.readyState === 'ended')")
    a.assert_clean()
    b.assert_clean()


async def test_direct_messages_and_mentions_notify_when_not_being_read(browser: Browser, web: LiveServer) -> None:
    """Desktop notifications, as Slack's defaults give them: turned on from your menu, then a direct message
    or a mention notifies, unless you are reading that channel; a click opens it."""
    (alice, bob), org, general = await general_channel(web, "alice", "bob")
    random = (await alice.post("/channel/edit", organisation_id=org, name="random", members=[bob.id]))["id"]
    dm = (await alice.post("/channel/edit", organisation_id=org, type="direct", members=[bob.id]))["id"]
    b = await open_tab(browser, web, "bob")
    await open_channel(b, web, general)
    await b.page.evaluate(NOTIFICATIONS)

    await alice.post("/message/edit", channel_id=dm, contents="before you said yes")
    await expect(b.page.locator(".side-item", has_text="alice").locator(".badge")).to_have_text("1")
    assert await _notices(b) == []  # nothing until turned on

    await b.page.click(".side-foot")
    await b.page.get_by_role("menuitem", name="Turn on desktop notifications").click()
    await expect(b.page.locator(".toasts")).to_contain_text("Desktop notifications on")

    await alice.post("/message/edit", channel_id=general, contents="@bob in the channel you read")  # read: none
    await alice.post("/message/edit", channel_id=random, contents="chatter nobody is called in")  # no mention: none
    await alice.post("/message/edit", channel_id=random, contents="@bob look at   this\nplease")
    await alice.post("/message/edit", channel_id=dm, contents="lunch at noon? @bob")  # one notice, not two
    await expect(b.page.locator(".side-item", has_text="alice").locator(".badge")).to_have_text("2")
    await b.page.wait_for_function("window.notices.length >= 2")
    assert await _notices(b) == [
        {"title": "alice in #random", "body": "@bob look at this please"},
        {"title": "alice", "body": "lunch at noon? @bob"},
    ]
    await b.page.evaluate("window.notices[1].onclick()")
    await expect(b.page.locator(".channel-name")).to_contain_text("alice")
    await expect(b.page.locator(CHANNEL_MESSAGES).last).to_contain_text("lunch at noon?")

    await bob.post("/message/edit", channel_id=random, contents="my own post never notifies me")
    await alice.post("/message/edit", channel_id=dm, contents="and now you are reading")
    await expect(b.page.locator(CHANNEL_MESSAGES).last).to_contain_text("and now you are reading")
    await b.page.click(".side-foot")
    await b.page.get_by_role("menuitem", name="Turn off desktop notifications").click()
    await alice.post("/message/edit", channel_id=random, contents="@bob after you turned them off")
    await expect(b.page.locator(".side-item", has_text="random").locator(".badge")).to_have_text("1")
    assert len(await _notices(b)) == 2
    b.assert_clean()


async def test_a_message_link_opens_the_message_for_those_who_may_read_it(browser: Browser, web: LiveServer) -> None:
    """"Copy link" on a message, as in Slack: the link opens the channel scrolled to the message (however far
    back), or its thread; to someone who may not read the channel it says so, and shows nothing of it."""
    (alice, bob, carol), org, _ = await general_channel(web, "alice", "bob", "carol")
    plans = (await alice.post("/channel/edit", organisation_id=org, name="plans", type="private", members=[bob.id]))["id"]
    decision = await alice.post("/message/edit", channel_id=plans, contents="the decision: we ship on Friday")
    reply = await bob.post("/message/edit", channel_id=plans, contents="agreed, Friday it is", reply_to=decision["id"])
    b = await open_tab(browser, web, "bob")
    await b.context.grant_permissions(["clipboard-read", "clipboard-write"])
    await open_channel(b, web, plans)
    message = b.page.locator(CHANNEL_MESSAGES, has_text="the decision")
    await message.hover()
    await message.locator("[data-action=link]").click()
    await expect(b.page.locator(".toasts")).to_contain_text("Link copied")
    link = await b.page.evaluate("navigator.clipboard.readText()")
    assert link == f"{web.http}/#/c/{plans}/m/{decision['id']}", link

    for start in range(0, 120, 20):  # the decision is three pages back now (sent 20 at a time: one batch each)
        await asyncio.gather(*(alice.post("/message/edit", channel_id=plans, contents=f"later message {n}")
                               for n in range(start, start + 20)))
    other = await open_tab(browser, web, "bob")
    await other.page.goto(link)
    await expect(other.page.locator(CHANNEL_MESSAGES, has_text="the decision")).to_be_in_viewport()
    await expect(other.page.locator(".channel-name")).to_contain_text("plans")
    assert other.page.url == f"{web.http}/#/c/{plans}"  # the address is the channel's again

    # A message link sent in a message opens here, as a jump, not in a second copy of the client.
    await alice.post("/message/edit", channel_id=plans, contents=f"see {link}")
    sent_link = other.page.locator(f"{CHANNEL_MESSAGES} .msg-text a", has_text="/m/")
    await expect(sent_link).to_have_attribute("href", link)
    assert await sent_link.get_attribute("target") is None

    # A reply's link opens its thread.
    await other.page.goto(f"{web.http}/#/c/{plans}/m/{reply['id']}")
    await expect(other.page.locator(".thread-panel")).to_contain_text("agreed, Friday it is")

    # Carol is not in the private channel: the link shows her nothing of it.
    c = await open_tab(browser, web, "carol")
    await c.page.goto(link)
    await expect(c.page.locator(".toasts")).to_contain_text("does not exist or is not visible to you")
    assert await c.page.locator("text=the decision").count() == 0
    assert await c.page.locator(".side-item", has_text="plans").count() == 0
    for tab in (b, other, c):
        tab.assert_clean()


async def test_the_messages_are_reached_and_acted_on_from_the_keyboard(browser: Browser, web: LiveServer) -> None:
    """Shift+Tab from the box reaches the list; Up takes the newest message and moves to older ones, each
    showing its toolbar; Tab goes into that toolbar and Enter uses it. A click never focuses a message."""
    (alice, bob), _, channel = await general_channel(web, "alice", "bob")
    for text in ("first of three", "second of three", "third of three"):
        await bob.post("/message/edit", channel_id=channel, contents=text)
    a = await open_tab(browser, web, "alice")
    await open_channel(a, web, channel)
    await expect(a.page.locator(CHANNEL_MESSAGES)).to_have_count(3)
    await a.page.focus(".channel .composer-input")
    await a.page.keyboard.press("Shift+Tab")
    await expect(a.page.locator(".channel .messages")).to_be_focused()
    await a.page.keyboard.press("ArrowUp")
    third = a.page.locator(CHANNEL_MESSAGES, has_text="third of three")
    await expect(third).to_be_focused()
    await expect(third.locator(".msg-actions")).to_be_visible()
    await a.page.keyboard.press("ArrowUp")
    second = a.page.locator(CHANNEL_MESSAGES, has_text="second of three")
    await expect(second).to_be_focused()
    await expect(third.locator(".msg-actions")).to_be_hidden()
    await a.page.keyboard.press("ArrowDown")
    await expect(third).to_be_focused()
    await a.page.keyboard.press("ArrowUp")
    await a.page.keyboard.press("Tab")
    await expect(second.locator(".msg-actions button").first).to_be_focused()
    await a.page.keyboard.press("Enter")  # the first quick reaction
    await expect(second.locator(".reaction.mine")).to_have_count(1)
    # A click selects nothing: the message under the pointer does not take the focus (and keep its toolbar).
    await a.page.locator(CHANNEL_MESSAGES, has_text="first of three").locator(".msg-text").click()
    assert await a.page.evaluate("document.activeElement.classList.contains('msg')") is False
    a.assert_clean()


async def test_at_suggests_the_channels_members_and_mentions_the_one_picked(browser: Browser, web: LiveServer) -> None:
    """"@" in the box lists the channel's members, narrowing as one types; Enter or Tab writes "@username ",
    which the server reads as a mention; Esc closes the list and Enter sends again."""
    (alice, bob, bella, carl), org, general = await general_channel(web, "alice", "bob", "bella", "carl")
    bruno = await web.user("bruno")  # in the organisation, not in the channel: never suggested there
    await alice.post("/organisation/members/add", id=org, user_id=bruno.id)
    a = await open_tab(browser, web, "alice")
    await open_channel(a, web, general)
    box = a.page.locator(".channel .composer-input")
    picker = a.page.locator(".channel .mention-picker")
    await box.fill("")
    await box.press_sequentially("thanks @b")
    await expect(picker.locator(".mention-choice")).to_have_count(2)  # bella and bob: carl and alice are not b…
    assert await picker.locator(".mention-username").all_inner_texts() == ["@bella", "@bob"]
    await screenshot(a.page, "mention-picker")
    await box.press_sequentially("o")
    await expect(picker.locator(".mention-choice")).to_have_count(1)
    await box.press("Enter")  # picks, does not send
    await expect(box).to_have_value("thanks @bob ")
    await expect(picker).to_be_hidden()
    await expect(box).not_to_have_attribute("aria-activedescendant", re.compile("."))  # closed: it points nowhere
    await box.press_sequentially("and @")
    await expect(picker.locator(".mention-choice")).to_have_count(3)  # everyone but the writer
    # A screen reader follows the choice through the box (focus stays there): the list is the box's, and
    # the active choice is the one it names.
    await expect(box).to_have_attribute("aria-autocomplete", "list")
    await expect(box).to_have_attribute("aria-controls", await picker.get_attribute("id") or "no id")
    active = picker.locator(".mention-choice.active")
    await expect(box).to_have_attribute("aria-activedescendant", await active.get_attribute("id") or "no id")
    await expect(active).to_contain_text("@bella")
    await box.press("ArrowDown")
    await expect(box).to_have_attribute("aria-activedescendant", await active.get_attribute("id") or "no id")
    await expect(active).to_contain_text("@bob")
    await box.press("Tab")
    await expect(box).to_have_value("thanks @bob and @bob ")
    await box.press("Enter")
    await expect(a.page.locator(CHANNEL_MESSAGES).last).to_contain_text("thanks @bob and @bob")
    sent = (await alice.get("/message/read", channel_id=general, limit=1))["items"][0]
    assert sent["mentions"] == [bob.id], sent

    # A name typed whole: Enter sends, the list does not stop it.
    await box.press_sequentially("see @bella")
    await expect(picker.locator(".mention-choice")).to_have_count(1)
    await box.press("Enter")
    await expect(a.page.locator(CHANNEL_MESSAGES).last).to_contain_text("see @bella")
    await expect(box).to_have_value("")

    # The caret moved away from the name (Home): the list closes, and Enter sends the text as it is.
    await box.press_sequentially("x @bo")
    await expect(picker.locator(".mention-choice")).to_have_count(1)
    await box.press("Home")
    await expect(picker).to_be_hidden()
    await box.press("Enter")
    await expect(a.page.locator(CHANNEL_MESSAGES).last).to_contain_text("x @bo")

    # Esc closes the list and leaves the text; Enter then sends it as typed.
    await box.press_sequentially("ping @car")
    await expect(picker.locator(".mention-choice")).to_have_count(1)
    await box.press("Escape")
    await expect(picker).to_be_hidden()
    await expect(box).to_have_value("ping @car")
    await box.press("Enter")
    await expect(a.page.locator(CHANNEL_MESSAGES).last).to_contain_text("ping @car")
    await box.press_sequentially("@b")
    await expect(picker.locator(".mention-choice")).to_have_count(2)
    await box.press_sequentially("ru")  # bruno
    await expect(picker).to_be_hidden()
    a.assert_clean()


PASTE = """async (data) => {
    const bytes = Uint8Array.from(atob(data), c => c.charCodeAt(0));
    const clipboard = new DataTransfer();
    clipboard.items.add(new File([bytes], 'image.png', { type: 'image/png' }));
    const box = document.querySelector('.channel .composer-input');
    box.focus();
    return box.dispatchEvent(new ClipboardEvent('paste', { clipboardData: clipboard, bubbles: true, cancelable: true }));
}"""


async def test_group_conversation_paste_pins_members_and_presence(browser: Browser, web: LiveServer) -> None:
    """The rest of a day's chat: a group conversation, a pasted screenshot, Esc clearing the box, the pinned
    messages and members lists, and presence dots going away and offline."""
    (alice, bob, carol), _, channel = await general_channel(web, "alice", "bob", "carol")
    await alice.post("/message/edit", channel_id=channel, contents="Release notes are on the wiki")
    a = await open_tab(browser, web, "alice")
    b = await open_tab(browser, web, "bob")
    await open_channel(a, web, channel)
    await open_channel(b, web, channel)

    # A group conversation: Alice writes to Bob and Carol; it appears for Bob, named for the others, 1 unread.
    await a.page.click(".side-section:has-text('Direct messages') .side-add")
    for name in ("bob", "carol"):
        await a.page.fill(".picker input", name)
        await a.page.press(".picker input", "Enter")
    await _submit(a)
    await expect(a.page.locator(".channel-name")).to_contain_text("bob, carol")
    await send_text(a, "lunch at noon?")
    group = b.page.locator(".side-section:has-text('Direct messages') .side-item", has_text="alice, carol")
    await expect(group.locator(".badge")).to_have_text("1")
    await group.click()
    await expect(b.page.locator(CHANNEL_MESSAGES).last).to_contain_text("lunch at noon?")
    await expect(group.locator(".badge")).to_have_count(0)
    assert (await carol.get("/channel/read", id=await b.page.evaluate("chatd.state.current")))["unread"] == 1

    # A screenshot pasted into the box waits in the tray with its preview and goes with the message.
    assert await b.page.evaluate(PASTE, base64.b64encode(png(80, 50, "#2eb67d")).decode()) is False  # taken by us
    await expect(b.page.locator(".channel .tray img")).to_be_visible()
    await b.page.keyboard.type("sure, see the menu")
    await b.page.keyboard.press("Enter")
    pasted = a.page.locator(f"{CHANNEL_MESSAGES}", has_text="see the menu").locator("img.thumb")
    await expect(pasted).to_be_visible()
    await a.page.wait_for_function("img => img.complete && img.naturalWidth === 80", arg=await pasted.element_handle())
    await expect(b.page.locator(".channel .tray img")).to_have_count(0)

    # A draft stays where it was written: Esc deletes nothing (text or files; a file leaves the tray by its
    # ×), and the text is there again after another channel and after a reload, until it is sent.
    box = b.page.locator(".channel .composer-input")
    await box.fill("never mind")
    await b.page.evaluate(PASTE, base64.b64encode(png(colour="#36c5f0")).decode())
    await expect(b.page.locator(".channel .tray img")).to_be_visible()
    await box.press("Escape")
    await expect(box).to_have_value("never mind")
    await expect(b.page.locator(".channel .tray img")).to_be_visible()
    await b.page.locator(".channel .tray-remove").click()
    await expect(b.page.locator(".channel .tray img")).to_have_count(0)
    await b.page.click(".side-item >> text=general")
    await expect(b.page.locator(".channel-name")).to_contain_text("general")
    await expect(box).to_have_value("")  # #general's box has a draft of its own: none
    await group.click()
    await expect(box).to_have_value("never mind")
    await b.page.reload()
    await expect(box).to_have_value("never mind")
    await expect(box).to_be_enabled()
    await box.press("Enter")
    await expect(a.page.locator(CHANNEL_MESSAGES).last).to_contain_text("never mind")
    await b.page.reload()
    await expect(b.page.locator(CHANNEL_MESSAGES).last).to_contain_text("never mind")
    await expect(box).to_have_value("")  # sent: no draft left

    # Pinned messages: Alice pins one in #general; Bob's list of pins shows it live, and opens it.
    await a.page.click(".side-item >> text=general")
    notes = a.page.locator(CHANNEL_MESSAGES, has_text="Release notes")
    await notes.hover()
    await notes.locator("[data-action=pin]").click()
    await b.page.click(".side-item >> text=general")
    await b.page.get_by_role("button", name="Pinned messages").click()
    pins = b.page.locator(".panel-list .result")
    await expect(pins).to_have_count(1)
    await expect(pins).to_contain_text("Release notes are on the wiki")
    await pins.click()
    await expect(b.page.locator(".msg.flash")).to_contain_text("Release notes")
    await b.page.keyboard.press("Escape")
    await expect(b.page.locator(".panel")).to_have_count(0)

    # Members, with presence: Bob online, then away (his choice), then offline (his browser closed).
    await expect(a.page.locator(".channel .tool.members")).to_have_text("3")
    await a.page.click(".channel .tool.members")
    members = a.page.locator(".panel .member")
    await expect(members).to_have_count(3)
    assert [n.split(" (")[0] for n in await a.page.locator(".panel .member-name").all_inner_texts()] == ["alice", "bob", "carol"]
    bob_dot = members.filter(has_text="bob").locator(".presence")
    await expect(bob_dot).to_have_class("presence online")
    await expect(members.filter(has_text="carol").locator(".presence")).to_have_class("presence offline")
    await b.page.get_by_role("button", name="Your account").click()
    await b.page.get_by_role("menuitem", name="Set yourself as away").click()
    await expect(bob_dot).to_have_class("presence away")
    await screenshot(a.page, "members-panel")
    b.assert_clean()
    await b.context.close()
    await expect(bob_dot).to_have_class("presence offline")
    a.assert_clean()


async def _fill(server: LiveServer, person: Person, channel: str, count: int, prefix: str) -> None:
    """Post ``count`` messages through the core, many at a time (they share commits)."""
    principal = await authenticate(server.core, person.secret)
    for start in range(0, count, 200):
        await asyncio.gather(*(
            do_post_message(server.core, principal, int(channel), f"{prefix} {n}")
            for n in range(start, min(count, start + 200))
        ))


async def test_a_long_channel_opens_at_its_newest_page_and_scrolls_back(browser: Browser, web: LiveServer) -> None:
    (alice, bob), _, channel = await general_channel(web, "alice", "bob")
    await _fill(web, alice, channel, 10_000, "history")
    reads: list[str] = []
    b = await open_tab(browser, web, "bob", path=f"/#/c/{channel}", watch=lambda tab: tab.page.on(
        "request", lambda r: reads.append(r.url) if "/message/read" in r.url else None))
    await expect(b.page.locator(CHANNEL_MESSAGES)).to_have_count(50)
    await b.page.wait_for_function("() => performance.getEntriesByName('chatd-interactive').length > 0")
    opened = await b.page.evaluate("performance.getEntriesByName('chatd-interactive')[0].startTime")
    assert len(reads) == 1 and "before" not in reads[0]
    newest = await bob.get("/message/read", channel_id=channel, limit=50)
    assert await _texts(b) == [m["contents"] for m in newest["items"]]

    # Scrolling up loads the page before and keeps what was on screen where it was.
    anchor = await b.page.locator(f"{CHANNEL_MESSAGES} .msg-text").first.element_handle()
    top_before = await anchor.evaluate(
        "n => { document.querySelector('.channel .messages').scrollTop = 0; return n.getBoundingClientRect().top; }"
    )
    await expect(b.page.locator(CHANNEL_MESSAGES)).to_have_count(100)
    assert len(reads) == 2 and "before" in reads[1]
    top_after = await anchor.evaluate("n => n.getBoundingClientRect().top")
    assert abs(top_after - top_before) < 2, (top_before, top_after)
    older = await bob.get("/message/read", channel_id=channel, limit=50, before=newest["items"][0]["id"])
    assert (await _texts(b))[:50] == [m["contents"] for m in older["items"]]
    record({"open_10000_message_channel_ms": round(opened), "open_10000_message_channel_history_requests": len(reads) - 1})
    b.assert_clean()


async def test_page_load_and_a_burst_of_a_thousand_messages(browser: Browser, web: LiveServer) -> None:
    (alice, bob), _, channel = await general_channel(web, "alice", "bob")
    interactive = "performance.getEntriesByName('chatd-interactive')[0].startTime"
    # A first visit (nothing cached): navigation start to a channel drawn, the socket live, the box ready.
    b = await open_tab(browser, web, "bob", path=f"/#/c/{channel}")
    await b.page.wait_for_function("() => performance.getEntriesByName('chatd-interactive').length > 0")
    first_visit = await b.page.evaluate(interactive)

    # The floor on this machine in this run: chromium loading the smallest answer chatd has (/healthz).
    await b.page.goto(f"{web.http}/healthz")
    floor = await b.page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd")

    # A returning visit (the immutable assets cached), as people open chatd every morning.
    await b.page.goto(f"{web.http}/#/c/{channel}")
    await b.page.wait_for_function("() => performance.getEntriesByName('chatd-interactive').length > 0")
    timing = await b.page.evaluate(
        f"""() => ({{
            interactive: {interactive},
            dcl: performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd,
        }})"""
    )
    await b.page.evaluate(
        """() => {
            window.longest = 0; window.longTasks = 0;
            new PerformanceObserver(list => list.getEntries().forEach(e => {
                window.longest = Math.max(window.longest, e.duration); window.longTasks++;
            })).observe({entryTypes: ['longtask']});
        }"""
    )
    started = await b.page.evaluate("performance.now()")
    await _fill(web, alice, channel, 1000, "burst")
    await b.page.wait_for_function(  # all 1,000 stored and the newest drawn (checked cheaply, 10 times a second)
        """id => { const line = chatd.timeline(id); const list = document.querySelector('.channel .messages-inner');
                   return line.order.length >= 1001 && list.lastElementChild.dataset.id === line.order[line.order.length - 1]; }""",
        arg=channel, polling=100, timeout=30_000,
    )
    burst = await b.page.evaluate("({done: performance.now(), longest: window.longest, count: window.longTasks})")
    await screenshot(b.page, "after-burst")
    record({
        "baseline_healthz_page_load_ms": round(floor),
        "page_interactive_first_visit_ms": round(first_visit),
        "page_interactive_first_visit_over_baseline": round(first_visit / max(floor, 1), 1),
        "page_interactive_returning_ms": round(timing["interactive"]),
        "page_interactive_returning_over_baseline": round(timing["interactive"] / max(floor, 1), 1),
        "page_dom_content_loaded_returning_ms": round(timing["dcl"]),
        "burst_1000_shown_ms": round(burst["done"] - started),
        "burst_1000_longest_task_ms": round(burst["longest"]),
        "burst_1000_long_tasks": burst["count"],
    })
    assert await b.page.locator(CHANNEL_MESSAGES).count() <= 300  # the list keeps a window, not all 1,000
    assert "burst" in (await _texts(b))[-1]
    b.assert_clean()


def _chart() -> bytes:
    """A small line chart (the kind of picture people share), drawn here so the test needs no files."""
    from PIL import ImageDraw

    image = Image.new("RGB", (480, 240), "#ffffff")
    draw = ImageDraw.Draw(image)
    for y in range(30, 240, 42):
        draw.line([(40, y), (470, y)], fill="#e6e6e6")
    points = [(40 + i * 18, 180 - (i % 5) * 6 - (40 if 6 < i < 11 else 0)) for i in range(24)]
    draw.line(points, fill="#1264a3", width=3)
    draw.line([(40, 200), (470, 200)], fill="#999999", width=1)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


async def test_showcase_screenshot(browser: Browser, web: LiveServer) -> None:
    """A lived-in workspace, photographed for the README (docs/web-client.png is a copy of showcase.png)."""
    names = {"alice": "Alice Chen", "bob": "Bob Martin", "carol": "Carol Diaz", "dan": "Dan Okafor"}
    for name, display in names.items():
        await do_create_user(web.core, name, f"{name}@example.com", PASSWORD, display_name=display)
    alice, bob, carol, dan = [await web.login(name) for name in names]
    org = (await alice.post("/organisation/edit", name="Acme"))["id"]
    for person in (bob, carol, dan):
        await alice.post("/organisation/members/add", id=org, user_id=person.id)
    everyone = [bob.id, carol.id, dan.id]
    team_id = (await alice.post("/team/edit", organisation_id=org, name="Engineering", members=everyone))["id"]

    async def channel(**spec: Any) -> str:
        return str((await alice.post("/channel/edit", organisation_id=org, **spec))["id"])

    general = await channel(name="general", topic="Company-wide announcements and chat", members=everyone)
    design = await channel(name="design", members=everyone)
    await channel(name="random", members=everyone)
    deploys = await channel(team_id=team_id, name="deploys", members=everyone)
    await channel(team_id=team_id, name="backend", members=everyone)
    await channel(name="leadership", type="private", members=[bob.id])
    await channel(type="direct", members=[bob.id])
    await channel(type="group", members=[carol.id, dan.id])

    async def say(person: Person, where: str, text: str, **extra: Any) -> str:
        return str((await person.post("/message/edit", channel_id=where, contents=text, **extra))["id"])

    await say(alice, general, "Morning all! The **v2.4 release** goes out today 🚀")
    await say(bob, general, "Checklist is on the wiki: https://wiki.example.com/releases/2.4")
    await say(carol, general, "Ran the migrations on staging:\n```\n$ chatd db upgrade\nschema 3 → 4: ok (1.2 s)\n```")
    await say(bob, general, "Nice. What is left:\n- update the changelog\n- tag `v2.4.0`\n- tell support")
    ask = await say(alice, general, "@carol could you take the changelog? _No rush before lunch._")
    await carol.post("/message/react", id=ask, emoji="👍")
    await bob.post("/message/react", id=ask, emoji="👍")
    await dan.post("/message/react", id=ask, emoji="🙏")
    await say(carol, general, "On it, I'll share a draft in ten minutes", reply_to=ask)
    await say(bob, general, "Thanks! I'll tag once it is in", reply_to=ask)
    await say(alice, general, "Perfect 🙌", reply_to=ask)
    async with httpx.AsyncClient(base_url=web.http, headers={"X-Session-ID": dan.secret}) as client:
        shared = await client.put("/message/attach", data={"channel_id": general, "contents": "Error rate during the canary: flat 📉"},
                                  files={"file": ("canary-errors.png", _chart(), "image/png")})
        assert shared.status_code == 200, shared.text
    await say(carol, general, "> Error rate during the canary: flat\nThat's what we like to see 🎉")
    await say(bob, design, "New icons are in Figma, comments welcome")
    await say(dan, design, "Love the new palette")
    await say(bob, deploys, "@alice canary is at 10%, all green")

    a = await open_tab(browser, web, "alice", path=f"/#/c/{general}")
    await expect(a.page.locator(CHANNEL_MESSAGES)).to_have_count(7)
    await a.page.locator(".msg-thread").click()
    await expect(a.page.locator(".thread-panel .messages-inner .msg")).to_have_count(3)
    await a.page.wait_for_function("() => [...document.images].every(img => img.complete)")
    await a.page.mouse.move(5, 790)
    await a.page.locator(".channel .composer-input").focus()
    await expect(a.page.locator(".side-item.unread", has_text="design")).to_have_count(1)
    await screenshot(a.page, "showcase")
    a.assert_clean()


async def test_a_direct_message_opens_with_enter_and_a_phone_sized_window_works(browser: Browser, web: LiveServer) -> None:
    """Enter, Enter in *New message* opens the conversation with the one person picked (the second Enter
    used to add the directory's first name, turning a DM into a group); on a phone-sized window the channel
    fills the width and the channel list opens from the top bar and closes when a channel is picked."""
    (alice, bob, carol), org, channel = await general_channel(web, "alice", "bob", "carol")
    a = await open_tab(browser, web, "alice")
    await open_channel(a, web, channel)
    await a.page.get_by_role("button", name="New message").click()
    await a.page.fill(".picker input", "carol")
    await a.page.press(".picker input", "Enter")
    await expect(a.page.locator(".picker .chip")).to_have_count(1)
    await a.page.press(".picker input", "Enter")  # the box is empty: done, open it
    await expect(a.page.locator(".channel-name")).to_contain_text("carol")
    await expect(a.page.locator(".channel .tool.members")).to_have_text("2")
    assert await a.page.evaluate("chatd.state.channels.get(chatd.state.current).type") == "direct"
    await send_text(a, "just between us")
    await expect(a.page.locator(CHANNEL_MESSAGES).last).to_contain_text("just between us")

    b = await open_tab(browser, web, "bob", path=f"/#/c/{channel}")
    await b.page.set_viewport_size({"width": 390, "height": 760})
    page = b.page
    await page.wait_for_selector(".channel .messages-inner .msg >> nth=0")
    width = await page.evaluate("document.querySelector('.channel').getBoundingClientRect().width")
    assert width >= 380, width  # the channel, not a sliver beside a squeezed sidebar
    await expect(page.locator(".sidebar")).to_be_hidden()
    await expect(page.locator(".channel .composer-input")).to_be_visible()
    await expect(page.locator(".channel .composer .hint")).to_be_hidden()  # no Shift+Enter on a phone's keyboard
    await page.get_by_role("button", name="Channels").click()
    await expect(page.locator(".sidebar")).to_be_visible()
    await expect(page.locator(".rail")).to_be_visible()  # organisations too
    await screenshot(page, "phone-channel-list")
    await page.get_by_role("button", name="Create a channel", exact=True).click()  # the list's controls work
    await page.fill("#f-name", "mobile-planning-for-the-quarterly-retrospective-and-the-roadmap")
    await _submit(b)
    await expect(page.locator(".channel-name")).to_contain_text("mobile-planning")
    await expect(page.locator(".sidebar")).to_be_hidden()
    # A long name ends before the header's buttons, which stay whole on the screen; the full name is its title.
    name_right = await page.evaluate("document.querySelector('.channel-name').getBoundingClientRect().right")
    tools = await page.evaluate("(() => { const r = document.querySelector('.channel-tools').getBoundingClientRect(); return [r.left, r.right]; })()")
    assert name_right <= tools[0] and tools[1] <= 390, (name_right, tools)
    await expect(page.locator(".channel-name .name-text")).to_have_attribute("title", re.compile("and-the-roadmap$"))
    # A wide picture fits the phone's width; a time never breaks over two lines.
    await page.evaluate(PASTE, base64.b64encode(png(1600, 900, "#e01e5a")).decode())
    await page.keyboard.type("the whiteboard")
    await page.keyboard.press("Enter")
    picture = page.locator(f"{CHANNEL_MESSAGES} .file-image img")
    await expect(picture).to_be_visible()
    await page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=await picture.element_handle())
    box = await picture.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, box
    await page.get_by_role("button", name="Channels").click()
    await expect(page.locator(".sidebar")).to_be_visible()
    await page.keyboard.press("Escape")  # Esc closes the list too
    await expect(page.locator(".sidebar")).to_be_hidden()
    await page.get_by_role("button", name="Channels").click()
    await page.click(".side-item >> text=general")
    await expect(page.locator(".sidebar")).to_be_hidden()
    await expect(page.locator(".channel-name")).to_contain_text("general")
    await expect(page.locator(".channel .messages-inner .msg").first).to_be_in_viewport()
    # Beside a long display name the time stays on one line.
    await do_create_user(web.core, "dana", "dana@example.com", PASSWORD, display_name="Dana Alexandrina Montgomery-Featherstonehaugh the Third")
    dana = await web.login("dana")
    await alice.post("/organisation/members/add", id=org, user_id=dana.id)
    await alice.post("/channel/members/add", id=channel, user_ids=[dana.id])
    await dana.post("/message/edit", channel_id=channel, contents="hello from dana")
    dana_says = page.locator(f"{CHANNEL_MESSAGES}", has_text="hello from dana")
    await expect(dana_says.locator(".msg-author")).to_have_text("Dana Alexandrina Montgomery-Featherstonehaugh the Third")
    time = dana_says.locator(".msg-time")
    await expect(time).to_be_visible()
    lines = await time.evaluate("t => { const r = document.createRange(); r.selectNodeContents(t); return new Set([...r.getClientRects()].map(b => Math.round(b.top))).size; }")
    assert lines == 1, f"the time broke over {lines} lines"
    await screenshot(page, "phone-channel")
    a.assert_clean()
    b.assert_clean()


async def test_upload_problems_say_which_file_and_a_second_enter_posts_once(browser: Browser, tmp_path: Any) -> None:
    """A file over the upload limit (413) is named, with the reason, and the tray keeps it to be removed
    (not "wait for the connection", which would never help); Enter pressed again while files go up does not
    upload and post them a second time."""
    settings = make_settings(f"sqlite+aiosqlite:///{tmp_path}/chatd.db", tmp_path, limits={"upload_max_bytes": 50_000})
    async with live(settings) as server:
        (alice, bob), _, channel = await general_channel(server, "alice", "bob")
        a = await open_tab(browser, server, "alice")
        await open_channel(a, server, channel)
        page = a.page
        big = FilePayload(name="video.mp4", mimeType="video/mp4", buffer=bytes(200_000))
        small = FilePayload(name="notes.txt", mimeType="text/plain", buffer=b"agenda")
        await page.set_input_files(".channel .composer input[type=file]", files=[small, big])
        await send_text(a, "two files")
        error = page.locator(".channel .composer-error")
        await expect(error).to_contain_text("“video.mp4” is too large")
        await expect(error).not_to_contain_text("connection")
        await expect(page.locator(".channel .tray-item")).to_have_count(2)  # nothing lost: the files stay
        await page.get_by_role("button", name="Remove video.mp4").click()
        await expect(error).to_have_text("")
        await expect(page.locator(".channel .composer-input")).to_have_value("two files")

        # Enter twice while the upload is held up on its way: one upload, one message.
        held, release = asyncio.Event(), asyncio.Event()
        uploads: list[str] = []

        async def slow(route: Any) -> None:
            uploads.append(route.request.url)
            held.set()
            await release.wait()
            await route.continue_()

        await page.route("**/file/upload", slow)
        await page.press(".channel .composer-input", "Enter")
        await held.wait()
        await expect(error).to_contain_text("Uploading “notes.txt”")
        await page.press(".channel .composer-input", "Enter")
        await expect(page.locator(".channel .composer .send")).to_be_disabled()
        release.set()
        await expect(page.locator(CHANNEL_MESSAGES).last).to_contain_text("notes.txt")
        await expect(page.locator(".channel .tray-item")).to_have_count(0)
        await expect(error).to_have_text("")
        assert await _history(alice, channel) == ["two files"]
        assert len(uploads) == 1
        a.assert_clean()


async def test_joining_the_channel_one_reads_leaves_it_read(browser: Browser, web: LiveServer) -> None:
    """Bob reads a public channel, then joins it: what he was looking at is read, so the channel does not
    turn bold in his sidebar (it did: the server counted the messages from before he joined as unread)."""
    (alice, bob), org, general = await general_channel(web, "alice", "bob")
    deploys = (await alice.post("/channel/edit", organisation_id=org, name="deploys"))["id"]
    await alice.post("/message/edit", channel_id=deploys, contents="v1.2 is out")
    b = await open_tab(browser, web, "bob")
    await open_channel(b, web, deploys)
    await expect(b.page.locator(CHANNEL_MESSAGES).last).to_contain_text("v1.2 is out")
    await b.page.get_by_role("button", name="Join channel").click()
    await expect(b.page.locator(".channel .composer-input")).to_be_visible()
    item = b.page.locator(".side-item", has_text="deploys")
    await b.page.wait_for_function("id => chatd.state.channels.get(id).member && chatd.state.channels.get(id).unread === 0", arg=deploys)
    await expect(item).not_to_have_class(re.compile(r"\bunread\b"))
    assert (await bob.get("/channel/read", id=deploys))["unread"] == 0
    b.assert_clean()


async def test_an_archived_channel_leaves_no_unread_mark_nobody_can_clear(browser: Browser, web: LiveServer) -> None:
    """Unread messages of a channel archived before Bob read them: the sidebar hides the channel, so neither
    the organisation's dot in the rail nor the page title may count them (they did, for good)."""
    (alice, bob), org, general = await general_channel(web, "alice", "bob")
    old = (await alice.post("/channel/edit", organisation_id=org, name="old-project", members=[bob.id]))["id"]
    await alice.post("/message/edit", channel_id=old, contents="@bob one last thing")
    await alice.post("/channel/archive", id=old)
    b = await open_tab(browser, web, "bob")
    await open_channel(b, web, general)
    await b.page.wait_for_function("id => chatd.state.channels.get(id).archived && chatd.state.channels.get(id).unread === 1", arg=old)
    await expect(b.page.locator(".side-item", has_text="old-project")).to_have_count(0)
    await expect(b.page.locator(".rail-org", has_text="A").first).not_to_have_class(re.compile(r"\bunread\b"))
    await expect(b.page).to_have_title("chatd")
    b.assert_clean()


async def test_a_channel_a_hundred_messages_behind_shows_99_plus(browser: Browser, web: LiveServer) -> None:
    """The server counts unread messages up to 100, meaning "100 or more" (docs/api.md): the badge and the
    page title say "99+" from there, also when messages arrive while the page is open."""
    (alice, bob), org, general = await general_channel(web, "alice", "bob")
    busy = (await alice.post("/channel/edit", organisation_id=org, name="busy", type="group", members=[bob.id]))["id"]
    await _fill(web, alice, busy, 99, "catching up")
    b = await open_tab(browser, web, "bob")
    await open_channel(b, web, general)
    badge = b.page.locator(".side-item", has_text="busy").locator(".badge")
    await expect(badge).to_have_text("99")
    await alice.post("/message/edit", channel_id=busy, contents="the hundredth")
    await expect(badge).to_have_text("99+")
    await expect(b.page).to_have_title("(99+) chatd")
    await _fill(web, alice, busy, 20, "more")
    await b.page.reload()  # the server's count this time: 100, of 120
    await b.page.wait_for_selector("#connection[data-status=online]", state="attached")
    await expect(badge).to_have_text("99+")
    assert await b.page.evaluate("id => chatd.state.channels.get(id).unread", busy) == 100
    b.assert_clean()


async def test_history_that_cannot_be_read_says_so_and_is_read_again(browser: Browser, web: LiveServer) -> None:
    """History requests that fail (the server restarting, the network gone) used to leave an empty channel
    saying "This is the very beginning of the conversation", or nothing at all when scrolling back: now the
    list says the messages could not be loaded, offers *Try again*, and loads them once it can."""
    (alice, bob), org, general = await general_channel(web, "alice", "bob")
    await _fill(web, alice, general, 120, "old news")
    quiet = (await alice.post("/channel/edit", organisation_id=org, name="quiet", members=[bob.id]))["id"]
    await alice.post("/message/edit", channel_id=quiet, contents="the quiet channel's only message")
    b = await open_tab(browser, web, "bob")
    await open_channel(b, web, general)
    page = b.page

    async def unreachable(route: Any) -> None:
        await route.abort("connectionrefused")

    await page.route("**/message/read?*", unreachable)
    await page.click(".side-item >> text=quiet")
    failed = page.locator(".channel .messages-top .failed")
    await expect(failed).to_contain_text("Could not load messages")
    await expect(page.locator(".channel .channel-start")).to_have_count(0)
    await page.unroute("**/message/read?*", unreachable)
    await failed.get_by_role("button", name="Try again").click()
    await expect(page.locator(f"{CHANNEL_MESSAGES} .msg-text")).to_have_text(["the quiet channel's only message"])
    await expect(page.locator(".channel .channel-start")).to_be_visible()

    await page.click(".side-item >> text=general")
    await expect(page.locator(CHANNEL_MESSAGES)).to_have_count(50)
    await page.route("**/message/read?*", unreachable)
    await page.eval_on_selector(".channel .messages", "el => el.scrollTop = 0")
    await expect(failed).to_contain_text("Could not load older messages")
    await page.unroute("**/message/read?*", unreachable)
    await failed.get_by_role("button", name="Try again").click()
    await expect(page.locator(CHANNEL_MESSAGES)).to_have_count(100)
    await expect(failed).to_have_count(0)
    b.assert_clean()


async def test_on_a_phone_a_tap_shows_the_toolbar_and_search_results_open_their_message(browser: Browser, web: LiveServer) -> None:
    """Touch screens have no hover: a tap on a short message used to show its toolbar under the finger and
    press whichever button it brought there (a ❤️, a pin); now the tap shows the toolbar, the next tap uses
    it. A search result opened on a phone closes the search, which covered the message."""
    (alice, bob), _, general = await general_channel(web, "alice", "bob")
    await alice.post("/message/edit", channel_id=general, contents="ok")
    for n in range(60):
        await alice.post("/message/edit", channel_id=general, contents=f"filler {n}")
    context = await browser.new_context(viewport={"width": 390, "height": 760}, has_touch=True, is_mobile=True)
    page = await context.new_page()
    tab = Tab(context, page)
    page.on("pageerror", lambda exc: tab.errors.append(str(exc)))
    writes: list[str] = []
    page.on("request", lambda r: writes.append(r.url) if r.method == "POST" else None)
    assert (await context.request.post(f"{web.http}/user/login", data={"username": "bob", "password": PASSWORD})).ok
    await page.goto(f"{web.http}/#/c/{general}")
    short = page.locator(CHANNEL_MESSAGES).last
    await expect(short).to_contain_text("filler 59")
    await short.tap()
    await expect(short).to_have_class(re.compile(r"\btouched\b"))
    await expect(short.locator(".msg-actions")).to_be_visible()
    await expect(short.locator(".reaction:not(.add)")).to_have_count(0)
    assert not [url for url in writes if "/message/" in url], writes  # the tap changed nothing
    await short.locator(".msg-actions [data-action=quick-react]").first.tap()
    await expect(short.locator(".reaction:not(.add)")).to_have_count(1)

    await page.fill("input.search", "ok")
    await page.press("input.search", "Enter")
    result = page.locator(".panel .result", has_text="ok")
    await result.first.tap()
    await expect(page.locator(".panel")).to_have_count(0)
    await expect(page.locator(".msg.flash")).to_be_in_viewport()
    await expect(page.locator(".msg.flash")).to_contain_text("ok")
    tab.assert_clean()
    await context.close()


async def test_opening_a_channel_marks_where_the_unread_messages_start(browser: Browser, web: LiveServer) -> None:
    """As in Slack and Mattermost, a "New" line sits above the first message Bob has not read yet."""
    (alice, bob), _, general = await general_channel(web, "alice", "bob")
    for text in ("standup at 10", "notes are up"):
        await alice.post("/message/edit", channel_id=general, contents=text)
    await bob.get("/message/read", channel_id=general)  # Bob reads up to here (the newest page marks it read)
    for text in ("the build is red", "fixed it", "green again"):
        await alice.post("/message/edit", channel_id=general, contents=text)
    b = await open_tab(browser, web, "bob")
    await open_channel(b, web, general)
    marked = b.page.locator(".channel .msg.first-unread")
    await expect(marked).to_have_count(1)
    await expect(marked.locator(".msg-text")).to_have_text("the build is red")
    await screenshot(b.page, "new-messages-line")
    b.assert_clean()


async def _scroll(page: Any, to: str) -> None:
    """Scroll the message list to ``to`` (an expression of ``el``), as a reader does, and return once the page
    has handled the scroll: a message arriving before that, as it may on a loaded machine, finds the reader
    still at the bottom and pulls the list down (a reader's own scroll is handled long before)."""
    await page.eval_on_selector(".channel .messages", f"""el => new Promise((done) => {{
        el.addEventListener('scroll', () => requestAnimationFrame(() => done()), {{ once: true }});
        setTimeout(done, 2000);  // no scroll event: the list was there already
        el.scrollTop = {to};
    }})""")


async def test_new_messages_below_someone_reading_older_ones(browser: Browser, web: LiveServer) -> None:
    """Bob reads older messages when new ones come: his place holds, a pill says they came, and reaching
    the bottom reads them (the channel stayed bold and counted unread until he left it)."""
    (alice, bob), _, general = await general_channel(web, "alice", "bob")
    await _fill(web, alice, general, 80, "earlier")
    b = await open_tab(browser, web, "bob")
    await open_channel(b, web, general)
    page = b.page
    await expect(page.locator(CHANNEL_MESSAGES)).to_have_count(50)
    await _scroll(page, "el.scrollHeight - el.clientHeight - 400")
    reading = page.locator(CHANNEL_MESSAGES, has_text="earlier 40")
    top = await reading.evaluate("n => n.getBoundingClientRect().top")
    await alice.post("/message/edit", channel_id=general, contents="@bob are you there?")
    await expect(page.locator(CHANNEL_MESSAGES).last).to_contain_text("are you there?")
    pill = page.get_by_role("button", name="New messages ↓")
    await expect(pill).to_be_visible()
    item = page.locator(".side-item", has_text="general")
    await expect(item).to_have_class(re.compile(r"\bunread\b"))
    assert await reading.evaluate("n => n.getBoundingClientRect().top") == top  # not pulled down
    await pill.click()
    await expect(pill).to_be_hidden()
    await expect(item).not_to_have_class(re.compile(r"\bunread\b"))
    await expect(item.locator(".badge")).to_have_count(0)
    await page.wait_for_function("id => chatd.state.channels.get(id).unread === 0 && chatd.state.channels.get(id).mentions === 0", arg=general)
    channel = await bob.get("/channel/read", id=general)
    assert (channel["unread"], channel["mentions"]) == (0, 0)

    # Scrolling down by hand reads them too.
    await _scroll(page, "0")
    await alice.post("/message/edit", channel_id=general, contents="one more")
    await expect(item).to_have_class(re.compile(r"\bunread\b"))
    await page.eval_on_selector(".channel .messages", "el => el.scrollTop = el.scrollHeight")
    await expect(item).not_to_have_class(re.compile(r"\bunread\b"))
    b.assert_clean()


async def test_posting_from_another_device_clears_the_unread_mark_here(browser: Browser, web: LiveServer) -> None:
    """Bob answers Alice from his phone: his browser, open on another channel, stops showing the conversation
    unread, with no read event (his own post moved his marker, docs/api.md "read marks"); what Alice writes
    after that is unread again."""
    (alice, bob), org, _ = await general_channel(web, "alice", "bob")
    dm = (await alice.post("/channel/edit", organisation_id=org, type="direct", members=[bob.id]))["id"]
    await alice.post("/message/edit", channel_id=dm, contents="lunch? @bob")
    await alice.post("/message/edit", channel_id=dm, contents="or later")
    b = await open_tab(browser, web, "bob")
    item = b.page.locator(".side-section:has-text('Direct messages') .side-item", has_text="alice")
    await expect(item.locator(".badge")).to_have_text("2")
    answer = await bob.post("/message/edit", channel_id=dm, contents="12:30")  # his phone
    await expect(item.locator(".badge")).to_have_count(0)
    marker = await b.page.evaluate(f"chatd.state.channels.get('{dm}').last_read_message_id")
    assert marker == answer["id"] == (await bob.get("/channel/read", id=dm))["last_read_message_id"]
    await alice.post("/message/edit", channel_id=dm, contents="see you")
    await expect(item.locator(".badge")).to_have_text("1")
    b.assert_clean()


async def test_a_thread_reply_counts_as_unread_live_as_it_does_after_a_reload(browser: Browser, web: LiveServer) -> None:
    """The server counts others' thread replies as unread in their channel (WorkDrive lists them with the
    channel's messages); the page counts them live too, so a reload shows the count it already showed, and
    a reply that arrives while the channel is on screen is read there, so no reload shows it unread."""
    (alice, bob), org, general = await general_channel(web, "alice", "bob")
    side = (await alice.post("/channel/edit", organisation_id=org, name="side", type="group", members=[bob.id]))["id"]
    b = await open_tab(browser, web, "bob")
    await open_channel(b, web, general)
    badge = b.page.locator(".side-item", has_text="side").locator(".badge")
    root = await alice.post("/message/edit", channel_id=side, contents="plan for friday")
    await expect(badge).to_have_text("1")
    await alice.post("/message/edit", channel_id=side, contents="details in here", reply_to=root["id"])
    await expect(badge).to_have_text("2")
    await bob.post("/message/edit", channel_id=side, contents="my reply, from my phone", reply_to=root["id"])
    await expect(badge).to_have_text("2")  # his own reply neither counts nor reads the channel
    await b.page.reload()
    await b.page.wait_for_selector("#connection[data-status=online]", state="attached")
    await expect(badge).to_have_text("2")
    assert (await bob.get("/channel/read", id=side))["unread"] == 2
    await open_channel(b, web, side)  # reading it reads the replies too, then one arrives while he looks
    await expect(badge).to_have_count(0)
    reply = await alice.post("/message/edit", channel_id=side, contents="and one more", reply_to=root["id"])
    for _ in range(500):  # his page reads it (after a short pause), as reading the channel's newest page would
        seen = await bob.get("/channel/read", id=side)
        if seen["last_read_message_id"] == reply["id"]:
            break
        await asyncio.sleep(0.02)
    assert (seen["unread"], seen["last_read_message_id"]) == (0, reply["id"])
    await expect(badge).to_have_count(0)
    b.assert_clean()


async def test_a_read_that_arrives_after_a_newer_message_keeps_that_message_unread(browser: Browser, web: LiveServer) -> None:
    """Bob reads his conversation with Alice on another device while she writes again. The read's counts
    were taken before her new message, but reach his browser after it (held here until it has arrived, as
    a busy server or another node may do): the conversation still shows that one message unread, not none
    (docs/websocket.md, ``read UPDATED``)."""
    (alice, bob), org, _ = await general_channel(web, "alice", "bob")
    dm = (await alice.post("/channel/edit", organisation_id=org, type="direct", members=[bob.id]))["id"]
    await alice.post("/message/edit", channel_id=dm, contents="lunch?")
    b = await open_tab(browser, web, "bob")  # Bob's browser stays on another channel
    item = b.page.locator(".side-section:has-text('Direct messages') .side-item", has_text="alice")
    await expect(item.locator(".badge")).to_have_text("1")

    core = web.core
    publish = core.publisher.publish
    held: list[Any] = []
    release = asyncio.Event()

    async def holding_reads(events: list[Any]) -> None:
        if any(e.type == "read" for e in events):
            held.append(events)
            await release.wait()
        await publish(events)

    core.publisher.publish = holding_reads
    try:
        reading = asyncio.create_task(bob.post("/message/mark_read", channel_id=dm))  # his phone
        await wait_until(lambda: bool(held), what="Bob's read to be committed")
        await alice.post("/message/edit", channel_id=dm, contents="12:30 at the usual place")
        await expect(item.locator(".badge")).to_have_text("2")  # her new message came first
        release.set()
        answer = await reading
    finally:
        core.publisher.publish = publish
    assert answer["unread"] == 0  # counted before her message ...
    await expect(item.locator(".badge")).to_have_text("1")  # ... which is still unread here
    marker = await b.page.evaluate(f"chatd.state.channels.get('{dm}').last_read_message_id")
    assert marker == answer["last_read_message_id"]
    b.assert_clean()


async def test_a_removed_message_takes_its_unread_and_mention_counts_with_it(browser: Browser, web: LiveServer) -> None:
    """Alice mentions Bob by mistake in #general and deletes it while Bob is in #random: the count she gave
    him goes too, in the sidebar and the page's title (it stayed until a reload, though the server had
    already forgotten it)."""
    (alice, bob), org, general = await general_channel(web, "alice", "bob")
    random = (await alice.post("/channel/edit", organisation_id=org, name="random", members=[bob.id]))["id"]
    b = await open_tab(browser, web, "bob", path=f"/#/c/{random}")
    await b.page.wait_for_selector(".channel .composer-input")
    badge = b.page.locator(".side-item", has_text="general").locator(".badge")
    oops = (await alice.post("/message/edit", channel_id=general, contents="@bob oops, wrong channel"))["id"]
    await expect(badge).to_have_text("1")
    await expect(b.page).to_have_title("(1) chatd")
    await alice.delete("/message/remove", id=oops)
    await expect(badge).to_have_count(0)
    await expect(b.page).to_have_title("chatd")
    await expect(b.page.locator(".side-item.unread", has_text="general")).to_have_count(0)  # nor bold
    b.assert_clean()


async def test_pins_and_saved_items_follow_edits_and_removals(browser: Browser, web: LiveServer) -> None:
    """A pinned or saved message that is edited shows its new words in the open panel, and one that is
    removed leaves it, without reopening it (both kept the old text, and a removed message stayed listed)."""
    (alice, bob), org, general = await general_channel(web, "alice", "bob")
    pinned = (await alice.post("/message/edit", channel_id=general, contents="the plan is A"))["id"]
    saved = (await alice.post("/message/edit", channel_id=general, contents="lunch at noon"))["id"]
    await bob.post("/message/pin", id=pinned)
    await bob.post("/message/flag", id=saved)
    b = await open_tab(browser, web, "bob", path=f"/#/c/{general}")
    await b.page.wait_for_selector(".channel .composer-input")
    await b.page.get_by_role("button", name="Saved items").click()
    panel = b.page.locator(".side-panel")
    await expect(panel).to_contain_text("lunch at noon")
    await alice.post("/message/edit", id=saved, contents="lunch at one")
    await expect(panel).to_contain_text("lunch at one")
    await alice.delete("/message/remove", id=saved)
    await expect(panel).to_contain_text("No saved items")
    await b.page.click(".channel button[aria-label='Pinned messages']")
    await expect(panel).to_contain_text("the plan is A")
    await alice.post("/message/edit", id=pinned, contents="the plan is B")
    await expect(panel).to_contain_text("the plan is B")
    await alice.delete("/message/remove", id=pinned)
    await expect(panel).to_contain_text("Nothing is pinned here yet")
    b.assert_clean()


async def test_a_phone_menu_button_says_something_new_waits_elsewhere(browser: Browser, web: LiveServer) -> None:
    """On a phone the channel list is hidden behind the menu button, and the page's title, which counted a
    direct message, is not on screen: the button carries the count, and it goes once the message is read."""
    (alice, bob), org, general = await general_channel(web, "alice", "bob")
    dm = (await alice.post("/channel/edit", organisation_id=org, type="direct", members=[bob.id]))["id"]
    b = await open_tab(browser, web, "bob", path=f"/#/c/{general}")
    await b.page.set_viewport_size({"width": 390, "height": 760})
    menu = b.page.locator(".nav-toggle")
    await expect(menu).to_be_visible()
    assert await menu.get_attribute("data-count") is None
    await alice.post("/message/edit", channel_id=dm, contents="got a minute?")
    await expect(menu).to_have_attribute("data-count", "1")
    await expect(menu).to_have_attribute("aria-label", re.compile("1 new"))
    badge = await menu.evaluate("b => getComputedStyle(b, '::after').content")
    assert badge == '"1"', badge  # drawn, not only set
    await alice.post("/message/edit", channel_id=general, contents="and @bob here too")
    await expect(menu).to_have_attribute("data-count", "1")  # a mention in the channel on screen is seen there
    await menu.click()
    await b.page.locator(".side-item", has_text="alice").click()
    await expect(b.page.locator(CHANNEL_MESSAGES).last).to_contain_text("got a minute?")
    await expect(menu).not_to_have_attribute("data-count", re.compile("."))
    b.assert_clean()


async def test_a_group_conversation_down_to_two_still_reads_as_a_group(browser: Browser, web: LiveServer) -> None:
    """Carol leaves a group conversation of three: for Alice it must not turn into a second "Bob" entry
    beside her direct messages with Bob (it read exactly like one)."""
    (alice, bob, carol), org, _ = await general_channel(web, "alice", "bob", "carol")
    group = (await alice.post("/channel/edit", organisation_id=org, type="group", members=[bob.id, carol.id]))["id"]
    direct = (await alice.post("/channel/edit", organisation_id=org, type="direct", members=[bob.id]))["id"]
    await alice.post("/message/edit", channel_id=group, contents="the three of us")
    await alice.post("/message/edit", channel_id=direct, contents="just us two")
    a = await open_tab(browser, web, "alice", path=f"/#/c/{group}")
    bob_name = await a.page.evaluate(f"chatd.state.users.get('{bob.id}') && chatd.state.users.get('{bob.id}').display_name")
    await expect(a.page.locator(".channel-name")).to_contain_text(",")  # Bob and Carol
    await a.page.click(".channel-name")  # a conversation is left as one, not as a channel
    await expect(a.page.get_by_role("menuitem", name="Leave conversation")).to_be_visible()
    await a.page.keyboard.press("Escape")
    await carol.post("/channel/leave", id=group)
    await expect(a.page.locator(".channel-name")).to_contain_text("(group)")
    entries = a.page.locator(".side-item .side-name")
    await expect(entries.filter(has_text="(group)")).to_have_count(1)
    names = [n.strip() for n in await entries.all_inner_texts()]
    assert len([n for n in names if bob_name and n.startswith(bob_name)]) == 2, names  # both there, told apart
    assert len(set(n for n in names if bob_name and n.startswith(bob_name))) == 2, names
    a.assert_clean()


async def test_changing_ones_password_says_so_on_the_sign_in_form(browser: Browser, web: LiveServer) -> None:
    """A password change signs out every session, this page's too: the sign-in form it lands on says why
    (it appeared with no word, as if something had gone wrong), and the new password lets one back in."""
    (alice,), _, _ = await general_channel(web, "alice")
    a = await open_tab(browser, web, "alice")
    await a.page.get_by_role("button", name="Your account").click()
    await a.page.get_by_role("menuitem", name="Change password").click()
    await a.page.fill("#f-old_password", PASSWORD)
    await a.page.fill("#f-new_password", "a brand new secret")
    await a.page.click(".modal button[type=submit]")
    await expect(a.page.locator(".login-card .form-error")).to_contain_text("password was changed")
    await a.page.fill("#username", "alice")
    await a.page.fill("#password", "a brand new secret")
    await a.page.click("button[type=submit]")
    await expect(a.page.locator(".channel-name")).to_be_visible()
    await a.page.reload()  # said once, not on every later visit
    await expect(a.page.locator(".channel-name")).to_be_visible()
    a.assert_clean()


async def test_an_edit_whose_message_was_deleted_meanwhile_is_not_lost_silently(browser: Browser, web: LiveServer) -> None:
    """Bob is editing his message when Alice, who owns the channel, deletes it: the edit box went with no word
    and the focus nowhere. Now he is told, what he typed is on the clipboard, and he is back in the box."""
    (alice, bob), _, channel = await general_channel(web, "alice", "bob")
    b = await open_tab(browser, web, "bob", path=f"/#/c/{channel}")
    await b.context.grant_permissions(["clipboard-read", "clipboard-write"])
    await send_text(b, "meeting at 3")
    mine = b.page.locator(CHANNEL_MESSAGES, has_text="meeting at 3")
    await expect(mine).to_have_count(1)
    message_id = await mine.get_attribute("data-id")
    await b.page.press(".channel .composer-input", "ArrowUp")  # edits one's last message
    box = b.page.locator(".channel .edit-input")
    await box.fill("meeting at 4, room B")
    await alice.delete("/message/remove", id=message_id)
    await expect(b.page.locator(".toast")).to_contain_text("was deleted")
    await expect(b.page.locator(".toast")).to_contain_text("clipboard")
    assert await b.page.evaluate("navigator.clipboard.readText()") == "meeting at 4, room B"
    await expect(b.page.locator(".channel .composer-input")).to_be_focused()
    b.assert_clean()
