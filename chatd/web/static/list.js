// A scrolling list of messages (a channel or a thread) that redraws only what changed, in batches of
// at most BATCH per animation frame, so a burst of thousands of messages never freezes the page. It
// keeps a window of the newest messages in the DOM and grows it backwards as the user scrolls up.

import { clear, cmpId, h } from './dom.js';
import { decorate, isSystem, messageNode, pendingNode } from './message.js';
import { state } from './state.js';
import { toast } from './ui.js';

const BATCH = 40;
const KEEP = 200; // messages kept in the DOM while following the newest ones
const PAGE = 50;

export class MessageList {
  constructor(line, { inThread = false, channelId, rootId = null, loadOlder, onAction }) {
    this.line = line;
    this.inThread = inThread;
    this.channelId = channelId;
    this.rootId = rootId;
    this.loadOlder = loadOlder;
    this.onAction = onAction;
    this.nodes = new Map();
    this.pending = { added: new Set(), changed: new Set(), removed: new Set() };
    this.scheduled = false;
    this.loading = false;
    this.inner = h('div', { class: 'messages-inner' });
    this.top = h('div', { class: 'messages-top' });
    this.outbox = h('div', { class: 'outbox' });
    // In the tab order (Shift+Tab from the box lands here), so that the messages can be reached without a
    // mouse: see keydown.
    this.el = h('div', { class: 'messages', tabindex: '0', 'aria-label': inThread ? 'Thread' : 'Messages' }, this.top, this.inner, this.outbox);
    this.stuck = true; // following the newest messages (the view was at the bottom when last scrolled)
    this.el.addEventListener('scroll', () => {
      this.stuck = this.atBottom;
      if (this.onScrolled) this.onScrolled(this.stuck);
      this.scrolled();
    }, { passive: true });
    // Images that load, a panel that opens, a window that narrows, a message sent while offline waiting
    // below the others: stay at the bottom if we were there.
    const follow = new ResizeObserver(() => this.stuck && this.scrollToBottom());
    for (const el of [this.inner, this.outbox, this.el]) follow.observe(el);
    this.el.addEventListener('click', (e) => this.clicked(e));
    this.el.addEventListener('keydown', (e) => this.keydown(e));
  }

  // The keyboard's way through the messages, as in Slack: on the list, Up or Down takes the newest message;
  // on a message they move to the one before or after. A message so chosen shows its toolbar (as on hover)
  // and Tab goes into it, so reacting, replying, pinning, editing and deleting need no mouse. Only the
  // message chosen is focusable, and only while chosen: a click never focuses one.
  keydown(e) {
    if ((e.key !== 'ArrowUp' && e.key !== 'ArrowDown') || e.altKey || e.ctrlKey || e.metaKey || e.shiftKey) return;
    const messages = [...this.inner.children].filter((node) => node.classList.contains('msg'));
    let next = null;
    if (e.target === this.el) next = messages[messages.length - 1];
    else if (e.target.parentElement === this.inner) next = messages[messages.indexOf(e.target) + (e.key === 'ArrowUp' ? -1 : 1)];
    else return;
    e.preventDefault();
    if (!next) return;
    next.tabIndex = -1;
    next.addEventListener('blur', () => next.removeAttribute('tabindex'), { once: true });
    next.focus();
  }

  get atBottom() {
    const el = this.el;
    return el.scrollHeight - el.scrollTop - el.clientHeight < 60;
  }

  scrollToBottom() {
    this.el.scrollTop = this.el.scrollHeight;
    this.stuck = true;
  }

  // Draw the newest messages from scratch (opening a channel).
  renderAll() {
    clear(this.inner);
    this.nodes.clear();
    const ids = this.line.order.slice(-PAGE * 2);
    const frag = document.createDocumentFragment();
    let previous = null;
    for (const id of ids) {
      const message = this.line.items.get(id);
      const node = messageNode(message, { inThread: this.inThread });
      decorate(node, previous, message);
      this.nodes.set(id, node);
      frag.append(node);
      previous = message;
    }
    this.inner.append(frag);
    this.renderTop();
    this.renderOutbox();
    this.scrollToBottom();
  }

  // Draw from `id` (a little before it) to the newest: jumping to an older message.
  renderFrom(id) {
    const index = this.line.order.indexOf(id);
    if (index < 0) return this.renderAll();
    clear(this.inner);
    this.nodes.clear();
    let previous = index > 5 ? this.line.items.get(this.line.order[index - 6]) : null;
    for (const mid of this.line.order.slice(Math.max(0, index - 5))) {
      const message = this.line.items.get(mid);
      const node = messageNode(message, { inThread: this.inThread });
      decorate(node, previous, message);
      this.nodes.set(mid, node);
      this.inner.append(node);
      previous = message;
    }
    this.renderTop();
  }

