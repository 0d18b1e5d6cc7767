// "@" in the message box suggests the channel's members, as Slack and Mattermost do: typing narrows the list
// (by username or display name, from the start of a word), Up and Down move, Enter or Tab puts "@username "
// in the box, Esc or a click elsewhere closes it. A name typed whole is left as it is: Enter sends then, as
// it does everywhere else (only Tab adds the space), so a quick "@bob" and Enter never stops at the list.
// The server finds mentions in the text by username (chatd/core/messages.py, MENTION), so what the picker
// writes is exactly what a person could type.

import { avatar, h } from './dom.js';
import { loadMemberIds } from './nav.js';
import { state } from './state.js';

const SHOWN = 8;
// An "@" at the start or after a space, then what was typed of the name, right up to the caret.
const TYPED = /(?:^|\s)@([A-Za-z0-9._-]{0,64})$/;
const CARET_KEYS = new Set(['ArrowLeft', 'ArrowRight', 'Home', 'End', 'PageUp', 'PageDown']);
let lists = 0;  // each picker's list gets an id of its own: the box points at it and at its active choice

// The channel's members, read once (as a conversation's are, for its title) and kept up to date by member events.
async function memberIds(channelId) {
  if (state.channels.get(channelId) && !state.channels.get(channelId).member_ids) await loadMemberIds(channelId);
  const channel = state.channels.get(channelId);
  return (channel && channel.member_ids) || [];
}

function matches(user, typed) {
  if (!typed) return true;
  const words = [user.username, ...(user.display_name || '').split(/\s+/)].map((w) => w.toLowerCase());
  return words.some((w) => w.startsWith(typed));
}

export class MentionPicker {
  constructor(input, channelId) {
    this.input = input;
    this.channelId = channelId;
    this.id = `mention-list-${++lists}`;
    this.el = h('div', { class: 'mention-picker hidden', role: 'listbox', id: this.id, 'aria-label': 'People to mention' });
    // A screen reader hears the list as the box's suggestions and, as Up and Down move, the choice under
    // the caret (focus stays in the box: aria-activedescendant, the WAI-ARIA pattern for this).
    input.setAttribute('aria-autocomplete', 'list');
    this.choices = [];
    this.index = 0;
    this.start = -1;
    this.asked = 0;
    input.addEventListener('input', () => this.update());
    input.addEventListener('click', () => this.update());
    input.addEventListener('keyup', (e) => { if (CARET_KEYS.has(e.key)) this.update(); });  // the caret moved
    input.addEventListener('blur', () => setTimeout(() => this.close(), 150));  // after a click on a choice
  }

  get open() {
    return !this.el.classList.contains('hidden');
  }

  async update() {
    const before = this.input.value.slice(0, this.input.selectionStart);
    const found = TYPED.exec(before);
    if (!found || this.input.selectionStart !== this.input.selectionEnd) return this.close();
    const asked = ++this.asked;
    const ids = await memberIds(this.channelId);
    if (asked !== this.asked) return null;  // typed on meanwhile: the newer update draws
    const typed = found[1].toLowerCase();
    this.typed = typed;
    this.start = before.length - found[1].length - 1;
    this.choices = ids
      .filter((id) => id !== state.me.id)
      .map((id) => state.users.get(id))
      .filter((user) => user && matches(user, typed))
      .sort((a, b) => a.username.localeCompare(b.username))
      .slice(0, SHOWN);
    this.index = 0;
    return this.choices.length ? this.draw() : this.close();
  }

  draw() {
    this.el.replaceChildren(
      ...this.choices.map((user, index) =>
        h('div', {
          class: 'mention-choice' + (index === this.index ? ' active' : ''),
          role: 'option',
          id: `${this.id}-${index}`,
          'aria-selected': index === this.index ? 'true' : 'false',
          onmousedown: (e) => { e.preventDefault(); this.pick(index); },
        },
        avatar(user, 'sm'),
        h('span', { class: 'mention-name' }, user.display_name || user.username),
        h('span', { class: 'mention-username' }, `@${user.username}`))),
    );
    this.el.classList.remove('hidden');
    this.input.setAttribute('aria-controls', this.id);
    this.input.setAttribute('aria-activedescendant', `${this.id}-${this.index}`);
  }

  close() {
    this.el.classList.add('hidden');
    this.choices = [];
    this.input.removeAttribute('aria-controls');
    this.input.removeAttribute('aria-activedescendant');
  }

  // The box's keys while the list is open: true when the picker used the key (the box must not).
  keydown(e) {
    if (!this.open || !this.choices.length) return false;
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      const step = e.key === 'ArrowDown' ? 1 : -1;
      this.index = (this.index + step + this.choices.length) % this.choices.length;
      this.draw();
    } else if (e.key === 'Enter' && !e.shiftKey && this.choices[this.index].username.toLowerCase() === this.typed) {
      this.close();  // the name is typed whole: nothing to complete, and Enter sends as it always does
      return false;
    } else if ((e.key === 'Enter' || e.key === 'Tab') && !e.shiftKey) {
      if (!this.pick(this.index)) return false;  // the caret left the name: the key does what it always does
    } else if (e.key === 'Escape') {
      this.close();
    } else {
      return false;
    }
    e.preventDefault();
    return true;
  }

  // Writes the choice over what was typed of the name: only if the caret is still at the end of that name
  // (it may have moved without an input event); false, and the list closed, if it is not.
  pick(index) {
    const user = this.choices[index];
    const value = this.input.value;
    const caret = this.input.selectionStart;
    const found = TYPED.exec(value.slice(0, caret));
    if (!user || !found || caret - found[1].length - 1 !== this.start) {
      this.close();
      return false;
    }
    const inserted = `@${user.username} `;
    this.input.value = value.slice(0, this.start) + inserted + value.slice(caret);
    const at = this.start + inserted.length;
    this.input.setSelectionRange(at, at);
    this.close();
    this.input.focus();
    this.input.dispatchEvent(new Event('input'));  // the box resizes; the picker sees a space and stays shut
    return true;
  }
}
