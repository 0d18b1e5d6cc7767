// The open channel: its header (name, topic, members, pins, menu), the message list, the typing line
// and the composer, plus what a message's buttons do (react, thread, pin, save, edit, delete).

import * as actions from './actions.js';
import { routeLink } from './address.js';
import { Composer, acceptDrops, typingLine } from './composer.js';
import { clear, h, icon } from './dom.js';
import { MessageList } from './list.js';
import { EMOJI } from './message.js';
import { channelTitle, findMessage, isConversation, mayManage, state, timeline } from './state.js';
import { closeMenu, confirmDialog, popover, toast } from './ui.js';

// What stands where the message box would be, for someone who may not write in `channel`: an archived
// channel's notice, or, to a reader who has not joined, the *Join channel* bar (the channel's and a thread's).
export function readOnlyNotice(channel, onJoin) {
  if (channel.archived) return h('div', { class: 'notice' }, 'This channel is archived: it can be read and searched, but not changed.');
  return h('div', { class: 'notice join' },
    h('span', null, 'You are viewing ', h('b', null, `#${channel.name}`), '.'),
    onJoin ? h('button', { class: 'btn primary', onclick: onJoin }, 'Join channel') : null);
}

export function startEdit(list, id) {
  const row = list.nodes.get(id);
  const message = list.line.items.get(id);
  if (!row || !message || !message.can_edit) return false;
  const text = row.querySelector('.msg-text');
  const box = h('textarea', { class: 'edit-input', 'aria-label': 'Edit message' });
  box.value = message.contents;
  const done = () => {
    row.classList.remove('editing');
    list.redraw(id);
    if (list.refocus) list.refocus(); // back to the message box, as after sending
  };
  const save = async () => {
    const contents = box.value.trim();
    if (!contents && !(message.files || []).length && message.can_remove) {
      // As in Slack and Mattermost: saving an emptied message offers to delete it (never a silent no-op).
      done();
      return confirmDialog('Delete message', 'You emptied this message. Delete it? This cannot be undone.', 'Delete', () => actions.remove(id));
    }
    if (!contents || contents === message.contents) return done();
    try {
      row.classList.remove('editing');
      await actions.edit(id, contents);
      list.redraw(id);
      if (list.refocus) list.refocus();
    } catch (err) {
      row.classList.add('editing');
      toast(`Could not save: ${err.message}`, 'error');
    }
  };
  box.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey) {
      e.preventDefault();
      save();
    } else if (e.key === 'Escape') {
      e.preventDefault();
      e.stopPropagation();
      done();
    }
  });
  row.classList.add('editing');
  text.replaceWith(h('div', { class: 'msg-edit' }, box,
    h('div', { class: 'edit-hint' }, 'Enter to ', h('button', { class: 'link', onclick: save }, 'save'), ', Esc to ', h('button', { class: 'link', onclick: done }, 'cancel'))));
  box.focus();
  box.setSelectionRange(box.value.length, box.value.length);
  return true;
}

// The "Delete message" question: a message with replies takes its thread with it (they no longer open).
export function removalQuestion(id) {
  const message = findMessage(id);
  const count = (message && message.reply_count) || 0;
  if (!count) return 'Delete this message? This cannot be undone.';
  const replies = count === 1 ? 'reply' : 'replies';
  const loaded = state.threads.get(id);
  const others = loaded && loaded.loaded ? [...loaded.items.values()].some((reply) => reply.user_id !== state.me.id) : null;
  const whose = others === null ? ', whoever wrote them,' : others ? ', other people\'s too,' : '';
  return `Delete this message? Its thread goes with it: the ${count} ${replies} to it${whose} can no longer be opened. This cannot be undone.`;
}

function toggleReaction(id, emoji) {
  const message = findMessage(id);
  const mine = message && (message.reactions || []).some((r) => r.emoji === emoji && r.me);
  actions.react(id, emoji, !mine).catch((err) => toast(err.message, 'error'));
}

// A message's link: this page's address with the message in its fragment (``nav.js`` ``route`` opens it),
// for whoever may read the channel; anyone else is told it is not visible to them.
export function messageLink(message) {
  return routeLink(`c/${message.channel_id}/m/${message.id}`);
}

