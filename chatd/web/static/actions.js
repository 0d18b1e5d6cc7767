// What the user does, as calls to the server. Sends go through the outbox over the websocket, each with
// its client_msg_id, so a send is retried after a drop without ever being posted twice.

import { api } from './api.js';
import { uuid } from './dom.js';
import { applyRead, findMessage, laterId, putMessage, saveOutbox, state, thread, timeline, typingPlace } from './state.js';

export const ctx = { live: null, toast: () => {} };

let flushing = false;

export function send(channelId, contents, { replyTo = null, fileIds = [] } = {}) {
  const item = {
    client_msg_id: uuid(),
    channel_id: channelId,
    reply_to: replyTo,
    contents,
    file_ids: fileIds,
    created_at: new Date().toISOString(),
  };
  state.outbox.push(item);
  saveOutbox();
  state.bus.emit('outbox', item);
  flush();
  return item;
}

// Send what waits in the outbox, in order, one at a time; stops at the first drop (resumed on reconnect).
export async function flush() {
  if (flushing) return;
  flushing = true;
  try {
    while (ctx.live && ctx.live.online) {
      const item = state.outbox.find((i) => !i.error);
      if (!item) break;
      const frame = { type: 'message.send', channel_id: item.channel_id, contents: item.contents, client_msg_id: item.client_msg_id };
      if (item.reply_to) frame.reply_to = item.reply_to;
      if (item.file_ids && item.file_ids.length) frame.file_ids = item.file_ids;
      try {
        const message = await ctx.live.request(frame);
        deliver(message);
      } catch (err) {
        if (err.code === 'disconnected') break;
        if (err.code === 'rate_limited') {
          await new Promise((r) => setTimeout(r, 1000 * (err.retry_after || 1)));
          continue;
        }
        item.error = err.message;
        saveOutbox();
        state.bus.emit('outbox', item);
      }
    }
  } finally {
    flushing = false;
  }
}

export function retry(clientMsgId) {
  const item = state.outbox.find((i) => i.client_msg_id === clientMsgId);
  if (item) delete item.error;
  saveOutbox();
  state.bus.emit('outbox', item);
  flush();
}

export function discard(clientMsgId) {
  const index = state.outbox.findIndex((i) => i.client_msg_id === clientMsgId);
  if (index >= 0) {
    const [item] = state.outbox.splice(index, 1);
    saveOutbox();
    state.bus.emit('outbox', item);
  }
}

// A message from the server (an ack or a history page): store it and tell the views.
export function deliver(message) {
  const { root, added } = putMessage(message);
  if (root) {
    state.bus.emit(`thread:${root}`, { [added ? 'added' : 'changed']: [message.id] });
  } else {
    state.bus.emit(`messages:${message.channel_id}`, { [added ? 'added' : 'changed']: [message.id] });
  }
}

export function changed(message) {
  const topic = message.reply_to ? `thread:${message.reply_to}` : `messages:${message.channel_id}`;
  state.bus.emit(topic, { changed: [message.id] });
}

async function call(frame, path, body) {
  if (ctx.live && ctx.live.online) {
    try {
      return await ctx.live.request(frame);
    } catch (err) {
      if (err.code !== 'disconnected') throw err;
    }
  }
  return api.post(path, body);
}

export async function edit(id, contents) {
  const message = await call({ type: 'message.edit', id, contents }, '/message/edit', { id, contents });
  const known = findMessage(id);
  if (known) Object.assign(known, message);
  changed(message);
}

export async function remove(id) {
  if (ctx.live && ctx.live.online) {
    try {
      await ctx.live.request({ type: 'message.remove', id });
      return;
    } catch (err) {
      if (err.code !== 'disconnected') throw err;
    }
  }
  await api.del('/message/remove', { id });
}

function replace(message) {
  const known = findMessage(message.id);
  if (known) {
    Object.assign(known, message);
    changed(known);
  }
}

export async function react(id, emoji, add) {
  const result = await api.post(add ? '/message/react' : '/message/unreact', { id, emoji });
  const known = findMessage(id);
  if (known) {
    known.reactions = result.reactions;
    changed(known);
  }
}

