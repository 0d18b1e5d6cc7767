"""The web client's layout in chromium (docs/web-client.md): what a person sees of messages that are hard to
lay out. A file with a long name stays inside the message list (desktop and phone); right-to-left text runs
and aligns right to left while left-to-right text stays as it was; "(edited)" ends the text's last line; an
organisation's square in the rail shows letters of its name, never its punctuation.

Every wait is for a condition in the page, never a fixed sleep.
"""

from __future__ import annotations

import io
import wave
from typing import Any

import pytest
from playwright.async_api import Browser, FilePayload, Page, expect

from harness.browser import CHANNEL_MESSAGES, Tab, browser, open_channel, open_tab, web, general_channel, send_text  # noqa: F401 (fixtures)
from chatd.core.users import do_create_user
from harness import PASSWORD, LiveServer, Person, png, team

pytestmark = pytest.mark.slow  # a real chromium drives the web client (browser)

PHONE = {"width": 390, "height": 844}

# Where the message list's content reaches: its scroll width against its visible width, and the file pieces
# whose right edge passes the list's (each named by its class).
OVERFLOW = """() => {
    const list = document.querySelector('.channel .messages');
    const right = list.getBoundingClientRect().right;
    const over = [...list.querySelectorAll('.msg-files, .msg-files *')]
        .filter((el) => el.getBoundingClientRect().right > right + 0.5)
        .map((el) => el.getAttribute('class') || el.tagName.toLowerCase());
    return { scrollWidth: list.scrollWidth, clientWidth: list.clientWidth, over };
}"""

# The screen box of one character of an element's text: its first (which="first") or its last.
CHAR_BOX = """
function charBox(el, which) {
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    const nodes = [];
    while (walker.nextNode()) if (walker.currentNode.data.trim()) nodes.push(walker.currentNode);
    const node = which === 'first' ? nodes[0] : nodes[nodes.length - 1];
    const text = node.data;
    const at = which === 'first' ? text.search(/\\S/) : text.trimEnd().length - 1;
    const range = document.createRange();
    range.setStart(node, at);
    range.setEnd(node, at + 1);
    const r = range.getBoundingClientRect();
    return { left: r.left, right: r.right, top: r.top, bottom: r.bottom };
}
"""



def _silence(seconds: float = 0.5, rate: int = 8000) -> bytes:
    """A WAV of silence: a recording the browser plays (its own player and card in the message)."""
    out = io.BytesIO()
    with wave.open(out, "wb") as sound:
        sound.setnchannels(1)
        sound.setsampwidth(2)
        sound.setframerate(rate)
        sound.writeframes(b"\0\0" * int(seconds * rate))
    return out.getvalue()


async def _overflow(page: Page) -> dict[str, Any]:
    found: dict[str, Any] = await page.evaluate(OVERFLOW)
    return found


async def _nth_message(tab: Tab, n: int, script: str) -> Any:
    """``script`` (a function of the n-th message's element, with ``charBox`` in scope) run in the page."""
    handle = await tab.page.locator(CHANNEL_MESSAGES).nth(n).element_handle()
    return await tab.page.evaluate(f"([msg]) => {{ {CHAR_BOX}; return ({script})(msg); }}", [handle])