async function copyLink(id) {
  const message = findMessage(id);
  if (!message) return;
  const link = messageLink(message);
  try {
    await navigator.clipboard.writeText(link);
  } catch {
    // No clipboard API (a page served over plain HTTP) or no permission: the older way, from a selection.
    const box = h('textarea', { class: 'offscreen', readonly: true }, link);
    document.body.append(box);
    box.select();
    const copied = document.execCommand('copy');
    box.remove();
    if (!copied) return toast(`Copy this link: ${link}`);
  }
  return toast('Link copied');
}

export function messageAction(list, openThread) {
  return (action, id, button) => {
    const fail = (err) => toast(err.message, 'error');
    switch (action) {
      case 'thread':
        return openThread(id);
      case 'quick-react':
      case 'toggle-reaction':
        return toggleReaction(id, button.dataset.emoji);
      case 'react':
        return popover(button, h('div', { class: 'emoji-grid' }, EMOJI.map((emoji) =>
          h('button', { class: 'emoji-choice', title: emoji, onclick: () => { closeMenu(); toggleReaction(id, emoji); } }, emoji))), { align: 'right' });
      case 'pin':
      case 'unpin':
        return actions.pin(id, action === 'pin').catch(fail);
      case 'flag':
      case 'unflag':
        return actions.flag(id, action === 'flag').then(() => toast(action === 'flag' ? 'Saved for later' : 'Removed from saved items')).catch(fail);
      case 'link':
        return copyLink(id);
      case 'edit':
        return startEdit(list, id);
      case 'remove':
        return confirmDialog('Delete message', removalQuestion(id), 'Delete', () => actions.remove(id));
      case 'retry':
        return actions.retry(id);
      case 'discard':
        return actions.discard(id);
      default:
        return null;
    }
  };
}

export class ChannelView {
  constructor(channelId, handlers) {
    this.id = channelId;
    this.handlers = handlers;
    this.line = timeline(channelId);
    this.unsubscribe = [];
    this.header = h('header', { class: 'channel-head' });
    this.typing = h('div', { class: 'typing', 'aria-live': 'polite' }); // the channel's box only: a thread's is in its panel
    this.list = new MessageList(this.line, {
      channelId,
      loadOlder: (before) => actions.loadHistory(channelId, before),
      onAction: (...args) => this.action(...args),
    });
    this.action = messageAction(this.list, (id) => handlers.openThread(id));
    this.composer = new Composer({ channelId, placeholder: this.placeholder(), onEditLast: () => this.editLast() });
    this.list.refocus = () => this.composer.focus();
    this.footer = h('div', { class: 'channel-foot' });
    this.el = h('section', { class: 'channel', 'aria-label': channelTitle(this.channel) }, this.header, this.list.el, this.footer);
    acceptDrops(this.el, this.composer);
    this.el.append(h('div', { class: 'drop-hint' }, icon('clip'), ' Drop files to share them'));
    // Someone reading older messages is not pulled down by new ones: a pill says they came, and reaching
    // the bottom (by scrolling or by the pill) reads them, so the channel's unread mark goes as it would in Slack.
    this.jumpPill = h('button', { class: 'jump-new hidden', onclick: () => this.list.scrollToBottom() }, 'New messages ↓');
    this.el.append(this.jumpPill);
    this.list.onScrolled = (atBottom) => {
      this.updatePill();
      const c = this.channel;
      if (atBottom && c && c.member && (c.unread || c.mentions) && !document.hidden && !this.readQueued) {
        this.readQueued = true;
        setTimeout(() => {
          this.readQueued = false;
          actions.markRead(this.id);
        }, 150);
      }
    };
    this.on(`messages:${channelId}`, (changes) => {
      this.list.apply(changes);
      queueMicrotask(() => this.updatePill()); // after the event has counted the message as unread
    });
    this.on('channels', () => this.updatePill());
    this.on('outbox', (item) => item && item.channel_id === channelId && !item.reply_to && this.list.renderOutbox());
    this.on('status', (status) => {
      this.list.renderOutbox();
      if (status === 'online' && this.list.failed) this.list.retry(); // history that failed: read it now
    });
    this.list.onRetry = () => (this.line.loaded ? this.list.scrolled() : this.mount());
    this.on(`typing:${channelId}`, () => (this.typing.textContent = typingLine(channelId)));
    this.on('channel-meta', (id) => id === channelId && this.renderChrome());
    this.on('orgs', () => this.renderChrome());  // one's organisation role: what the topic's button offers
    this.on('users', () => {
      this.renderChrome();
      this.list.namesArrived();
    });
    this.renderChrome();
  }

