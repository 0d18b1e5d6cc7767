"""The web client's menus, toolbars and dialogs offer what the server allows (docs/api.md), in chromium.

Who may manage a channel (its owners, the organisation's owners and admins, member or not), what a reader of a
public channel who has not joined it is offered (a *Join channel* bar, in threads too, and no toolbar button
that would only be refused), a reply whose thread was deleted, the message box following the channel's name,
and a dialog's field error said once. Every wait is for a condition in the page, never a fixed sleep.
"""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from harness.browser import CHANNEL_MESSAGES, Tab, browser, open_channel, open_tab, web, general_channel, send_text  # noqa: F401 (fixtures)
from harness import LiveServer, Person, team

pytestmark = pytest.mark.slow  # a real chromium drives the web client (browser)





async def _menu(tab: Tab) -> list[str]:
    """The channel menu's entries, opened from the channel's name (and closed again)."""
    await tab.page.click(".channel-name")
    items = tab.page.get_by_role("menuitem")
    await expect(items.first).to_be_visible()
    labels = await items.all_inner_texts()
    await tab.page.keyboard.press("Escape")
    await expect(items).to_have_count(0)
    return labels


async def test_the_channel_menu_offers_what_the_server_allows(browser: Browser, web: LiveServer) -> None:
    """An ordinary member is not offered the topic (it was refused with a 403 after the form); an organisation
    admin who is an ordinary member manages the channel, and one who is not a member of a public channel too."""
    (alice, bob, carol), org, channel = await general_channel(web, "alice", "bob", "carol")
    await alice.post("/organisation/members/role", id=org, user_id=bob.id, role="admin")
    deploys = (await alice.post("/channel/edit", organisation_id=org, name="deploys", topic="Releases"))["id"]

    c = await open_tab(browser, web, "carol")
    await open_channel(c, web, channel)
    assert await _menu(c) == ["View members", "Pinned messages", "Leave channel"]
    await c.page.click(".channel-topic")  # the topic's button opens nothing either
    await expect(c.page.locator(".modal")).to_have_count(0)

    b = await open_tab(browser, web, "bob")
    await open_channel(b, web, channel)
    assert await _menu(b) == ["View members", "Add people", "Edit topic", "Rename channel", "Pinned messages", "Archive channel", "Leave channel"]
    await b.page.click(".channel-topic")
    await b.page.fill("#f-topic", "Set by an admin")
    await b.page.click(".modal button[type=submit]")
    await expect(c.page.locator(".channel-topic")).to_have_text("Set by an admin")
    await expect(b.page.locator(".modal")).to_have_count(0)  # accepted: no 403 in the form

    # Not a member of #deploys: he reads it, may join, and manages it all the same (but cannot leave it).
    await open_channel(b, web, deploys)
    await expect(b.page.locator(".channel .notice.join")).to_be_visible()
    assert await _menu(b) == ["View members", "Add people", "Edit topic", "Rename channel", "Pinned messages", "Join channel", "Archive channel"]
    await b.page.click(".channel-name")
    await b.page.get_by_role("menuitem", name="Rename channel").click()
    await b.page.fill("#f-name", "releases")
    await b.page.click(".modal button[type=submit]")
    await expect(b.page.locator(".channel-name")).to_contain_text("releases")
    assert (await alice.get("/channel/read", id=deploys))["name"] == "releases"
    b.assert_clean()
    c.assert_clean()


async def test_a_reader_who_has_not_joined_is_offered_join_not_a_reply_box(browser: Browser, web: LiveServer) -> None:
    """A public channel one has not joined: its threads show the *Join channel* bar instead of a box (a reply
    sat there as "Not sent: join the channel first"), and the toolbar offers no reaction or pin (refused too)."""
    (alice, bob, carol), org, _ = await general_channel(web, "alice", "bob", "carol")
    deploys = (await alice.post("/channel/edit", organisation_id=org, name="deploys", members=[bob.id]))["id"]
    root = await alice.post("/message/edit", channel_id=deploys, contents="Shipping 2.1 today")
    await bob.post("/message/edit", channel_id=deploys, contents="Tests are green", reply_to=root["id"])
    await alice.post("/message/react", id=root["id"], emoji="👍")

    c = await open_tab(browser, web, "carol")
    await open_channel(c, web, deploys)
    await expect(c.page.locator(".channel .notice.join")).to_be_visible()
    message = c.page.locator(CHANNEL_MESSAGES, has_text="Shipping 2.1")
    await message.hover()
    toolbar = message.locator(".msg-actions")
    await expect(toolbar.locator("[data-action=link]")).to_be_visible()  # reading, saving, a link: allowed
    await expect(toolbar.locator("[data-action=flag]")).to_be_visible()
    for refused in ("quick-react", "react", "pin", "edit"):
        await expect(toolbar.locator(f"[data-action={refused}]")).to_have_count(0)
    await expect(message.locator(".reaction:not(.add)")).to_be_disabled()  # the count shows; a click would be refused
    await expect(message.locator(".reaction.add")).to_have_count(0)

    await message.locator(".msg-thread").click()
    panel = c.page.locator(".thread-panel")
    await expect(panel.locator(".messages-inner .msg")).to_contain_text("Tests are green")
    await expect(panel.locator(".composer-input")).to_have_count(0)
    await expect(panel.locator(".thread-root [data-action=quick-react]")).to_have_count(0)
    await panel.get_by_role("button", name="Join channel").click()
    await send_text(c, "Carol here", composer=".thread-panel .composer-input")
    await expect(panel.locator(".messages-inner .msg").last).to_contain_text("Carol here")
    await expect(panel.locator(".messages-inner .msg.failed")).to_have_count(0)
    await expect(c.page.locator(".channel .composer-input")).to_be_visible()  # the channel's bar went too
    await message.hover()
    await expect(message.locator(".msg-actions [data-action=quick-react]").first).to_be_visible()  # a member reacts
    c.assert_clean()


