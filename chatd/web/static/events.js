// Live events (docs/websocket.md §2) applied to the client's state; views redraw from the topics.

import * as actions from './actions.js';
import { notifyMessage } from './notify.js';
import { applyRead, countUnread, findMessage, isConversation, laterId, putMessage, state, thread, timeline, typingPlace, viewerFields } from './state.js';

// What counts as unread, as the server counts it (chatd/domain/models.py): never a system notice.
const UNREAD_TYPES = ['MESSAGE', 'FILE', 'MEETING'];

let readTimer = null;

function readSoon(channelId) {
  clearTimeout(readTimer);
  readTimer = setTimeout(() => actions.markRead(channelId), 300);
}

// Counts a removal may have made wrong (the message was unread, or mentioned the viewer) are read again from
// the server, once per channel for a burst of removals (a resume replays them together).
const recount = new Map();

function recountSoon(channelId, app) {
  clearTimeout(recount.get(channelId));
  recount.set(channelId, setTimeout(() => {
    recount.delete(channelId);
    app.refreshChannel(channelId);
  }, 200));
}

function looking(channelId, app) {
  const view = app.viewOf();
  return state.current === channelId && !document.hidden && view && view.list.atBottom;
}

function messageEvent(frame, app) {
  const data = frame.data;
  const channel = state.channels.get(frame.channel_id);
  if (frame.event === 'CREATED') {
    app.ensureUser(data.user_id);
    const message = viewerFields(data, null);
    const { root, added } = putMessage(message);
    if (root) {
      const parent = findMessage(root);
      if (parent && data.thread) {
        Object.assign(parent, { reply_count: data.thread.reply_count, last_reply_at: data.thread.last_reply_at });
        state.bus.emit(`messages:${frame.channel_id}`, { changed: [root] });
      }
      state.bus.emit(`thread:${root}`, { [added ? 'added' : 'changed']: [message.id] });
    } else {
      state.bus.emit(`messages:${frame.channel_id}`, { [added ? 'added' : 'changed']: [message.id] });
    }
    if (channel) {
      // A channel read from the server after this message was posted has counted it already.
      const counted = channel.last_seq != null && frame.seq <= Number(channel.last_seq);
      channel.last_message_at = data.created_at;
      channel.last_seq = frame.seq;
      if (root) channel.newest_reply_id = laterId(channel.newest_reply_id, data.id);  // a read reaches it too
      if (channel.member && !counted && UNREAD_TYPES.includes(data.type)) {
        // Others' thread replies count, as the server counts them (docs/api.md). One's own post in the channel
        // (not a reply) marks it read up to there, on the server and on every device.
        if (data.user_id === state.me.id) {
          if (!root) applyRead(channel, { unread: 0, mentions: 0, seq: frame.seq, last_read_message_id: data.id });
        } else {
          const seen = looking(frame.channel_id, app);
          if (seen) readSoon(frame.channel_id);
          else countUnread(channel, frame.seq);
          if (app.live()) notifyMessage(channel, data, seen, () => app.jump(data));  // not what a resume replays
        }
      }
      // Whoever posted stopped typing there: in the thread for a reply, in the channel's box otherwise.
      const place = typingPlace(frame.channel_id, root);
      const typing = state.typing.get(place);
      if (typing && typing.delete(data.user_id)) state.bus.emit(`typing:${place}`, null);
      app.drawSidebar();
    }
  } else if (frame.event === 'EDITED') {
    state.bus.emit('message-updated', data.id); // pins and saved items list it too, maybe not loaded here
    const known = findMessage(data.id);
    if (!known) return;
    const merged = viewerFields({ ...known, ...data }, known);
    Object.assign(known, merged);
    const topic = known.reply_to ? `thread:${known.reply_to}` : `messages:${frame.channel_id}`;
    state.bus.emit(topic, { changed: [data.id] });
  } else if (frame.event === 'REMOVED') {
    state.bus.emit('message-updated', data.id);
    if (channel && channel.member && data.user_id !== state.me.id && (channel.unread || channel.mentions)) recountSoon(frame.channel_id, app);
    if (data.reply_to) {
      thread(data.reply_to).remove(data.id);
      state.bus.emit(`thread:${data.reply_to}`, { removed: [data.id] });
      const parent = findMessage(data.reply_to);
      if (parent) {
        parent.reply_count = Math.max(0, (parent.reply_count || 1) - 1);
        state.bus.emit(`messages:${frame.channel_id}`, { changed: [parent.id] });
      }
    } else {
      timeline(frame.channel_id).remove(data.id);
      state.bus.emit(`messages:${frame.channel_id}`, { removed: [data.id] });
    }
  }
}

