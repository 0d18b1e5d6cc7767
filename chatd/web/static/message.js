// One message as DOM: author, time, text (safe Markdown), files, reactions, thread summary, actions.

import { avatar, dayLabel, formatFull, formatSize, formatTime, h, icon } from './dom.js';
import { whoReacted } from './actions.js';
import { render } from './markdown.js';
import { mayWrite, state, userName } from './state.js';

export const QUICK_EMOJI = ['👍', '❤️', '😂', '🎉', '👀', '✅', '🙏', '🔥'];
export const EMOJI = [
  ...QUICK_EMOJI, '😀', '😅', '😊', '😍', '🤔', '😮', '😢', '😡', '👏', '🙌', '💯', '🚀', '⭐', '👎', '🤝', '☕', '🍕', '🎯',
];
const GROUP_MS = 5 * 60 * 1000;
const SYSTEM = new Set(['CREATE', 'TOPIC', 'RENAME', 'MERGE']);

export function isSystem(message) {
  return SYSTEM.has(message.type) || message.user_id === null || (message.meta && (message.meta.merged_from || message.meta.merged_into));
}

export function markdownOptions() {
  return {
    me: state.me ? state.me.username : '',
    isUser: (name) => {
      const lower = name.toLowerCase();
      for (const user of state.users.values()) if (user.username.toLowerCase() === lower) return true;
      return false;
    },
  };
}

// Whether `message` continues `previous` (same author, a few minutes apart): drawn without a header.
export function continues(previous, message) {
  if (!previous || isSystem(previous) || isSystem(message)) return false;
  if (previous.user_id !== message.user_id) return false;
  const gap = Date.parse(message.created_at) - Date.parse(previous.created_at);
  return gap >= 0 && gap < GROUP_MS && sameDay(previous, message);
}

export function sameDay(a, b) {
  return Boolean(a) && new Date(a.created_at).toDateString() === new Date(b.created_at).toDateString();
}

export function decorate(node, previous, message) {
  node.classList.toggle('compact', continues(previous, message));
  const newDay = !sameDay(previous, message);
  node.classList.toggle('new-day', newDay);
  const sep = node.querySelector(':scope > .day-sep > span');
  if (sep) sep.textContent = newDay ? dayLabel(message.created_at) : '';
}

function files(message) {
  if (!message.files || !message.files.length) return null;
  return h(
    'div',
    { class: 'msg-files' },
    message.files.map((file) => {
      if (file.has_thumbnail || (file.content_type || '').startsWith('image/')) {
        const img = h('img', {
          class: 'thumb',
          src: file.thumbnail_url || file.url,
          alt: file.name,
          loading: 'lazy',
          width: file.width ? Math.min(360, file.width) : null,
        });
        if (file.width && file.height) {
          const scale = Math.min(1, 360 / file.width, 240 / file.height);
          img.width = Math.round(file.width * scale);
          img.height = Math.round(file.height * scale);
        }
        return h('a', { class: 'file-image', href: file.url, target: '_blank', rel: 'noopener', title: file.name }, img);
      }
      const card = h(
        'a',
        { class: 'file-card', href: file.url, target: '_blank', rel: 'noopener', download: file.name },
        icon('file'),
        h('span', { class: 'file-meta' }, h('span', { class: 'file-name' }, file.name), h('span', { class: 'file-size' }, formatSize(file.size))),
      );
      const player = PLAYABLE.get(file.content_type);
      if (!player) return card;
      // Played where it was sent: the browser asks for the parts it needs (the server answers ranges), so a
      // long recording starts at once and seeks without downloading all of it; the card still downloads it.
      return h(
        'div',
        { class: `file-media file-${player}` },
        h(player, { controls: true, preload: 'metadata', src: file.url, title: file.name }),
        card,
      );
    }),
  );
}

// The types browsers play themselves (the server sniffs a file's type from its bytes, so this is what it is;
// a QuickTime clip from a phone is H.264 that Chrome and Safari play, and if one does not, the card stays).
const PLAYABLE = new Map([
  ['audio/mpeg', 'audio'], ['audio/mp4', 'audio'], ['audio/aac', 'audio'], ['audio/wav', 'audio'],
  ['audio/ogg', 'audio'], ['audio/webm', 'audio'], ['audio/flac', 'audio'],
  ['video/mp4', 'video'], ['video/webm', 'video'], ['video/ogg', 'video'], ['video/quicktime', 'video'],
]);