async def test_a_file_with_a_long_name_stays_inside_the_message_list(browser: Browser, web: LiveServer) -> None:
    """A 190-character name with no spaces (a text file, a recording and a picture sent together) wraps inside
    its card: nothing in the list is wider than the list, on a desktop or on a 390 px phone, and the whole
    name can still be read."""
    (alice,), _, channel = await general_channel(web, "alice")
    stem = ("Q3_revenue_forecast_v2_FINAL_reviewed_by_finance" * 4)[:190]  # no space, no hyphen: no place to break
    a = await open_tab(browser, web, "alice")
    await open_channel(a, web, channel)
    page = a.page
    await page.set_input_files(".channel .composer input[type=file]", files=[
        FilePayload(name=f"{stem}.txt", mimeType="text/plain", buffer=b"the numbers\n"),
        FilePayload(name=f"{stem}.wav", mimeType="audio/wav", buffer=_silence()),
        FilePayload(name=f"{stem}.png", mimeType="image/png", buffer=png(900, 300, "#36c5f0")),
    ])
    await expect(page.locator(".channel .tray .tray-item")).to_have_count(3)
    await page.fill(".channel .composer-input", "the forecast")
    await page.press(".channel .composer-input", "Enter")
    sent = page.locator(f"{CHANNEL_MESSAGES}:not(.pending)").last
    await expect(sent.locator(".file-name")).to_have_count(2)  # the text file's card, the recording's card
    await expect(sent.locator(".file-audio audio")).to_have_count(1)
    image = sent.locator("img.thumb")
    await expect(image).to_be_visible()
    await page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=await image.element_handle())

    for viewport in (None, PHONE):
        if viewport is not None:
            await page.set_viewport_size(viewport)  # type: ignore[arg-type]
            await page.wait_for_function(f"window.innerWidth === {viewport['width']}")
        found = await _overflow(page)
        assert found["scrollWidth"] <= found["clientWidth"], (viewport, found)
        assert found["over"] == [], (viewport, found)
        # Wrapped, not cut: the whole name is there to read, and nothing in the card is hidden past its edge.
        assert await sent.locator(".file-name").all_inner_texts() == [f"{stem}.txt", f"{stem}.wav"]
        for card in await sent.locator(".file-card").all():
            assert await card.evaluate("c => c.scrollWidth <= c.clientWidth"), viewport
    a.assert_clean()


async def test_right_to_left_text_runs_right_to_left_and_left_to_right_text_is_unchanged(browser: Browser, web: LiveServer) -> None:
    """Hebrew and Arabic messages take their direction from their first letter: right-aligned, a wrapped line
    starting on the right, the "?" of "שלום @alice מה שלומך?" at the sentence's end (its left); an English
    message beside them stays left to right; the message box turns as its text does."""
    (alice, bob), _, channel = await general_channel(web, "alice", "bob")
    arabic = "مرحبا بكم في القناة العامة، هذه رسالة طويلة تلتف على عدة أسطر. " * 12
    for text in ("שלום @alice מה שלומך?", arabic, "Hello @alice, how are you?", "English first\n\nثم فقرة عربية"):
        await alice.post("/message/edit", channel_id=channel, contents=text)
    b = await open_tab(browser, web, "bob")
    await open_channel(b, web, channel)
    await expect(b.page.locator(CHANNEL_MESSAGES)).to_have_count(4)

    hebrew = await _nth_message(b, 0, """(msg) => {
        const p = msg.querySelector('.msg-text p');
        return { direction: getComputedStyle(p).direction, question: charBox(p, 'last'),
                 mention: p.querySelector('.mention').getBoundingClientRect().left, first: charBox(p, 'first'),
                 right: msg.querySelector('.msg-text').getBoundingClientRect().right };
    }""")
    assert hebrew["direction"] == "rtl", hebrew
    assert hebrew["question"]["right"] <= hebrew["mention"], hebrew  # "?" ends the sentence: leftmost
    assert abs(hebrew["first"]["right"] - hebrew["right"]) < 2, hebrew  # right-aligned

    wrapped = await _nth_message(b, 1, """(msg) => {
        const p = msg.querySelector('.msg-text p');
        const box = p.getBoundingClientRect();
        return { direction: getComputedStyle(p).direction, first: charBox(p, 'first'), left: box.left, right: box.right,
                 top: box.top, bottom: box.bottom };
    }""")
    assert wrapped["direction"] == "rtl", wrapped
    assert wrapped["bottom"] - wrapped["top"] > 3 * (wrapped["first"]["bottom"] - wrapped["first"]["top"]), wrapped  # wraps
    assert abs(wrapped["first"]["right"] - wrapped["right"]) < 2, wrapped  # the first line starts on the right

    english = await _nth_message(b, 2, """(msg) => {
        const p = msg.querySelector('.msg-text p');
        return { direction: getComputedStyle(p).direction, first: charBox(p, 'first'), last: charBox(p, 'last'),
                 left: p.getBoundingClientRect().left };
    }""")
    assert english["direction"] == "ltr", english
    assert abs(english["first"]["left"] - english["left"]) < 1, english
    assert english["last"]["left"] > english["first"]["right"], english

    mixed = await _nth_message(b, 3, """(msg) => [...msg.querySelectorAll('.msg-text p')].map((p) => getComputedStyle(p).direction)""")
    assert mixed == ["ltr", "rtl"]  # each paragraph by its own first letter

    box = b.page.locator(".channel .composer-input")
    await box.fill("مرحبا يا أصدقاء")
    await expect(box).to_have_css("direction", "rtl")
    await box.fill("hello friends")
    await expect(box).to_have_css("direction", "ltr")
    b.assert_clean()