  renderTop() {
    clear(this.top);
    if (this.loading) this.top.append(h('div', { class: 'loading' }, 'Loading older messages…'));
    else if (this.failed) {
      // Never "the very beginning" for history that could not be read: say so, and offer to try again
      // (the channel view also tries again by itself when the connection is back).
      this.top.append(h('div', { class: 'loading failed', role: 'alert' }, `${this.failed} `,
        h('button', { class: 'link', onclick: () => this.retry() }, 'Try again')));
    } else if (!this.line.hasMore && !this.olderInMemory().length && !this.inThread) {
      this.top.append(h('div', { class: 'channel-start' }, 'This is the very beginning of the conversation.'));
    }
  }

  renderOutbox() {
    clear(this.outbox);
    for (const item of state.outbox) {
      if (item.channel_id === this.channelId && (item.reply_to || null) === this.rootId) this.outbox.append(pendingNode(item));
    }
  }

  firstId() {
    return this.inner.firstElementChild ? this.inner.firstElementChild.dataset.id : null;
  }

  // A "New" line above the first message someone else wrote after `lastRead` (as Slack and Mattermost
  // show on opening a channel with unread messages); it stays until the channel is left.
  markFirstUnread(lastRead) {
    const first = this.line.order.find((id) => cmpId(id, lastRead) > 0 && this.line.items.get(id).user_id !== state.me.id && !isSystem(this.line.items.get(id)));
    const node = first && this.nodes.get(first);
    if (node && node.previousElementSibling) node.classList.add('first-unread');
  }

  retry() {
    this.failed = null;
    if (this.onRetry) this.onRetry();
    else this.scrolled();
  }

  olderInMemory() {
    const first = this.firstId();
    if (!first) return [];
    const index = this.line.order.indexOf(first);
    return index > 0 ? this.line.order.slice(Math.max(0, index - PAGE), index) : [];
  }

  async scrolled() {
    if (this.el.scrollTop > 300 || this.loading) return;
    let older = this.olderInMemory();
    if (!older.length && this.line.hasMore && this.loadOlder) {
      this.loading = true;
      this.renderTop();
      try {
        await this.loadOlder(this.firstId());
        this.failed = null;
      } catch (err) {
        this.failed = `Could not load older messages: ${err.message}.`;
      } finally {
        this.loading = false;
      }
      older = this.olderInMemory();
    }
    if (older.length) this.prepend(older);
    this.renderTop();
  }

  // Older messages go on top without moving what the user is reading: the text of the message that was
  // first stays where it was on screen (its day line or header may go, now that something precedes it).
  prepend(ids) {
    const next = this.inner.firstElementChild;
    const mark = next ? next.querySelector('.msg-text') || next : null;
    const before = mark ? mark.getBoundingClientRect().top : 0;
    const frag = document.createDocumentFragment();
    let previous = null;
    const index = this.line.order.indexOf(ids[0]);
    if (index > 0) previous = this.line.items.get(this.line.order[index - 1]);
    for (const id of ids) {
      const message = this.line.items.get(id);
      const node = messageNode(message, { inThread: this.inThread });
      decorate(node, previous, message);
      this.nodes.set(id, node);
      frag.append(node);
      previous = message;
    }
    this.inner.prepend(frag);
    if (next) decorate(next, previous, this.line.items.get(next.dataset.id));
    if (mark) this.el.scrollTop += mark.getBoundingClientRect().top - before;
  }

  // People read after their messages were drawn (someone who joined while the page was open, fetched as
  // their first message arrived): those messages are drawn again, with their names.
  namesArrived() {
    const known = [...this.inner.querySelectorAll(':scope > .msg.unknown-author')].map((node) => node.dataset.id)
      .filter((id) => state.users.has((this.line.items.get(id) || {}).user_id));
    if (known.length) this.apply({ changed: known });
  }

  // Changes from the store: {added, changed, removed} lists of ids, applied in the next frames.
  apply(changes) {
    for (const kind of ['added', 'changed', 'removed']) for (const id of changes[kind] || []) this.pending[kind].add(id);
    if (!this.scheduled) {
      this.scheduled = true;
      requestAnimationFrame(() => this.frame());
    }
  }

