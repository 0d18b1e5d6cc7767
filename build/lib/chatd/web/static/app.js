// The chat client: signs in, keeps the live connection, routes `#/c/<channel>` and wires the views.

import * as actions from './actions.js';
import { allPages, api } from './api.js';
import { ChannelView } from './channel.js';
import * as dialogs from './dialogs.js';
import { clear, h, icon } from './dom.js';
import { Live } from './live.js';
import { MembersPanel, PeoplePanel, PinsPanel, SavedPanel, SearchPanel, ThreadPanel } from './panels.js';
import { renderRail, renderSidebar } from './sidebar.js';
import { channelTitle, findMessage, isConversation, loadOutbox, putMessage, state, thread, timeline, viewerFields } from './state.js';
import { closeMenu, closeModal, confirmDialog, menu, menuOpen, modalOpen, toast } from './ui.js';
import { handleEvent } from './events.js';

const root = document.getElementById('app');
const ui = {};
let live = null;
let view = null;
let panel = null;

actions.ctx.toast = toast;

// -- signing in ------------------------------------------------------------------------------------

function showLogin(notice = '') {
  if (live) live.stop();
  live = null;
  root.className = 'login-page';
  const error = h('div', { class: 'form-error', role: 'alert' }, notice);
  const username = h('input', { id: 'username', name: 'username', autocomplete: 'username', required: true, autofocus: true });
  const password = h('input', { id: 'password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const button = h('button', { type: 'submit', class: 'btn primary block' }, 'Sign in');
  const form = h('form', { class: 'login-card' },
    h('img', { src: document.querySelector('link[rel=icon]').href, alt: '', class: 'login-logo' }),
    h('h1', null, 'Sign in to chatd'),
    h('div', { class: 'field' }, h('label', { for: 'username' }, 'Username or email'), username),
    h('div', { class: 'field' }, h('label', { for: 'password' }, 'Password'), password),
    error, button,
    h('p', { class: 'muted small' }, 'First time here? Sign in as ', h('b', null, 'admin'), ' with the password that scripts/serve printed.'));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    error.textContent = '';
    button.disabled = true;
    try {
      const session = await api.post('/user/login', { username: username.value.trim(), password: password.value });
      if (state.me) location.reload(); // signed in again after a sign-out: start afresh
      else start(session.user);
    } catch (err) {
      error.textContent = err.status === 401 ? 'Wrong username or password.' : err.message;
    } finally {
      button.disabled = false;
    }
  });
  clear(root).append(form);
  username.focus();
}

async function signOut() {
  try {
    await api.post('/user/logout');
  } catch {
    // signed out already, or offline: the page forgets the session either way
  }
  location.hash = '';
  location.reload();
}

// -- the shell -------------------------------------------------------------------------------------

function layout() {
  root.className = 'app';
  ui.rail = h('nav', { class: 'rail', 'aria-label': 'Organisations' });
  ui.sidebar = h('nav', { class: 'sidebar', 'aria-label': 'Channels' });
  ui.search = h('input', { type: 'search', class: 'search', placeholder: 'Search messages', 'aria-label': 'Search messages' });
  ui.status = h('span', { id: 'connection', class: 'connection', dataset: { status: state.status } });
  ui.banner = h('div', { class: 'banner hidden', role: 'status' });
  ui.center = h('main', { class: 'center' });
  ui.side = h('div', { class: 'side-panel' });
  clear(root).append(
    ui.rail,
    ui.sidebar,
    h('div', { class: 'main' },
      h('div', { class: 'topbar' }, h('div', { class: 'search-box' }, icon('search'), ui.search), ui.status),
      ui.banner,
      h('div', { class: 'workspace' }, ui.center, ui.side)),
  );
  ui.search.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && ui.search.value.trim()) openPanel(new SearchPanel(ui.search.value.trim(), { onClose: closePanel, onJump: jump }));
    if (e.key === 'Escape') ui.search.value = '';
  });
}