// "Alice Anders, Bob Brown and you reacted with 👍", as Slack says it: you are always named (last, as
// "you"), others in the order they reacted, up to REACTORS_NAMED names, then "and N others".
const REACTORS_NAMED = 5;

export function reactedLabel(userIds, emoji) {
  const mine = userIds.includes(state.me.id);
  const others = userIds.filter((id) => id !== state.me.id);
  const shown = others.slice(0, REACTORS_NAMED - (mine ? 1 : 0)).map(userName);
  if (mine) shown.push('you');
  const rest = others.length - (shown.length - (mine ? 1 : 0));
  if (rest > 0) shown.push(`${rest} ${rest === 1 ? 'other' : 'others'}`);
  const names = shown.length > 1 ? `${shown.slice(0, -1).join(', ')} and ${shown[shown.length - 1]}` : shown[0];
  return `${names === 'you' ? 'You' : names} reacted with ${emoji}`;
}

// Whether the viewer may write in the message's channel (react, pin, reply, edit): `state.mayWrite`.
function writable(message) {
  return mayWrite(state.channels.get(message.channel_id));
}

function archived(message) {
  const channel = state.channels.get(message.channel_id);
  return Boolean(channel && channel.archived);
}

function reactions(message) {
  const list = message.reactions || [];
  if (!list.length) return null;
  const may = writable(message);
  return h(
    'div',
    { class: 'msg-reactions' },
    list.map((r) => {
      const chip = h('button', { class: 'reaction' + (r.me ? ' mine' : ''), dataset: may ? { action: 'toggle-reaction', emoji: r.emoji } : {}, disabled: !may,
        title: may ? (r.me ? 'Remove your reaction' : 'React') : `${r.count} reacted with ${r.emoji}` },
      h('span', { class: 'emoji' }, r.emoji), h('span', { class: 'count' }, String(r.count)));
      // Hovered or focused, the chip names who reacted (read once per state of the message's reactions, see
      // actions.js `whoReacted`); until then, or if that read fails, it keeps the title above.
      const name = () => whoReacted(message.id, list).then((byEmoji) => {
        const ids = byEmoji.get(r.emoji);
        if (!ids || !ids.length || !chip.isConnected) return;
        const label = reactedLabel(ids, r.emoji) + (may ? (r.me ? ' (click to remove yours)' : ' (click to add yours)') : '');
        chip.title = label;
        chip.setAttribute('aria-label', label);
      }, () => {});
      chip.addEventListener('pointerenter', name); // a disabled chip (a reader's) gets pointer events too
      chip.addEventListener('focus', name);
      return chip;
    }),
    may ? h('button', { class: 'reaction add', dataset: { action: 'react' }, title: 'Add reaction' }, icon('smile')) : null,
  );
}

function threadSummary(message, inThread) {
  if (inThread || !message.reply_count) return null;
  const label = `${message.reply_count} ${message.reply_count === 1 ? 'reply' : 'replies'}`;
  return h(
    'button',
    { class: 'msg-thread', dataset: { action: 'thread' } },
    h('span', { class: 'link' }, label),
    message.last_reply_at ? h('span', { class: 'muted' }, ` Last reply ${formatTime(message.last_reply_at)}`) : null,
  );
}

// The hover toolbar: only what the viewer may do. Someone reading a channel without writing in it (not a
// member, or archived) opens threads, saves, copies links and deletes what the server lets them delete.
function actions(message, inThread) {
  const may = writable(message);
  const buttons = [
    ...(may ? QUICK_EMOJI.slice(0, 3).map((emoji) => h('button', { class: 'quick', dataset: { action: 'quick-react', emoji }, title: `React ${emoji}` }, emoji)) : []),
    may ? h('button', { dataset: { action: 'react' }, title: 'Add reaction' }, icon('smile')) : null,
    inThread ? null : h('button', { dataset: { action: 'thread' }, title: may ? 'Reply in thread' : 'View thread' }, icon('reply')),
    may ? h('button', { dataset: { action: message.pinned ? 'unpin' : 'pin' }, title: message.pinned ? 'Unpin' : 'Pin to channel', class: message.pinned ? 'on' : '' }, icon('pin')) : null,
    h('button', { dataset: { action: message.flagged ? 'unflag' : 'flag' }, title: message.flagged ? 'Remove from saved' : 'Save', class: message.flagged ? 'on' : '' }, icon('bookmark')),
    h('button', { dataset: { action: 'link' }, title: 'Copy link' }, icon('link')),
    message.can_edit && may ? h('button', { dataset: { action: 'edit' }, title: 'Edit' }, icon('edit')) : null,
    message.can_remove && !archived(message) ? h('button', { dataset: { action: 'remove' }, title: 'Delete', class: 'danger' }, icon('trash')) : null,
  ];
  return h('div', { class: 'msg-actions', role: 'toolbar' }, buttons);
}