async def test_a_reply_whose_thread_was_deleted_says_so(browser: Browser, web: LiveServer) -> None:
    """Deleting a message with replies says they go with it; a search result of such a reply, clicked, says the
    thread was deleted (it did nothing, a 404 in the console)."""
    (alice, bob), _, channel = await general_channel(web, "alice", "bob")
    root = await alice.post("/message/edit", channel_id=channel, contents="Who has the keys?")
    await bob.post("/message/edit", channel_id=channel, contents="Porcupine keys are with me", reply_to=root["id"])

    a = await open_tab(browser, web, "alice")
    await open_channel(a, web, channel)
    question = a.page.locator(CHANNEL_MESSAGES, has_text="Who has the keys?")
    await question.locator(".msg-thread").click()
    await expect(a.page.locator(".thread-panel .messages-inner .msg")).to_have_count(1)
    await question.hover()
    await question.locator("[data-action=remove]").click()
    await expect(a.page.get_by_role("dialog", name="Delete message")).to_contain_text("the 1 reply to it, other people's too,")
    await a.page.click(".modal button[type=submit]")
    await expect(question).to_have_count(0)

    b = await open_tab(browser, web, "bob")
    await open_channel(b, web, channel)
    await b.page.fill(".search", "porcupine")
    await b.page.press(".search", "Enter")
    await b.page.locator(".search-panel .result").first.click()
    await expect(b.page.locator(".toast")).to_contain_text("thread was deleted")


async def test_the_message_box_names_the_channel_as_it_is_now(browser: Browser, web: LiveServer) -> None:
    """Renamed live, the box follows ("Message #oldname" stayed); a new group conversation's box names its people
    ("Message group")."""
    (alice, bob, carol), _, channel = await general_channel(web, "alice", "bob", "carol")
    b = await open_tab(browser, web, "bob")
    await open_channel(b, web, channel)
    box = b.page.locator(".channel .composer-input")
    await expect(box).to_have_attribute("placeholder", "Message #general")
    await alice.post("/channel/edit", id=channel, name="lobby")
    await expect(b.page.locator(".channel-name")).to_contain_text("lobby")
    await expect(box).to_have_attribute("placeholder", "Message #lobby")

    await b.page.click(".side-section:has-text('Direct messages') .side-add")
    for name in ("alice", "carol"):
        await b.page.fill(".picker input", name)
        await b.page.press(".picker input", "Enter")
    await b.page.click(".modal button[type=submit]")
    await expect(b.page.locator(".channel-name")).to_contain_text("alice, carol")
    await expect(box).to_have_attribute("placeholder", "Message alice, carol")
    b.assert_clean()


async def test_a_channel_names_problem_is_said_once_and_the_field_stops_at_the_limit(browser: Browser, web: LiveServer) -> None:
    (alice,), _, channel = await general_channel(web, "alice")
    a = await open_tab(browser, web, "alice")
    await open_channel(a, web, channel)
    await a.page.click(".channel-name")
    await a.page.get_by_role("menuitem", name="Rename channel").click()
    name = a.page.locator("#f-name")
    await name.fill("x" * 200)
    await expect(name).to_have_value("x" * 128)  # what the server takes (docs/api.md: 1-128 characters)
    await name.fill("   ")
    await a.page.click(".modal button[type=submit]")
    await expect(a.page.locator(".modal .field-error")).to_have_text("must not be empty")
    await expect(a.page.locator(".modal .form-error")).to_have_text("")
    a.assert_clean()


async def test_an_organisation_admin_removes_people_and_messages_of_a_channel_they_only_belong_to(
    browser: Browser, web: LiveServer
) -> None:
    """Bob is an organisation admin and an ordinary member of #general: the members panel offers him Remove,
    and a message Carol posts while he watches offers him Delete, as the server allows (both were shown to
    the channel's own owners only)."""
    (alice, bob, carol), org, channel = await general_channel(web, "alice", "bob", "carol")
    await alice.post("/organisation/members/role", id=org, user_id=bob.id, role="admin")
    b = await open_tab(browser, web, "bob")
    await open_channel(b, web, channel)
    await b.page.click(".channel .tool.members")
    carol_row = b.page.locator(".side-panel .member", has_text="carol")
    await expect(carol_row.get_by_role("button", name="Remove")).to_be_visible()
    await carol.post("/message/edit", channel_id=channel, contents="posted while Bob watches")
    message = b.page.locator(CHANNEL_MESSAGES, has_text="posted while Bob watches")
    await message.hover()
    await expect(message.locator("button[title=Delete]")).to_be_visible()
    b.assert_clean()