let sidebarQueued = false;
function drawSidebar() {
  if (sidebarQueued) return;
  sidebarQueued = true;
  requestAnimationFrame(() => {
    sidebarQueued = false;
    if (!ui.sidebar) return;
    renderRail(ui.rail, { onOrg: switchOrg, onNewOrg: () => dialogs.createOrg(orgCreated) });
    renderSidebar(ui.sidebar, {
      orgMenu,
      meMenu,
      saved: () => openPanel(new SavedPanel({ onClose: closePanel, onJump: jump })),
      browse: () => dialogs.browseChannels(state.currentOrg, { onOpen: (id) => go(id), onCreate: () => newChannel(null) }),
      newChannel,
      newConversation: () => dialogs.newConversation(state.currentOrg, (c) => channelCreated(c)),
    });
    let unread = 0;
    for (const c of state.channels.values()) if (c.member && (isConversation(c) ? c.unread : c.mentions)) unread += isConversation(c) ? c.unread : c.mentions;
    document.title = unread ? `(${unread}) chatd` : 'chatd';
    if (!state.current) welcome();
  });
}

function showStatus(status) {
  state.status = status;
  if (!ui.status) return;
  ui.status.dataset.status = status;
  ui.status.textContent = { online: '', connecting: 'Connecting…', reconnecting: 'Reconnecting…', offline: 'Offline', refused: 'Not allowed' }[status] ?? status;
  const text = {
    reconnecting: 'Connection lost. Reconnecting… Messages you send are kept and go out as soon as the connection is back.',
    offline: 'You are offline. Messages you send are kept and go out when you are back online.',
    refused: 'The server refused this page’s origin. Ask the operator to add it to server.allowed_origins.',
  }[status];
  ui.banner.classList.toggle('hidden', !text);
  ui.banner.dataset.status = status;
  ui.banner.textContent = text || '';
  state.bus.emit('status', status);
}

// -- organisations ---------------------------------------------------------------------------------

async function loadOrgs() {
  const orgs = await allPages('/organisation/search', { archived: false });
  state.orgs = new Map(orgs.map((o) => [o.id, o]));
  await Promise.all(orgs.map(loadTeams));
  if (!state.orgs.has(state.currentOrg)) state.currentOrg = orgs.length ? orgs[0].id : null;
  state.bus.emit('orgs', null);
}

async function loadTeams(org) {
  const teams = await allPages('/team/search', { organisation_id: org.id, archived: false });
  state.teams.set(org.id, teams.sort((a, b) => a.name.localeCompare(b.name)));
}

async function loadUsers() {
  const users = await allPages('/user/search', {}, 5);
  for (const user of users) state.users.set(user.id, user);
  state.bus.emit('users', null);
}

const unknownUsers = new Set();
export function ensureUser(id) {
  if (!id || state.users.has(id) || unknownUsers.has(id)) return;
  unknownUsers.add(id);
  api.get('/user/read', { id }).then((user) => {
    state.users.set(user.id, user);
    state.bus.emit('users', null);
  }, () => {});
}

function switchOrg(orgId) {
  state.currentOrg = orgId;
  const first = [...state.channels.values()].filter((c) => c.organisation_id === orgId && c.member && !c.archived)
    .sort((a, b) => (a.name || '').localeCompare(b.name || ''))[0];
  if (first) go(first.id);
  else {
    state.current = null;
    location.hash = '';
    closeView();
  }
  drawSidebar();
}

async function orgCreated(org) {
  state.orgs.set(org.id, org);
  state.teams.set(org.id, []);
  state.currentOrg = org.id;
  drawSidebar();
  // A first channel, so the organisation is ready to talk in.
  const general = await api.post('/channel/edit', { organisation_id: org.id, name: 'general', topic: 'Company-wide announcements and chat' });
  channelCreated(general);
}

function orgMenu(anchor) {
  const org = state.orgs.get(state.currentOrg);
  const admin = org && (org.role === 'owner' || org.role === 'admin');
  menu(anchor, [
    ['Create a channel', () => newChannel(null)],
    ['Browse channels', () => dialogs.browseChannels(state.currentOrg, { onOpen: (id) => go(id), onCreate: () => newChannel(null) })],
    ['Create a team', () => dialogs.createTeam(state.currentOrg, async () => { await loadTeams(org); drawSidebar(); toast('Team created'); })],
    null,
    ['Add people', () => addPeople()],
    ['People', () => openPeople()],
    null,
    admin ? ['Rename organisation', () => dialogs.renameOrg(org)] : null,
    ['Create an organisation', () => dialogs.createOrg(orgCreated)],
  ].filter((item, i, all) => item !== null || (i > 0 && all[i - 1] !== null)));
}