export function messageNode(message, { inThread = false } = {}) {
  const author = state.users.get(message.user_id);
  const mentioned = (message.mentions || []).includes(state.me.id);
  const classes = ['msg'];
  if (isSystem(message)) classes.push('system');
  if (mentioned) classes.push('mentioned');
  if (message.pinned) classes.push('pinned');
  if (message.user_id && !author) classes.push('unknown-author');  // named when they are read (list.js)
  const text = h('div', { class: 'msg-text' }, render(message.contents || '', markdownOptions()));
  if (message.edited) text.append(h('span', { class: 'edited', title: message.edited_at ? formatFull(message.edited_at) : '' }, ' (edited)'));
  const unfold = foldable(text, message.contents || '');
  return h(
    'div',
    { class: classes.join(' '), dataset: { id: message.id }, role: 'article' },
    h('div', { class: 'day-sep' }, h('span')),
    message.pinned ? h('div', { class: 'pin-note' }, icon('pin'), ' Pinned') : null,
    h('div', { class: 'msg-gutter' }, avatar(author, 'md'), h('time', { class: 'msg-hover-time', datetime: message.created_at }, formatTime(message.created_at))),
    h(
      'div',
      { class: 'msg-body' },
      h('div', { class: 'msg-head' },
        h('span', { class: 'msg-author' }, message.user_id ? userName(message.user_id) : 'chatd'),
        h('time', { class: 'msg-time', datetime: message.created_at, title: formatFull(message.created_at) }, formatTime(message.created_at))),
      text,
      unfold,
      files(message),
      reactions(message),
      threadSummary(message, inThread),
    ),
    isSystem(message) ? null : actions(message, inThread),
  );
}

// A message much longer than a screenful opens folded, as in Slack: "Show more" unfolds it, "Show less"
// folds it again. Whether it is that long is read from the page once it is drawn (a long line wraps more on
// a phone); one that fits loses the fold.
const FOLD_FROM_LINES = 15;
const FOLD_FROM_CHARS = 1200;

function foldable(text, contents) {
  if (contents.length < FOLD_FROM_CHARS && contents.split('\n').length < FOLD_FROM_LINES) return null;
  text.classList.add('folded');
  const toggle = h('button', { type: 'button', class: 'show-more', 'aria-expanded': 'false', onclick: () => {
    const open = !text.classList.toggle('folded');
    toggle.textContent = open ? 'Show less' : 'Show more';
    toggle.setAttribute('aria-expanded', String(open));
  } }, 'Show more');
  requestAnimationFrame(() => {
    if (text.isConnected && text.scrollHeight <= text.clientHeight + 1) {
      text.classList.remove('folded');
      toggle.remove();
    }
  });
  return toggle;
}

export function pendingNode(item) {
  const failed = Boolean(item.error);
  return h(
    'div',
    { class: 'msg pending' + (failed ? ' failed' : ''), dataset: { pending: item.client_msg_id } },
    h('div', { class: 'msg-gutter' }, avatar(state.me, 'md')),
    h(
      'div',
      { class: 'msg-body' },
      h('div', { class: 'msg-head' }, h('span', { class: 'msg-author' }, userName(state.me.id)),
        h('span', { class: 'msg-status' }, failed ? `Not sent: ${item.error}` : state.status === 'online' ? 'Sending…' : 'Waiting for the connection…')),
      h('div', { class: 'msg-text' }, render(item.contents || '', markdownOptions())),
      item.file_ids && item.file_ids.length ? h('div', { class: 'muted' }, `${item.file_ids.length} file(s)`) : null,
      failed
        ? h('div', { class: 'pending-actions' },
          h('button', { class: 'btn small', dataset: { action: 'retry' } }, 'Retry'),
          h('button', { class: 'btn small subtle', dataset: { action: 'discard' } }, 'Discard'))
        : null,
    ),
  );
}
