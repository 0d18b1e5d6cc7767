// Where the user is: routing `#/c/<channel>`, opening channels, threads and panels, channel menus.

import * as actions from './actions.js';
import { api } from './api.js';
import { ChannelView } from './channel.js';
import * as dialogs from './dialogs.js';
import { clear } from './dom.js';
import { MembersPanel, PinsPanel, ThreadPanel } from './panels.js';
import { findMessage, isConversation, mayManage, putMessage, state, timeline } from './state.js';
import { confirmDialog, menu, toast } from './ui.js';
import { ensureUser, switchOrg } from './orgs.js';
import { closePanel, closeView, drawSidebar, here, openPanel, ui } from './shell.js';

const NARROW = '(max-width: 760px)'; // as in style.css

export function newChannel(teamId) {
  dialogs.createChannel(state.currentOrg, teamId, channelCreated);
}

export function channelCreated(channel) {
  const known = state.channels.get(channel.id);
  state.channels.set(channel.id, { ...(known || {}), ...channel });
  if (isConversation(channel)) loadMemberIds(channel.id);
  go(channel.id);
}

export async function refreshChannel(id) {
  try {
    const fresh = await api.get('/channel/read', { id });
    const known = state.channels.get(id) || {};
    state.channels.set(id, { ...known, ...fresh });
    if (isConversation(fresh) && !known.member_ids) loadMemberIds(id);
    state.bus.emit('channel-meta', id);
    // The server counts what arrived before one joined (or while the view was open without membership) as
    // unread; someone looking at the newest messages has read them, so the channel must not turn bold.
    if ((fresh.unread || fresh.mentions) && state.current === id && !document.hidden && here.view && here.view.id === id && here.view.list.atBottom) actions.markRead(id);
    drawSidebar();
  } catch (err) {
    if (err.status === 404) forgetChannel(id);
  }
}

export async function loadMemberIds(id) {
  try {
    const { members } = await api.get('/channel/members', { id });
    const channel = state.channels.get(id);
    if (!channel) return;
    channel.member_ids = members.map((m) => m.user_id);
    members.forEach((m) => ensureUser(m.user_id));
    state.bus.emit('channel-meta', id);
    drawSidebar();
  } catch {
    // it vanished meanwhile: its HIDDEN or LEFT event follows
  }
}

export function forgetChannel(id) {
  state.channels.delete(id);
  state.timelines.delete(id);
  if (state.current === id) {
    state.current = null;
    location.hash = '';
    closeView();
    toast('That channel is no longer available to you.');
  }
  drawSidebar();
}

export function go(id) {
  if (location.hash === `#/c/${id}`) route();
  else location.hash = `#/c/${id}`;
}

export function defaultChannel() {
  const last = localStorage.getItem(`chatd.last.${state.me.id}`);
  if (last && state.channels.has(last) && state.channels.get(last).member) return last;
  const mine = [...state.channels.values()].filter((c) => c.member && !c.archived && (!state.currentOrg || c.organisation_id === state.currentOrg));
  mine.sort((a, b) => Number(isConversation(a)) - Number(isConversation(b)) || (a.name || '').localeCompare(b.name || ''));
  return mine.length ? mine[0].id : null;
}

export async function route() {
  const match = /^#\/c\/(\d+)(?:\/m\/(\d+))?/.exec(location.hash);
  let id = match ? match[1] : null;
  if (match && match[2]) return openLink(id, match[2]);
  if (!id && state.ready && !state.current) {
    id = defaultChannel();
    if (id) history.replaceState(null, '', `#/c/${id}`);
  }
  if (!id || !state.channels.has(id)) {
    if (id && state.ready) toast('That channel does not exist or is not visible to you.');
    if (here.view) closeView();
    state.current = null;
    drawSidebar();
    return;
  }
  if (here.view && here.view.id === id) return here.view.mounted;  // a jump waits for the first page's drawing
  if (here.view) here.view.destroy();
  const channel = state.channels.get(id);
  state.current = id;
  try {
    localStorage.setItem(`chatd.last.${state.me.id}`, id);
  } catch {
    // storage unavailable: only the default channel is forgotten
  }
  state.currentOrg = channel.organisation_id;
  if (here.panel && here.panel.channelScoped && here.panel.channelId !== id) closePanel();
  here.view = new ChannelView(id, {
    openThread,
    openMembers: () => openMembers(id),
    openPins: () => openPanel(Object.assign(new PinsPanel(id, { onClose: closePanel, onJump: jump }), { channelScoped: true, channelId: id })),
    channelMenu: (anchor) => channelMenu(anchor, id),
    editTopic: () => {
      const c = state.channels.get(id);
      if (mayManage(c) && !c.archived && !isConversation(c)) dialogs.editTopic(c);
    },
    join: () => join(id),
  });
  delete ui.center.dataset.welcome;
  clear(ui.center).append(here.view.el);
  drawSidebar();
  here.view.mounted = here.view.mount();
  await here.view.mounted;
  if (here.view && here.view.id === id) here.view.composer.focus();
  if (!performance.getEntriesByName('chatd-interactive').length) performance.mark('chatd-interactive');
}