function addPeople() {
  dialogs.addPeople(state.currentOrg, () => state.bus.emit('org-members', null));
}

function openPeople() {
  openPanel(new PeoplePanel(state.currentOrg, {
    onClose: closePanel,
    onAdd: addPeople,
    onRole: (userId, role) => api.post('/organisation/members/role', { id: state.currentOrg, user_id: userId, role })
      .then(() => toast('Role changed'), (err) => { toast(err.message, 'error'); state.bus.emit('org-members', null); }),
  }));
}

function meMenu(anchor) {
  const away = state.myStatus === 'away';
  menu(anchor, [
    [away ? 'Set yourself as active' : 'Set yourself as away', () => setMyStatus(away ? 'online' : 'away')],
    ['Change password', dialogs.changePassword],
    null,
    ['Sign out', signOut, { danger: true }],
  ]);
}

function setMyStatus(status) {
  state.myStatus = status;
  if (live && live.online) live.request({ type: 'presence', status }).catch(() => {});
  drawSidebar();
}

// -- channels --------------------------------------------------------------------------------------

function newChannel(teamId) {
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

function go(id) {
  if (location.hash === `#/c/${id}`) route();
  else location.hash = `#/c/${id}`;
}

function closeView() {
  if (view) view.destroy();
  view = null;
  clear(ui.center);
  delete ui.center.dataset.welcome;
  welcome();
}

function welcome() {
  if (view || !ui.center) return;
  const org = state.orgs.get(state.currentOrg);
  const key = org ? `${org.id}:${org.name}` : '-';
  if (ui.center.dataset.welcome === key && ui.center.firstChild) return; // drawn already: keep it steady
  ui.center.dataset.welcome = key;
  const card = org
    ? h('div', { class: 'welcome' }, h('h1', null, `Welcome to ${org.name}`),
      h('p', null, 'Channels keep conversations about one topic together. Create one, invite your colleagues, and start talking.'),
      h('div', { class: 'welcome-actions' },
        h('button', { class: 'btn primary', onclick: () => newChannel(null) }, 'Create a channel'),
        h('button', { class: 'btn', onclick: () => dialogs.browseChannels(state.currentOrg, { onOpen: (id) => go(id), onCreate: () => newChannel(null) }) }, 'Browse channels'),
        h('button', { class: 'btn', onclick: addPeople }, 'Add people')))
    : h('div', { class: 'welcome' }, h('h1', null, `Welcome, ${state.me.display_name || state.me.username}`),
      h('p', null, 'chatd is ready. Start by creating an organisation for your company or group; you will be its owner and can then add teams, channels and people.'),
      h('div', { class: 'welcome-actions' }, h('button', { class: 'btn primary', onclick: () => dialogs.createOrg(orgCreated) }, 'Create an organisation')));
  clear(ui.center).append(card);
}

function defaultChannel() {
  const last = localStorage.getItem(`chatd.last.${state.me.id}`);
  if (last && state.channels.has(last) && state.channels.get(last).member) return last;
  const mine = [...state.channels.values()].filter((c) => c.member && !c.archived && (!state.currentOrg || c.organisation_id === state.currentOrg));
  mine.sort((a, b) => Number(isConversation(a)) - Number(isConversation(b)) || (a.name || '').localeCompare(b.name || ''));
  return mine.length ? mine[0].id : null;
}

async function route() {
  const match = /^#\/c\/(\d+)/.exec(location.hash);
  let id = match ? match[1] : null;
  if (!id && state.ready && !state.current) {
    id = defaultChannel();
    if (id) history.replaceState(null, '', `#/c/${id}`);
  }
  if (!id || !state.channels.has(id)) {
    if (id && state.ready) toast('That channel does not exist or is not visible to you.');
    if (view) closeView();
    state.current = null;
    drawSidebar();
    return;
  }
  if (view && view.id === id) return;
  if (view) view.destroy();
  const channel = state.channels.get(id);
  state.current = id;
  try {
    localStorage.setItem(`chatd.last.${state.me.id}`, id);
  } catch {
    // storage unavailable: only the default channel is forgotten
  }
  state.currentOrg = channel.organisation_id;
  if (panel && panel.channelScoped && panel.channelId !== id) closePanel();
  view = new ChannelView(id, {
    openThread,
    openMembers: () => openMembers(id),
    openPins: () => openPanel(Object.assign(new PinsPanel(id, { onClose: closePanel, onJump: jump }), { channelScoped: true, channelId: id })),
    channelMenu: (anchor) => channelMenu(anchor, id),
    editTopic: () => {
      const c = state.channels.get(id);
      if (c.member && !c.archived && !isConversation(c)) dialogs.editTopic(c);
    },
    join: () => join(id),
  });
  delete ui.center.dataset.welcome;
  clear(ui.center).append(view.el);
  drawSidebar();
  await view.mount();
  if (view && view.id === id) view.composer.focus();
  if (!performance.getEntriesByName('chatd-interactive').length) performance.mark('chatd-interactive');
}

async function join(id) {
  try {
    await api.post('/channel/join', { id });
    await refreshChannel(id);
  } catch (err) {
    toast(err.message, 'error');
  }
}

function openMembers(id) {
  const panelView = new MembersPanel(id, {
    onClose: closePanel,
    onAdd: () => dialogs.addChannelMembers(state.channels.get(id), () => state.bus.emit(`members:${id}`, null)),
    onRemove: (userId) => api.post('/channel/members/remove', { id, user_ids: [userId] })
      .then(() => state.bus.emit(`members:${id}`, null), (err) => toast(err.message, 'error')),
  });
  openPanel(Object.assign(panelView, { channelScoped: true, channelId: id }));
}

function channelMenu(anchor, id) {
  const c = state.channels.get(id);
  const owner = c.role === 'owner';
  const conversation = isConversation(c);
  const items = [
    ['View members', () => openMembers(id)],
    owner && c.type !== 'direct' && !c.archived ? ['Add people', () => dialogs.addChannelMembers(c, () => state.bus.emit(`members:${id}`, null))] : null,
    !conversation && c.member && !c.archived ? ['Edit topic', () => dialogs.editTopic(c)] : null,
    !conversation && owner && !c.archived ? ['Rename channel', () => dialogs.renameChannel(c)] : null,
    ['Pinned messages', () => openPanel(Object.assign(new PinsPanel(id, { onClose: closePanel, onJump: jump }), { channelScoped: true, channelId: id }))],
    null,
    !c.member && c.type === 'public' && !c.archived ? ['Join channel', () => join(id)] : null,
    owner && !conversation ? [c.archived ? 'Unarchive channel' : 'Archive channel', () => api.post(c.archived ? '/channel/unarchive' : '/channel/archive', { id }).then(() => refreshChannel(id), (err) => toast(err.message, 'error'))] : null,
    c.member && c.type !== 'direct' ? ['Leave channel', () => confirmDialog('Leave channel', `Leave ${conversation ? 'this conversation' : '#' + c.name}?`, 'Leave', async () => {
      await api.post('/channel/leave', { id });
      await refreshChannel(id);
      switchOrg(c.organisation_id);
    }), { danger: true }] : null,
  ].filter(Boolean);
  menu(anchor, items);
}

// -- panels ----------------------------------------------------------------------------------------

function openPanel(next) {
  if (panel) panel.destroy();
  panel = next;
  clear(ui.side).append(next.el);
  root.classList.add('with-panel');
  next.mount();
}

function closePanel() {
  if (panel) panel.destroy();
  panel = null;
  clear(ui.side);
  root.classList.remove('with-panel');
  if (view) view.composer.focus();
}

function openThread(rootId) {
  const message = findMessage(rootId);
  if (!message) return;
  const next = new ThreadPanel(message, { onClose: closePanel });
  next.channelScoped = true;
  next.channelId = message.channel_id;
  openPanel(next);
}

async function jump(message) {
  if (!state.channels.has(message.channel_id)) return toast('That channel is no longer available.');
  go(message.channel_id);
  await route();
  if (message.reply_to) {
    if (!findMessage(message.reply_to)) {
      try {
        putMessage(await api.get('/message/read', { id: message.reply_to }));
      } catch {
        return;
      }
    }
    return openThread(message.reply_to);
  }
  const line = timeline(message.channel_id);
  for (let i = 0; i < 40 && !line.items.has(message.id) && line.hasMore; i++) await actions.loadHistory(message.channel_id, line.order[0]);
  if (view && view.id === message.channel_id) {
    if (!view.list.highlight(message.id)) {
      view.list.renderFrom(message.id);
      view.list.highlight(message.id);
    }
  }
}

// -- the live connection ---------------------------------------------------------------------------

function ready(data, resumed) {
  const fresh = new Map();
  for (const channel of data.channels) {
    const known = state.channels.get(channel.id);
    fresh.set(channel.id, { ...channel, member_ids: known ? known.member_ids : undefined });
  }
  state.channels = fresh;
  state.presence = new Map(Object.entries(data.presence || {}));
  state.me = { ...state.me, ...data.user };
  for (const channel of fresh.values()) if (isConversation(channel) && !channel.member_ids) loadMemberIds(channel.id);
  state.ready = true;
  drawSidebar();
  state.bus.emit('presence', null);
  if (!resumed) route();
  else if (state.current && !state.channels.has(state.current)) forgetChannel(state.current);
}

async function wentLive(replay) {
  if (state.myStatus === 'away') live.request({ type: 'presence', status: 'away' }).catch(() => {});
  for (const id of (replay && replay.lost) || []) forgetChannel(id);
  for (const id of (replay && replay.resync) || []) {
    state.timelines.delete(id);
    for (const [rootId, line] of state.threads) if ([...line.items.values()].some((m) => m.channel_id === id)) state.threads.delete(rootId);
    if (view && view.id === id) {
      view.destroy();
      view = null;
      route();
    }
  }
  actions.flush();
  if (state.current) actions.markRead(state.current);
}

async function start(me) {
  state.me = me;
  state.myStatus = 'online';
  loadOutbox();
  layout();
  showStatus('connecting');
  welcome();
  for (const topic of ['channels', 'orgs', 'users', 'presence']) state.bus.on(topic, drawSidebar);
  live = new Live({
    onReady: ready,
    onEvent: (frame) => handleEvent(frame, { refreshChannel, forgetChannel, loadOrgs, ensureUser, loadMemberIds, drawSidebar, viewOf: () => view }),
    onLive: wentLive,
    onStatus: showStatus,
    onSignedOut: () => showLogin('You were signed out. Sign in again to continue.'),
  });
  actions.ctx.live = live;
  window.chatd.live = live;
  live.connect(); // at once, alongside the directory: the channel list and history come with it
  state.directory = loadUsers().catch(() => {});
  loadOrgs().catch((err) => toast(`Could not load your organisations: ${err.message}`, 'error'));
  window.addEventListener('hashchange', route);
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden && state.current) actions.markRead(state.current);
  });
}

document.addEventListener('keydown', (e) => {
  if (e.key === 'Escape') {
    if (menuOpen()) return closeMenu();
    if (modalOpen()) return closeModal();
    if (panel && !e.defaultPrevented) return closePanel();
  }
  if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === 'k' && ui.search) {
    e.preventDefault();
    ui.search.focus();
  }
});

async function boot() {
  try {
    start(await api.get('/user/read'));
  } catch (err) {
    if (err.status === 401) showLogin();
    else clear(root).append(h('div', { class: 'welcome' }, h('h1', null, 'chatd is not reachable'), h('p', null, err.message)));
  }
}

// Exposed for the browser tests and for curious people with a console; nothing here holds a secret.
window.chatd = { state, thread, timeline, channelTitle, viewerFields };

boot();