  frame() {
    this.scheduled = false;
    const sticky = this.stuck || this.atBottom;
    let budget = BATCH;
    for (const id of this.pending.removed) {
      this.pending.removed.delete(id);
      this.pending.added.delete(id);
      this.pending.changed.delete(id);
      const node = this.nodes.get(id);
      if (node) {
        const next = node.nextElementSibling;
        const prev = node.previousElementSibling;
        if (node.classList.contains('editing')) this.editLost(node);
        node.remove();
        this.nodes.delete(id);
        if (next) decorate(next, prev ? this.line.items.get(prev.dataset.id) : null, this.line.items.get(next.dataset.id));
      }
    }
    const added = [...this.pending.added].sort(cmpId);
    for (const id of added) {
      if (budget-- <= 0) break;
      this.pending.added.delete(id);
      this.pending.changed.delete(id);
      this.insert(id);
    }
    for (const id of this.pending.changed) {
      if (budget-- <= 0) break;
      this.pending.changed.delete(id);
      this.redraw(id);
    }
    if (sticky) this.trim();
    if (sticky) this.scrollToBottom();
    if (this.pending.added.size || this.pending.changed.size) {
      this.scheduled = true;
      requestAnimationFrame(() => this.frame());
    }
  }

  insert(id) {
    const message = this.line.items.get(id);
    if (!message || this.nodes.has(id)) return this.redraw(id);
    const order = this.line.order;
    const index = order.indexOf(id);
    const first = this.firstId();
    if (first && cmpId(id, first) < 0) return; // older than the window: drawn when scrolled to
    let next = null;
    for (let i = index + 1; i < order.length; i++) {
      next = this.nodes.get(order[i]);
      if (next) break;
    }
    const prevNode = next ? next.previousElementSibling : this.inner.lastElementChild;
    const node = messageNode(message, { inThread: this.inThread });
    decorate(node, prevNode ? this.line.items.get(prevNode.dataset.id) : null, message);
    this.nodes.set(id, node);
    this.inner.insertBefore(node, next);
    if (next) decorate(next, message, this.line.items.get(next.dataset.id));
  }

  // The message someone was editing was deleted meanwhile (by a channel owner, or on another device): the
  // edit box goes with it, so say why, keep what was typed within reach, and give the focus back.
  editLost(node) {
    const box = node.querySelector('.edit-input');
    const typed = box ? box.value.trim() : '';
    const focused = box && document.activeElement === box;
    const say = (kept) => toast(`The message you were editing was deleted.${kept ? ' What you typed is on the clipboard.' : ''}`, 'error');
    if (typed && navigator.clipboard) navigator.clipboard.writeText(typed).then(() => say(true), () => say(false));
    else say(false);
    if (focused && this.refocus) this.refocus();
  }

  redraw(id) {
    const old = this.nodes.get(id);
    const message = this.line.items.get(id);
    if (!old || !message) return;
    if (old.classList.contains('editing')) return; // the user is editing it: leave it alone
    const node = messageNode(message, { inThread: this.inThread });
    const prev = old.previousElementSibling;
    decorate(node, prev ? this.line.items.get(prev.dataset.id) : null, message);
    old.replaceWith(node);
    this.nodes.set(id, node);
  }

  trim() {
    while (this.nodes.size > KEEP + PAGE) {
      const first = this.inner.firstElementChild;
      if (!first) break;
      this.nodes.delete(first.dataset.id);
      first.remove();
    }
  }

  highlight(id) {
    const node = this.nodes.get(id);
    if (!node) return false;
    this.stuck = false;
    node.scrollIntoView({ block: 'center' });
    node.classList.add('flash');
    setTimeout(() => node.classList.remove('flash'), 2000);
    return true;
  }

  clicked(e) {
    const button = e.target.closest('[data-action]');
    if (!button && TOUCH.matches) return this.touched(e);
    if (!button || !this.el.contains(button)) return;
    const row = button.closest('.msg');
    if (!row) return;
    e.preventDefault();
    this.onAction(button.dataset.action, row.dataset.id || row.dataset.pending, button, row);
  }

  // Without a mouse there is no hover: a tap on a message shows its toolbar (another tap, or a tap on
  // another message, hides it). The toolbar appears only after the tap, so the tap itself cannot land on
  // one of its buttons (with :hover it did: tapping a short message reacted to it or pinned it).
  touched(e) {
    if (e.target.closest('a, button, input, textarea, img')) return;
    const row = e.target.closest('.msg');
    const was = this.el.querySelector('.msg.touched');
    if (was) was.classList.remove('touched');
    if (row && row !== was) row.classList.add('touched');
  }
}

const TOUCH = window.matchMedia('(hover: none)');