export async function join(id) {
  try {
    await api.post('/channel/join', { id });
    await refreshChannel(id);
  } catch (err) {
    toast(err.message, 'error');
  }
}

export function openMembers(id) {
  const panelView = new MembersPanel(id, {
    onClose: closePanel,
    onAdd: () => dialogs.addChannelMembers(state.channels.get(id), () => state.bus.emit(`members:${id}`, null)),
    onRemove: (userId) => api.post('/channel/members/remove', { id, user_ids: [userId] })
      .then(() => state.bus.emit(`members:${id}`, null), (err) => toast(err.message, 'error')),
  });
  openPanel(Object.assign(panelView, { channelScoped: true, channelId: id }));
}

export function channelMenu(anchor, id) {
  const c = state.channels.get(id);
  const owner = mayManage(c);  // its owners, and the organisation's owners and admins, member or not
  const conversation = isConversation(c);
  const leave = conversation ? 'Leave conversation' : 'Leave channel';
  const items = [
    ['View members', () => openMembers(id)],
    owner && c.type !== 'direct' && !c.archived ? ['Add people', () => dialogs.addChannelMembers(c, () => state.bus.emit(`members:${id}`, null))] : null,
    !conversation && owner && !c.archived ? ['Edit topic', () => dialogs.editTopic(c)] : null,
    !conversation && owner && !c.archived ? ['Rename channel', () => dialogs.renameChannel(c)] : null,
    ['Pinned messages', () => openPanel(Object.assign(new PinsPanel(id, { onClose: closePanel, onJump: jump }), { channelScoped: true, channelId: id }))],
    null,
    !c.member && c.type === 'public' && !c.archived ? ['Join channel', () => join(id)] : null,
    owner && !conversation ? [c.archived ? 'Unarchive channel' : 'Archive channel', () => {
      const change = () => api.post(c.archived ? '/channel/unarchive' : '/channel/archive', { id }).then(() => refreshChannel(id), (err) => toast(err.message, 'error'));
      // Archiving stops everyone posting: asked first, as Slack does. Unarchiving takes nothing away.
      return c.archived ? change() : confirmDialog('Archive channel', `Archive #${c.name}? Everyone can still read and search it, but nobody can post or change it until it is unarchived.`, 'Archive', change);
    }] : null,
    c.member && c.type !== 'direct' ? [leave, () => confirmDialog(leave, `Leave ${conversation ? 'this conversation' : '#' + c.name}?`, 'Leave', async () => {
      await api.post('/channel/leave', { id });
      await refreshChannel(id);
      switchOrg(c.organisation_id);
    }), { danger: true }] : null,
  ].filter(Boolean);
  menu(anchor, items);
}

export function openThread(rootId) {
  const message = findMessage(rootId);
  if (!message) return;
  const next = new ThreadPanel(message, { onClose: closePanel, onJoin: () => join(message.channel_id) });
  next.channelScoped = true;
  next.channelId = message.channel_id;
  openPanel(next);
}

// A message's link (``channel.js`` ``messageLink``): its channel, scrolled to it, or its thread. The server
// decides who may read it; to anyone else it is as unknown as a message that never was.
async function openLink(channelId, messageId) {
  if (!state.ready) return;  // the link stays in the address, and is opened once the channels are known
  history.replaceState(null, '', `#/c/${channelId}`);
  let message = findMessage(messageId);
  if (!message) {
    try {
      message = await api.get('/message/read', { id: messageId });  // only where it is: jump loads around it
    } catch {
      message = null;
    }
  }
  if (!message || !state.channels.has(message.channel_id)) {  // (a merged channel's messages moved on: followed)
    toast('That message does not exist or is not visible to you.');
    // Back where the person was (or to the default channel), without a second notice about the channel.
    history.replaceState(null, '', state.current ? `#/c/${state.current}` : '#');
    return state.current ? null : route();
  }
  return jump(message);
}

export async function jump(message) {
  if (!state.channels.has(message.channel_id)) return toast('That channel is no longer available.');
  go(message.channel_id);
  await route();
  if (message.reply_to) {
    if (!findMessage(message.reply_to)) {
      try {
        putMessage(await api.get('/message/read', { id: message.reply_to }));
      } catch (err) {
        // The reply stays (search finds it) when the message it answered is deleted: its thread is gone.
        return toast(err.status === 404 ? 'That reply\'s thread was deleted: the message it answered is gone.'
          : `Could not open the thread: ${err.message}`, 'error');
      }
    }
    return openThread(message.reply_to);
  }
  // A phone's side panel covers the whole window: close it, or the message jumped to stays hidden under it.
  if (window.matchMedia(NARROW).matches) closePanel();
  const line = timeline(message.channel_id);
  for (let i = 0; i < 40 && !line.items.has(message.id) && line.hasMore; i++) await actions.loadHistory(message.channel_id, line.order[0]);
  if (here.view && here.view.id === message.channel_id) {
    if (!here.view.list.highlight(message.id)) {
      here.view.list.renderFrom(message.id);
      here.view.list.highlight(message.id);
    }
  }
}
