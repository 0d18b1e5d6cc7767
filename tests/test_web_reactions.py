"""Who reacted, in the web client (docs/web-client.md): a reaction chip's tooltip names the people behind it.

Hovering a chip reads ``GET /message/reactions`` once and names them ("alice, carol and you reacted with 👍");
a change to the message's reactions (live, or one's own click) makes the next hover read them again, so a
name never stays after its reaction went. Every wait is for a condition in the page, never a fixed sleep.
"""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, expect

from harness.browser import CHANNEL_MESSAGES, browser, general_channel, open_channel, open_tab, web  # noqa: F401 (fixtures)
from harness import LiveServer

pytestmark = pytest.mark.slow  # a real chromium drives the web client (browser)


async def test_reaction_chip_names_who_reacted_and_follows_changes(browser: Browser, web: LiveServer) -> None:
    (alice, bob, carol), _, channel = await general_channel(web, "alice", "bob", "carol")
    message = (await alice.post("/message/edit", channel_id=channel, contents="Ship it on Friday?"))["id"]
    for person in (alice, bob, carol):
        await person.post("/message/react", id=message, emoji="👍")
    b = await open_tab(browser, web, "bob")
    await open_channel(b, web, channel)
    chip = b.page.locator(f"{CHANNEL_MESSAGES} .reaction:not(.add)")
    await expect(chip).to_have_count(1)
    await expect(chip.locator(".count")).to_have_text("3")

    # Hovered, the chip names the others in the order they reacted, and Bob as "you".
    await chip.hover()
    everyone = re.compile(r"^alice, carol and you reacted with 👍 \(click to remove yours\)$")
    await expect(chip).to_have_attribute("title", everyone)
    await expect(chip).to_have_attribute("aria-label", everyone)

    # Carol takes hers back (live): hovered again, the chip no longer names her.
    await b.page.locator(".channel .composer-input").hover()
    await carol.post("/message/unreact", id=message, emoji="👍")
    await expect(chip.locator(".count")).to_have_text("2")
    await chip.hover()
    await expect(chip).to_have_attribute("title", re.compile(r"^alice and you reacted with 👍"))

    # Bob's own click takes his back: the next hover names only Alice, and offers to add his.
    await chip.click()
    await expect(chip.locator(".count")).to_have_text("1")
    await b.page.locator(".channel .composer-input").hover()
    await chip.hover()
    await expect(chip).to_have_attribute("title", "alice reacted with 👍 (click to add yours)")

    # The wording past five names, and "You" alone (the page's own module, with its directory).
    labels = await b.page.evaluate(
        """async ([me, others]) => {
            const base = document.querySelector('script[src$="/app.js"]').src.replace(/app\\.js$/, '');
            const { reactedLabel } = await import(base + 'message.js');
            const { state } = await import(base + 'state.js');
            const names = ['dan', 'erin', 'frank', 'grace', 'heidi', 'ivan', 'judy'];
            const ids = names.map((name, i) => { const id = `9${i}`; state.users.set(id, { id, username: name }); return id; });
            return [
                reactedLabel([me], '🎉'),
                reactedLabel([others[0], me], '🎉'),
                reactedLabel([...others, ...ids.slice(0, 1)], '🎉'),
                reactedLabel([...others, ...ids], '🎉'),
                reactedLabel([...ids.slice(0, 5), me, ...ids.slice(5)], '🎉'),
            ];
        }""",
        [bob.id, [alice.id, carol.id]],
    )
    assert labels == [
        "You reacted with 🎉",
        "alice and you reacted with 🎉",
        "alice, carol and dan reacted with 🎉",
        "alice, carol, dan, erin, frank and 4 others reacted with 🎉",
        "dan, erin, frank, grace, you and 3 others reacted with 🎉",
    ]
    b.assert_clean()