// Who reacted to message `id` (emoji → user ids; people not yet known are read first), asked once per state
// of its reactions: kept under its `reactions` list as drawn (`list`), which every change replaces (a live
// event, one's own toggle, a fresh read), and checked against the counts, so a changed message is asked
// again and a stale list is never shown.
const reactors = new WeakMap(); // reactions list → { key, answer: Promise<Map emoji → [user id]> }

function reactionsKey(list) {
  return list.map((r) => `${r.emoji}:${r.count}:${r.me ? 1 : 0}`).join(' ');
}

export function whoReacted(id, list) {
  const key = reactionsKey(list);
  const known = reactors.get(list);
  if (known && known.key === key) return known.answer;
  const answer = api.get('/message/reactions', { id }).then(async (result) => {
    const byEmoji = new Map(result.reactions.map((r) => [r.emoji, r.user_ids || []]));
    const unknown = new Set([...byEmoji.values()].flat().filter((userId) => !state.users.has(userId)));
    const read = await Promise.all([...unknown].map((userId) => api.get('/user/read', { id: userId }).catch(() => null)));
    for (const user of read) if (user) state.users.set(user.id, user);
    if (read.some(Boolean)) state.bus.emit('users', null);
    return byEmoji;
  });
  reactors.set(list, { key, answer });
  answer.catch(() => { if (reactors.get(list)?.answer === answer) reactors.delete(list); }); // asked again next time
  return answer;
}

export async function pin(id, on) {
  replace(await api.post(on ? '/message/pin' : '/message/unpin', { id }));
  state.bus.emit('pins', null);
}

export async function flag(id, on) {
  replace(await api.post(on ? '/message/flag' : '/message/unflag', { id }));
  state.bus.emit('flags', null);
}

// The newest page of a channel (which also marks it read), or an older page before `before`.
export async function loadHistory(channelId, before = null) {
  const line = timeline(channelId);
  const page = await api.get('/message/read', { channel_id: channelId, before, limit: 50 });
  const added = [];
  for (const message of page.items) if (line.add(message)) added.push(message.id);
  else line.items.set(message.id, { ...line.items.get(message.id), ...message });
  if (before || !line.loaded) line.hasMore = page.has_more;
  line.loaded = true;
  return added;
}

export async function loadThread(rootId, channelId) {
  const line = thread(rootId);
  const page = await api.get('/message/read', { channel_id: channelId, thread: rootId, limit: 200 });
  for (const message of page.items) line.add(message);
  line.loaded = true;
  line.hasMore = page.has_more;
  return line;
}


export function markRead(channelId) {
  const channel = state.channels.get(channelId);
  const newest = timeline(channelId).newest;
  // Up to the newest message seen here, a thread reply included: the server counts replies as unread too.
  const upTo = channel && laterId(newest && newest.id, channel.newest_reply_id);
  if (!channel || !channel.member || !upTo || !ctx.live || !ctx.live.online) return;
  if (laterId(channel.last_read_message_id, upTo) === channel.last_read_message_id && !channel.unread && !channel.mentions) return;
  ctx.live.request({ type: 'read', channel_id: channelId, message_id: upTo }).then((counts) => {
    applyRead(channel, counts);
    state.bus.emit('channels', null);
  }, () => {});
}

export async function upload(file) {
  const form = new FormData();
  form.append('file', file, file.name || 'pasted-image.png');
  return api.upload('/file/upload', form);
}

// Tell the readers that one types, in a channel's own box or a thread's (its root as `thread_id`,
// docs/websocket.md), so that it shows under that box only: at most once in 3 s for each (the server passes
// on two per 6 s for each), so typing in a thread never holds back the channel's, nor the other way round.
const lastTyping = new Map(); // typingPlace → when it was last said
export function typing(channelId, rootId = null) {
  const place = typingPlace(channelId, rootId);
  const now = Date.now();
  if (now - (lastTyping.get(place) || 0) < 3000 || !ctx.live || !ctx.live.online) return;
  lastTyping.set(place, now);
  const frame = { type: 'typing', channel_id: channelId };
  if (rootId) frame.thread_id = rootId;
  ctx.live.request(frame).catch(() => {});
}
