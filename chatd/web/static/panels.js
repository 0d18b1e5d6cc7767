// The right-hand panel: a thread, search results, pinned or saved messages, or members.

import * as actions from './actions.js';
import { api } from './api.js';
import { Composer, acceptDrops, typingLine } from './composer.js';
import { avatar, clear, formatWhen, h, icon } from './dom.js';
import { MessageList } from './list.js';
import { render, snippet } from './markdown.js';
import { markdownOptions, messageNode } from './message.js';
import { channelTitle, mayManage, mayWrite, state, thread, typingPlace, userName } from './state.js';
import { messageAction, readOnlyNotice, startEdit } from './channel.js';
import { presenceDot } from './sidebar.js';
import { toast } from './ui.js';

function shell(title, subtitle, onClose, ...body) {
  return h(
    'aside',
    { class: 'panel', 'aria-label': title },
    h('header', { class: 'panel-head' },
      h('div', null, h('h2', null, title), subtitle ? h('div', { class: 'panel-sub' }, subtitle) : null),
      h('button', { class: 'close', title: 'Close (Esc)', 'aria-label': 'Close panel', onclick: onClose }, '×')),
    ...body,
  );
}

function threadSubtitle(channel) {
  return channel ? (channel.type === 'public' || channel.type === 'private' ? `#${channelTitle(channel)}` : channelTitle(channel)) : '';
}

export class ThreadPanel {
  constructor(root, { onClose, onJoin = null }) {
    this.root = root;
    this.onJoin = onJoin;
    this.unsubscribe = [];
    this.line = thread(root.id);
    this.rootBox = h('div', { class: 'thread-root' });
    this.list = new MessageList(this.line, {
      inThread: true,
      channelId: root.channel_id,
      rootId: root.id,
      loadOlder: null,
      onAction: (...args) => this.action(...args),
    });
    this.action = messageAction(this.list, () => {});
    this.composer = new Composer({ channelId: root.channel_id, rootId: root.id, placeholder: 'Reply…', onEditLast: () => this.editLast() });
    this.list.refocus = () => this.composer.focus();
    // Who is typing a reply in this thread, under its box (the channel's line shows the channel's box only).
    this.typing = h('div', { class: 'typing', 'aria-live': 'polite', text: typingLine(root.channel_id, root.id) });
    const channel = state.channels.get(root.channel_id);
    // The composer, or what stands in its place: a reader of a public channel who has not joined it gets the
    // channel's *Join channel* bar (a reply would only be refused), an archived channel its notice.
    this.foot = h('div', { class: 'thread-foot' });
    this.el = shell('Thread', threadSubtitle(channel), onClose,
      h('div', { class: 'thread-body' }, this.rootBox, this.list.el), this.foot);
    this.el.classList.add('thread-panel');
    acceptDrops(this.el, this.composer);
    this.on('channel-meta', (id) => id === root.channel_id && this.renderFoot());
    this.on(`thread:${root.id}`, (changes) => this.list.apply(changes));
    this.on(`typing:${typingPlace(root.channel_id, root.id)}`, () => (this.typing.textContent = typingLine(root.channel_id, root.id)));
    this.on(`messages:${root.channel_id}`, (changes) => {
      if ([...(changes.changed || []), ...(changes.added || [])].includes(root.id)) this.renderRoot();
      if ((changes.removed || []).includes(root.id)) onClose();
    });
    this.on('outbox', (item) => item && item.reply_to === root.id && this.list.renderOutbox());
    this.on('users', () => this.list.namesArrived());
    this.renderRoot();
    this.renderFoot();
  }

  renderFoot() {
    const channel = state.channels.get(this.root.channel_id);
    const sub = this.el.querySelector('.panel-sub');
    if (sub && channel) sub.textContent = threadSubtitle(channel);  // renamed meanwhile
    const mode = !channel || mayWrite(channel) ? 'compose' : channel.archived ? 'archived' : 'join';
    if (mode === this.footMode) return;
    if (this.footMode !== undefined) {  // joined, left or archived: the toolbars change with it
      this.renderRoot();
      this.list.apply({ changed: [...this.list.nodes.keys()] });
    }
    this.footMode = mode;
    clear(this.foot);
    if (mode !== 'compose') this.composer.destroy();
    if (mode !== 'compose') {
      this.foot.append(readOnlyNotice(channel, this.onJoin));
    } else {
      this.foot.append(this.composer.el, this.typing);
      if (this.el.isConnected) this.composer.focus();
    }
  }