function reactionEvent(frame) {
  const known = findMessage(frame.data.message_id);
  if (!known) return;
  const { emoji, count, user_id: userId } = frame.data;
  const list = [...(known.reactions || [])];
  const index = list.findIndex((r) => r.emoji === emoji);
  const mine = userId === state.me.id;
  if (count <= 0) {
    if (index >= 0) list.splice(index, 1);
  } else if (index >= 0) {
    list[index] = { ...list[index], count, me: mine ? frame.event === 'ADDED' : list[index].me };
  } else {
    list.push({ emoji, count, me: mine && frame.event === 'ADDED' });
  }
  known.reactions = list;
  actions.changed(known);
}

function channelEvent(frame, app) {
  const id = frame.channel_id;
  const known = state.channels.get(id);
  if (frame.event === 'VISIBLE') {
    state.channels.set(id, frame.data);
    if (isConversation(frame.data)) app.loadMemberIds(id);
  } else if (frame.event === 'HIDDEN' || frame.event === 'REMOVED') {
    return app.forgetChannel(id);
  } else {
    if (known) Object.assign(known, frame.data, { archived: frame.data.archived ?? known.archived });
    else state.channels.set(id, { ...frame.data, member: frame.data.created_by === state.me.id });
    app.refreshChannel(id); // the viewer's own fields: role, membership, counts
    if (frame.event === 'MERGED' && frame.data.destination_id) {
      state.timelines.delete(frame.data.destination_id);
      app.refreshChannel(frame.data.destination_id);
    }
  }
  state.bus.emit('channel-meta', id);
  app.drawSidebar();
}

function memberEvent(frame, app) {
  const id = frame.channel_id;
  const channel = state.channels.get(id);
  const { user_id: userId } = frame.data;
  if (channel && channel.member_ids) {
    if (frame.event === 'JOINED' && !channel.member_ids.includes(userId)) channel.member_ids.push(userId);
    if (frame.event === 'LEFT') channel.member_ids = channel.member_ids.filter((m) => m !== userId);
  }
  app.ensureUser(userId);
  if (userId === state.me.id && frame.event === 'LEFT' && channel && channel.type !== 'public') return app.forgetChannel(id);
  if (channel || (userId === state.me.id && frame.event === 'JOINED')) app.refreshChannel(id); // new to us: read it
  state.bus.emit(`members:${id}`, null);
}

export function handleEvent(frame, app) {
  const { type, event, data } = frame;
  switch (type) {
    case 'message':
      return messageEvent(frame, app);
    case 'reaction':
      return reactionEvent(frame);
    case 'pin': {
      const known = findMessage(data.message_id);
      if (known) {
        known.pinned = event === 'ADDED';
        actions.changed(known);
      }
      return state.bus.emit('pins', null);
    }
    case 'flag': {
      const known = findMessage(data.message_id);
      if (known) {
        known.flagged = event === 'ADDED';
        actions.changed(known);
      }
      return state.bus.emit('flags', null);
    }
    case 'channel':
      return channelEvent(frame, app);
    case 'member':
      return memberEvent(frame, app);
    case 'read': {
      const channel = state.channels.get(data.channel_id);
      if (channel) applyRead(channel, data);
      return app.drawSidebar();
    }
    case 'mention': {
      const channel = state.channels.get(data.channel_id);
      if (channel && channel.member && !looking(data.channel_id, app)) channel.mentions = (channel.mentions || 0) + 1;
      return app.drawSidebar();
    }
    case 'organisation':
      return app.loadOrgs().then(app.drawSidebar, () => {});
    case 'typing': {
      // In the channel's own box, or (thread_id) in a thread's: each place has its own typing line.
      const place = typingPlace(frame.channel_id, data.thread_id || null);
      if (!state.typing.has(place)) state.typing.set(place, new Map());
      state.typing.get(place).set(data.user_id, Date.now() + (data.expires_in_ms || 6000));
      state.bus.emit(`typing:${place}`, null);
      setTimeout(() => state.bus.emit(`typing:${place}`, null), (data.expires_in_ms || 6000) + 50);
      return null;
    }
    case 'presence':
      state.presence.set(data.user_id, data.status);
      state.bus.emit('presence', null);
      return app.drawSidebar();
    default:
      return null;
  }
}
