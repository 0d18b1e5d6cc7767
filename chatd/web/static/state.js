// What the client knows: the user, organisations, channels, people, presence, and the messages of the
// channels and threads it has opened. Views subscribe to topics and redraw only what changed.

import { cmpId } from './dom.js';

class Emitter {
  constructor() {
    this.topics = new Map();
  }
  on(topic, fn) {
    if (!this.topics.has(topic)) this.topics.set(topic, new Set());
    this.topics.get(topic).add(fn);
    return () => this.topics.get(topic).delete(fn);
  }
  emit(topic, payload) {
    for (const fn of this.topics.get(topic) || []) fn(payload);
  }
}

// The messages of one channel (roots, oldest first) or of one thread (root's replies).
export class Timeline {
  constructor() {
    this.items = new Map();
    this.order = [];
    this.loaded = false;
    this.hasMore = false;
  }
  add(message) {
    const known = this.items.has(message.id);
    this.items.set(message.id, message);
    if (known) return false;
    const order = this.order;
    if (!order.length || cmpId(order[order.length - 1], message.id) < 0) {
      order.push(message.id);
    } else {
      let lo = 0;
      let hi = order.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (cmpId(order[mid], message.id) < 0) lo = mid + 1;
        else hi = mid;
      }
      order.splice(lo, 0, message.id);
    }
    return true;
  }
  remove(id) {
    if (!this.items.delete(id)) return false;
    this.order.splice(this.order.indexOf(id), 1);
    return true;
  }
  get newest() {
    return this.order.length ? this.items.get(this.order[this.order.length - 1]) : null;
  }
}

export const state = {
  bus: new Emitter(),
  me: null,
  orgs: new Map(),
  teams: new Map(), // org id → teams
  orgMembers: new Map(), // org id → Map user id → role
  currentOrg: null,
  channels: new Map(),
  users: new Map(),
  presence: new Map(),
  typing: new Map(), // typingPlace(channel, thread) → Map user id → expiry (ms)
  timelines: new Map(), // channel id → Timeline
  threads: new Map(), // root id → Timeline
  outbox: [],
  current: null, // the open channel id
  status: 'connecting',
};

// Where someone types: a channel's own box (its id), or a thread's (`channel/root`): each has its own line of
// who is typing, and its own bus topic `typing:${place}`.
export function typingPlace(channelId, rootId = null) {
  return rootId ? `${channelId}/${rootId}` : channelId;
}

export function timeline(channelId) {
  if (!state.timelines.has(channelId)) state.timelines.set(channelId, new Timeline());
  return state.timelines.get(channelId);
}

export function thread(rootId) {
  if (!state.threads.has(rootId)) state.threads.set(rootId, new Timeline());
  return state.threads.get(rootId);
}

export function userName(id) {
  const user = state.users.get(id);
  return user ? user.display_name || user.username : 'someone';
}

export function channelTitle(channel) {
  if (!channel) return '';
  if (channel.type === 'direct' || (channel.type === 'group' && !channel.name)) {
    const others = (channel.member_ids || []).filter((id) => id !== state.me.id);
    if (channel.type === 'direct') return others.length ? userName(others[0]) : `${userName(state.me.id)} (you)`;
    // A group someone left can be down to one other person: it must not read as a direct message with them.
    if (!others.length) return channel.member_ids ? 'Group conversation (only you)' : 'Group conversation';
    return others.length === 1 ? `${userName(others[0])} (group)` : others.map(userName).join(', ');
  }
  return channel.name;
}

// The later of two message ids (decimal strings of 64-bit numbers; either may be missing).
export function laterId(a, b) {
  if (!a) return b;
  if (!b) return a;
  return BigInt(a) >= BigInt(b) ? a : b;
}

// The seqs of the messages this client counted as unread itself, per channel, for `applyRead`.
const countedByMe = new Map();
const COUNTED_KEPT = 1000;

export function countUnread(channel, seq) {
  channel.unread = (channel.unread || 0) + 1;
  const seqs = countedByMe.get(channel.id) || [];
  seqs.push(Number(seq));
  if (seqs.length > COUNTED_KEPT) seqs.shift();
  countedByMe.set(channel.id, seqs);
}

// A read marker's counts (a `read UPDATED` event, or the answer to a `read` frame). They were taken when the
// channel's log stood at `seq`; messages that came after it may have reached us first, and counted as
// unread here, so they are added back (docs/websocket.md, "User events").
export function applyRead(channel, counts) {
  const upTo = counts.seq == null ? Infinity : Number(counts.seq);
  const later = (countedByMe.get(channel.id) || []).filter((seq) => seq > upTo);
  if (later.length) countedByMe.set(channel.id, later);
  else countedByMe.delete(channel.id);
  Object.assign(channel, {
    unread: counts.unread + later.length,
    mentions: counts.mentions,
    last_read_message_id: counts.last_read_message_id,
  });
}