  on(topic, fn) {
    this.unsubscribe.push(state.bus.on(topic, fn));
  }

  renderRoot() {
    const root = state.timelines.get(this.root.channel_id)?.items.get(this.root.id) || this.root;
    this.root = root;
    const node = messageNode(root, { inThread: true });
    node.addEventListener('click', (e) => {
      const button = e.target.closest('[data-action]');
      if (button) this.action(button.dataset.action, root.id, button);
    });
    const count = root.reply_count || 0;
    clear(this.rootBox).append(node, h('div', { class: 'thread-count' }, count ? `${count} ${count === 1 ? 'reply' : 'replies'}` : 'No replies yet'));
  }

  async mount() {
    try {
      await actions.loadThread(this.root.id, this.root.channel_id);
    } catch (err) {
      toast(`Could not load the thread: ${err.message}`, 'error');
    }
    this.list.renderAll();
    if (this.footMode === 'compose') this.composer.focus();
  }

  editLast() {
    const mine = this.line.order.map((id) => this.line.items.get(id)).filter((m) => m.can_edit);
    return mine.length ? startEdit(this.list, mine[mine.length - 1].id) : false;
  }

  destroy() {
    for (const off of this.unsubscribe) off();
    this.composer.destroy();
  }
}

function resultRow(message, body, onJump) {
  const channel = state.channels.get(message.channel_id);
  return h(
    'button',
    { class: 'result', onclick: () => onJump(message) },
    h('div', { class: 'result-meta' },
      h('span', { class: 'result-channel' }, channel ? (channel.type === 'public' || channel.type === 'private' ? `#${channelTitle(channel)}` : channelTitle(channel)) : ''),
      h('span', { class: 'result-time', title: new Date(message.created_at).toLocaleString() }, formatWhen(message.created_at))),
    h('div', { class: 'result-line' }, avatar(state.users.get(message.user_id), 'sm'),
      h('div', null, h('div', { class: 'result-author' }, userName(message.user_id)), h('div', { class: 'result-text' }, body))),
  );
}

class ListPanel {
  constructor(title, subtitle, onClose) {
    this.body = h('div', { class: 'panel-list' }, h('div', { class: 'loading' }, 'Loading…'));
    this.el = shell(title, subtitle, onClose, this.body);
    this.unsubscribe = [];
  }
  destroy() {
    for (const off of this.unsubscribe) off();
  }
  show(rows, empty) {
    clear(this.body).append(...(rows.length ? rows : [h('div', { class: 'empty' }, empty)]));
  }
}

export class SearchPanel extends ListPanel {
  constructor(query, { onClose, onJump }) {
    super('Search', `Results for “${query}”`, onClose);
    this.query = query;
    this.onJump = onJump;
    this.el.classList.add('search-panel');
  }
  async mount() {
    try {
      const found = await api.get('/message/search', { query: this.query, per_page: 50 });
      this.show(found.items.map((m) => resultRow(m, snippet(m.snippet), this.onJump)), 'No messages match.');
      const note = found.total > found.items.length ? h('div', { class: 'muted pad' }, `Showing ${found.items.length} of ${found.total}.`) : null;
      if (note) this.body.append(note);
    } catch (err) {
      this.show([], err.message);
    }
  }
}

export class PinsPanel extends ListPanel {
  constructor(channelId, { onClose, onJump }) {
    super('Pinned messages', channelTitle(state.channels.get(channelId)), onClose);
    this.channelId = channelId;
    this.onJump = onJump;
    this.unsubscribe.push(state.bus.on('pins', () => this.mount()));
    this.unsubscribe.push(state.bus.on('message-updated', (id) => this.listed.has(id) && this.mount()));
    this.listed = new Set();
  }
  async mount() {
    try {
      const found = await api.get('/message/pins', { channel_id: this.channelId });
      this.listed = new Set(found.items.map((m) => m.id));
      this.show(found.items.map((m) => resultRow(m, render(m.contents, markdownOptions()), this.onJump)), 'Nothing is pinned here yet. Pin a message from its menu to keep it handy.');
    } catch (err) {
      this.show([], err.message);
    }
  }
}

