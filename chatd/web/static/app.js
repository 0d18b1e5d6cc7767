// The chat client: signs in, starts the live connection and hands its frames to the views.

import * as actions from './actions.js';
import { api } from './api.js';
import { clear, h } from './dom.js';
import { handleEvent } from './events.js';
import { Live } from './live.js';
import { forgetChannel, jump, loadMemberIds, refreshChannel, route } from './nav.js';
import { ensureUser, loadOrgs, loadUsers } from './orgs.js';
import { closePanel, drawSidebar, here, layout, root, showNav, showStatus, ui, welcome } from './shell.js';
import { SIGN_IN_NOTICE, channelTitle, isConversation, loadOutbox, state, thread, timeline, viewerFields } from './state.js';
import { closeMenu, closeModal, menuOpen, modalOpen, toast } from './ui.js';

actions.ctx.toast = toast;

function showLogin(notice = '') {
  if (here.live) here.live.stop();
  here.live = null;
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
    // Said to everyone who opens the page, so first to the many who are not its operator.
    h('p', { class: 'muted small' }, 'No account yet? Ask whoever runs this chat for one. Set it up yourself? Sign in as ',
      h('b', null, 'admin'), ' with the password ', h('code', null, 'chatd serve'), ' printed when it first started.'));
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
  if (state.myStatus === 'away') here.live.request({ type: 'presence', status: 'away' }).catch(() => {});
  for (const id of (replay && replay.lost) || []) forgetChannel(id);
  for (const id of (replay && replay.resync) || []) {
    state.timelines.delete(id);
    for (const [rootId, line] of state.threads) if ([...line.items.values()].some((m) => m.channel_id === id)) state.threads.delete(rootId);
    if (here.view && here.view.id === id) {
      here.view.destroy();
      here.view = null;
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
  here.live = new Live({
    onReady: ready,
    onEvent: (frame) => handleEvent(frame, { refreshChannel, forgetChannel, loadOrgs, ensureUser, loadMemberIds, drawSidebar, jump, viewOf: () => here.view, live: () => Boolean(here.live && here.live.online) }),
    onLive: wentLive,
    onStatus: showStatus,
    onSignedOut: () => showLogin('You were signed out. Sign in again to continue.'),
  });
  actions.ctx.live = here.live;
  window.chatd.live = here.live;
  here.live.connect(); // at once, alongside the directory: the channel list and history come with it
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
    if (here.panel && !e.defaultPrevented) return closePanel();
    if (root.classList.contains('nav-open')) return showNav(false); // a phone's channel list
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
    if (err.status === 401) {
      const notice = sessionStorage.getItem(SIGN_IN_NOTICE) || '';
      sessionStorage.removeItem(SIGN_IN_NOTICE);
      showLogin(notice);
    }
    else clear(root).append(h('div', { class: 'welcome' }, h('h1', null, 'chatd is not reachable'), h('p', null, err.message)));
  }
}

// Exposed for the browser tests and for curious people with a console; nothing here holds a secret.
window.chatd = { state, thread, timeline, channelTitle, viewerFields };

boot();