// The server counts unread messages and mentions up to 100, which then means "100 or more" (docs/api.md,
// "counts stop at 100"); a count shown is "99+" from there, whatever was added to it here.
export const COUNT_MAX = 100;

export function countLabel(count) {
  return count >= COUNT_MAX ? `${COUNT_MAX - 1}+` : String(count);
}

export function isConversation(channel) {
  return channel.type === 'direct' || channel.type === 'group';
}

// Whether the viewer manages `channel` (topic, name, people, archive): its owners, and, as the server has it
// (docs/api.md, "Channels"), the owners and admins of its organisation and server administrators, member of
// the channel or not. Every menu entry and the topic's button ask this, so they offer what the server allows.
export function mayManage(channel) {
  if (!channel) return false;
  if (channel.role === 'owner' || (state.me && state.me.is_admin)) return true;
  const org = state.orgs.get(channel.organisation_id);
  return Boolean(org && (org.role === 'owner' || org.role === 'admin'));
}

// Whether the viewer may post, react and pin in `channel`: its members, while it is not archived (a reader
// of a public channel who has not joined it only reads, saves and copies links).
export function mayWrite(channel) {
  return Boolean(channel && channel.member && !channel.archived);
}

// Fields of the Crust message JSON that depend on the viewer, derived for events (docs/websocket.md).
export function viewerFields(message, previous) {
  const mine = message.user_id === state.me.id;
  const channel = state.channels.get(message.channel_id);
  const owner = mayManage(channel);
  return {
    ...message,
    edited: Boolean(message.edited_at),
    pinned: previous ? previous.pinned : false,
    flagged: previous ? previous.flagged : false,
    reactions: previous ? previous.reactions : message.reactions || [],
    can_edit: mine && (message.type === 'MESSAGE' || message.type === 'FILE'),
    can_remove: mine || owner || message.can_remove || false,
  };
}

// Store a message (from history, an ack or an event) wherever it belongs; returns where it went.
export function putMessage(message) {
  const root = message.reply_to;
  const line = root ? thread(root) : timeline(message.channel_id);
  const previous = line.items.get(message.id);
  const merged = previous ? { ...previous, ...message } : message;
  const added = line.add(merged);
  if (!added) line.items.set(message.id, merged);
  if (message.client_msg_id) settleOutbox(message.client_msg_id);
  return { root, added };
}

export function findMessage(id) {
  for (const line of [...state.timelines.values(), ...state.threads.values()]) {
    const found = line.items.get(id);
    if (found) return found;
  }
  return null;
}

// What someone has typed and not sent, per channel and per thread: kept when they switch channels, close a
// thread or reload, as Slack keeps a draft (files in the tray are not: a browser cannot keep them).
// What the sign-in form says after this page signed itself out on purpose (a password change), kept across
// the reload for that tab only.
export const SIGN_IN_NOTICE = 'chatd.sign-in-notice';

const DRAFT_KEY = 'chatd.draft';

function draftKey(channelId, rootId) {
  return `${DRAFT_KEY}.${state.me.id}.${channelId}${rootId ? `.${rootId}` : ''}`;
}

export function loadDraft(channelId, rootId) {
  try {
    return localStorage.getItem(draftKey(channelId, rootId)) || '';
  } catch {
    return '';
  }
}

export function saveDraft(channelId, rootId, text) {
  try {
    if (text.trim()) localStorage.setItem(draftKey(channelId, rootId), text);
    else localStorage.removeItem(draftKey(channelId, rootId));
  } catch {
    // private mode or full: the draft lives as long as its box
  }
}

// Messages waiting to be sent: kept across reloads, sent once each with their client_msg_id.
const OUTBOX_KEY = 'chatd.outbox';

export function loadOutbox() {
  try {
    const saved = JSON.parse(localStorage.getItem(`${OUTBOX_KEY}.${state.me.id}`) || '[]');
    state.outbox = Array.isArray(saved) ? saved : [];
  } catch {
    state.outbox = [];
  }
}

export function saveOutbox() {
  try {
    localStorage.setItem(`${OUTBOX_KEY}.${state.me.id}`, JSON.stringify(state.outbox));
  } catch {
    // private mode or full: the outbox still lives in memory
  }
}

export function settleOutbox(clientMsgId) {
  const index = state.outbox.findIndex((item) => item.client_msg_id === clientMsgId);
  if (index < 0) return;
  const [item] = state.outbox.splice(index, 1);
  saveOutbox();
  state.bus.emit('outbox', item);
}