export class SavedPanel extends ListPanel {
  constructor({ onClose, onJump }) {
    super('Saved items', 'Only you see what you save', onClose);
    this.onJump = onJump;
    this.unsubscribe.push(state.bus.on('flags', () => this.mount()));
    // An edit or a removal of a listed message shows at once (it used to stay as it was until reopened).
    this.unsubscribe.push(state.bus.on('message-updated', (id) => this.listed.has(id) && this.mount()));
    this.listed = new Set();
  }
  async mount() {
    try {
      const found = await api.get('/message/flags', { per_page: 100 });
      this.listed = new Set(found.items.map((m) => m.id));
      this.show(found.items.map((m) => resultRow(m, render(m.contents, markdownOptions()), this.onJump)), 'No saved items. Save a message with its bookmark button.');
    } catch (err) {
      this.show([], err.message);
    }
  }
}

export class MembersPanel extends ListPanel {
  constructor(channelId, { onClose, onAdd, onRemove }) {
    super('Members', channelTitle(state.channels.get(channelId)), onClose);
    this.channelId = channelId;
    this.onAdd = onAdd;
    this.onRemove = onRemove;
    this.unsubscribe.push(state.bus.on('presence', () => this.draw()));
    this.unsubscribe.push(state.bus.on(`members:${channelId}`, () => this.mount()));
  }
  async mount() {
    try {
      this.members = (await api.get('/channel/members', { id: this.channelId })).members;
      this.draw();
    } catch (err) {
      this.show([], err.message);
    }
  }
  draw() {
    if (!this.members) return;
    const channel = state.channels.get(this.channelId);
    const owner = mayManage(channel);  // adds and removes people: its owners, the organisation's admins
    const rows = this.members
      .map((m) => ({ ...m, name: userName(m.user_id) }))
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((m) => h('div', { class: 'member' },
        h('span', { class: 'avatar-wrap' }, avatar(state.users.get(m.user_id), 'sm'), presenceDot(m.user_id)),
        h('span', { class: 'member-name' }, m.name, m.user_id === state.me.id ? h('span', { class: 'muted' }, ' (you)') : null),
        m.role === 'owner' ? h('span', { class: 'tag' }, 'owner') : null,
        owner && m.user_id !== state.me.id && channel.type !== 'direct'
          ? h('button', { class: 'btn small subtle', onclick: () => this.onRemove(m.user_id) }, 'Remove') : null));
    const add = owner && channel.type !== 'direct' && !channel.archived
      ? h('button', { class: 'btn primary block', onclick: this.onAdd }, icon('people'), ' Add people') : null;
    clear(this.body).append(...[add, ...rows].filter(Boolean));
  }
}

export class PeoplePanel extends ListPanel {
  constructor(orgId, { onClose, onAdd, onRole }) {
    super('People', state.orgs.get(orgId)?.name || '', onClose);
    this.orgId = orgId;
    this.onAdd = onAdd;
    this.onRole = onRole;
    this.unsubscribe.push(state.bus.on('presence', () => this.draw()));
    this.unsubscribe.push(state.bus.on('org-members', () => this.mount()));
  }
  async mount() {
    try {
      const found = await api.get('/organisation/members', { id: this.orgId, per_page: 200 });
      this.members = found.items;
      this.draw();
    } catch (err) {
      this.show([], err.message);
    }
  }
  draw() {
    if (!this.members) return;
    const org = state.orgs.get(this.orgId);
    const admin = org && (org.role === 'owner' || org.role === 'admin');
    const rows = this.members
      .map((m) => ({ ...m, name: userName(m.user_id) }))
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((m) => {
        const user = state.users.get(m.user_id);
        const role = admin && m.user_id !== state.me.id
          ? h('select', { class: 'role', 'aria-label': `Role of ${m.name}`, onchange: (e) => this.onRole(m.user_id, e.target.value) },
            ['member', 'admin', 'owner'].map((r) => h('option', { value: r, selected: r === m.role }, r)))
          : h('span', { class: 'tag' }, m.role);
        return h('div', { class: 'member' },
          h('span', { class: 'avatar-wrap' }, avatar(user, 'sm'), presenceDot(m.user_id)),
          h('span', { class: 'member-name' }, m.name, user ? h('span', { class: 'muted' }, ` @${user.username}`) : null),
          role);
      });
    const add = admin ? h('button', { class: 'btn primary block', onclick: this.onAdd }, icon('people'), ' Add people') : null;
    clear(this.body).append(...[add, ...rows].filter(Boolean));
  }
}