  on(topic, fn) {
    this.unsubscribe.push(state.bus.on(topic, fn));
  }

  get channel() {
    return state.channels.get(this.id);
  }

  placeholder() {
    const channel = this.channel;
    if (!channel) return 'Message';
    return isConversation(channel) ? `Message ${channelTitle(channel)}` : `Message #${channel.name}`;
  }

  async mount() {
    // Where the reader left off, taken before reading the newest page marks everything read.
    const channel = this.channel;
    const lastRead = channel && channel.member && channel.unread > 0 ? channel.last_read_message_id : null;
    if (!this.line.loaded) {
      this.list.el.classList.add('loading-first');
      try {
        await Promise.all([actions.loadHistory(this.id), state.directory]); // names for the authors too
        this.list.failed = null;
      } catch (err) {
        this.list.failed = `Could not load messages: ${err.message}.`;
      }
      this.list.el.classList.remove('loading-first');
    }
    this.list.renderAll();
    if (lastRead) this.list.markFirstUnread(lastRead);
    actions.markRead(this.id);
  }

  renderChrome() {
    const channel = this.channel;
    if (!channel) return;
    clear(this.header);
    // The box names the channel as it is now (renamed live, a conversation whose people arrived later).
    const placeholder = this.placeholder();
    if (this.composer.input.placeholder !== placeholder) {
      this.composer.input.placeholder = placeholder;
      this.composer.input.setAttribute('aria-label', placeholder);
    }
    this.el.setAttribute('aria-label', channelTitle(channel));
    const manage = mayManage(channel) && !channel.archived && !isConversation(channel);
    const kindIcon = channel.type === 'private' ? icon('lock') : isConversation(channel) ? icon('at') : icon('hash');
    this.header.append(
      h('div', { class: 'channel-title' },
        h('button', { class: 'channel-name', onclick: (e) => this.handlers.channelMenu(e.currentTarget), 'aria-label': 'Channel menu' },
          kindIcon, h('span', { class: 'name-text', title: channelTitle(channel) }, channelTitle(channel)), icon('chevron')),
        channel.archived ? h('span', { class: 'tag' }, 'archived') : null,
        h('button', { class: 'channel-topic', title: channel.topic || (manage ? 'Add a topic' : ''), onclick: () => this.handlers.editTopic() },
          channel.topic || (manage ? 'Add a topic' : ''))),
      h('div', { class: 'channel-tools' },
        h('button', { class: 'tool members', title: 'Members', 'aria-label': 'Members', onclick: () => this.handlers.openMembers() }, icon('people'), h('span', null, String(channel.member_count || 0))),
        h('button', { class: 'tool', title: 'Pinned messages', 'aria-label': 'Pinned messages', onclick: () => this.handlers.openPins() }, icon('pin'))),
    );
    // The footer is rebuilt only when what it holds changes: taking the box out of the page, even to put it
    // back at once, would take the focus from someone typing whenever a member joins or the topic changes.
    const mode = channel.archived ? 'archived' : channel.member ? 'compose' : `join #${channel.name}`;
    if (mode === this.footerMode) return;
    // Joined, left or archived: what each message's toolbar offers changes with it (message.js).
    if (this.footerMode !== undefined) this.list.apply({ changed: [...this.list.nodes.keys()] });
    this.footerMode = mode;
    clear(this.footer);
    if (mode !== 'compose') this.composer.destroy();  // its box is gone: so is a recording it was making
    if (mode !== 'compose') {
      this.footer.append(readOnlyNotice(channel, () => this.handlers.join()));
    } else {
      this.footer.append(this.composer.el, this.typing);
    }
  }

  updatePill() {
    const c = this.channel;
    this.jumpPill.classList.toggle('hidden', !(c && c.member && c.unread > 0 && !this.list.stuck));
  }

  editLast() {
    for (let i = this.line.order.length - 1; i >= 0; i--) {
      const message = this.line.items.get(this.line.order[i]);
      if (message.can_edit) {
        if (!this.list.nodes.has(message.id)) return false;
        return startEdit(this.list, message.id);
      }
    }
    return false;
  }

  destroy() {
    for (const off of this.unsubscribe) off();
    this.composer.destroy();
  }
}