async def test_edited_ends_the_last_line_of_the_text(browser: Browser, web: LiveServer) -> None:
    """"(edited)" sits right after the last word when it fits, on the same line; a paragraph before it keeps its
    gap; in a Hebrew message it ends the (right-to-left) line on its left, the text still right-aligned."""
    (alice, bob), _, channel = await general_channel(web, "alice", "bob")
    texts = ["short and sweet", "first paragraph\n\nsecond paragraph", "שלום לכולם", "first paragraph\n\nsecond paragraph"]
    for n, text in enumerate(texts):
        sent = await alice.post("/message/edit", channel_id=channel, contents=text)
        if n < 3:  # the last one stays unedited: the gap between its paragraphs is the one to keep
            await alice.post("/message/edit", id=sent["id"], channel_id=channel, contents=text + "!")
    b = await open_tab(browser, web, "bob")
    await open_channel(b, web, channel)
    await expect(b.page.locator(f"{CHANNEL_MESSAGES} .edited")).to_have_count(3)

    where = """(msg) => {
        const text = msg.querySelector('.msg-text');
        const ps = [...text.querySelectorAll('p')];
        const mark = text.querySelector('.edited');
        return { last: charBox(ps[ps.length - 1], 'last'), starts: ps.map((p) => charBox(p, 'first')),
                 mark: mark ? mark.getBoundingClientRect().toJSON() : null, right: text.getBoundingClientRect().right };
    }"""
    found = [await _nth_message(b, n, where) for n in range(4)]
    for n in range(3):
        last, mark = found[n]["last"], found[n]["mark"]
        middle = (mark["top"] + mark["bottom"]) / 2
        assert last["top"] <= middle <= last["bottom"], (texts[n], found[n])  # on the last line, not under it
    for n in (0, 1):
        assert 0 <= found[n]["mark"]["left"] - found[n]["last"]["right"] < 12, found[n]  # right after the text
    hebrew = found[2]
    assert 0 <= hebrew["last"]["left"] - hebrew["mark"]["right"] < 12, hebrew  # after the "!", to its left
    assert abs(hebrew["starts"][0]["right"] - hebrew["right"]) < 2, hebrew  # still right-aligned
    gap = [f["starts"][1]["top"] - f["starts"][0]["top"] for f in (found[1], found[3])]
    assert abs(gap[0] - gap[1]) < 1, gap  # the paragraphs as far apart as unedited ones
    b.assert_clean()


async def test_the_rail_shows_letters_of_an_organisations_name_never_its_punctuation(browser: Browser, web: LiveServer) -> None:
    """"Beta <i>Org</i>" is "B" in the rail (its words' first letters; a word that starts with punctuation is
    skipped), the name stays text (the square's tooltip, no <i> element); other names as before."""
    (alice,), org = await team(web, "alice")
    for name in ("Beta <i>Org</i>", "Ops & Support", "(EU)"):
        await alice.post("/organisation/edit", name=name)
    a = await open_tab(browser, web, "alice")
    squares = a.page.locator(".rail .rail-org:not(.add)")
    await expect(squares).to_have_count(4)
    titles = [await s.get_attribute("title") for s in await squares.all()]
    letters = dict(zip(titles, await squares.all_inner_texts()))
    assert letters == {"Acme": "A", "Beta <i>Org</i>": "B", "Ops & Support": "OS", "(EU)": "E"}, letters
    assert await a.page.locator(".rail i").count() == 0
    a.assert_clean()
    # Avatars take their letters by the same rule (dom.js ``initials``): a person named like that too.
    await do_create_user(web.core, "quirky", "quirky@example.com", PASSWORD, display_name="(Q) <b>Quinn</b>")
    await alice.post("/organisation/members/add", id=org, user_id=(await web.login("quirky")).id)
    q = await open_tab(browser, web, "quirky")
    await expect(q.page.locator(".sidebar .avatar").last).to_have_text("Q")
    q.assert_clean()
