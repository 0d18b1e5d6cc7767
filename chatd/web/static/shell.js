// The shell around the views: the rail, sidebar, top bar, connection banner, centre and side panel.

import * as dialogs from './dialogs.js';
import { clear, h, icon } from './dom.js';
import { SavedPanel, SearchPanel } from './panels.js';
import { renderRail, renderSidebar } from './sidebar.js';
import { countLabel, isConversation, state } from './state.js';
import { addPeople, meMenu, orgCreated, orgMenu, switchOrg } from './orgs.js';
import { go, jump, newChannel, channelCreated } from './nav.js';

export const root = document.getElementById('app');
export const ui = {};
// What is open: the channel view, the side panel, and the live connection.
export const here = { view: null, panel: null, live: null };

export function layout() {
  root.className = 'app';
  ui.rail = h('nav', { class: 'rail', 'aria-label': 'Organisations' });
  ui.sidebar = h('nav', { class: 'sidebar', 'aria-label': 'Channels' });
  ui.search = h('input', { type: 'search', class: 'search', placeholder: 'Search messages', 'aria-label': 'Search messages' });
  ui.status = h('span', { id: 'connection', class: 'connection', dataset: { status: state.status } });
  ui.banner = h('div', { class: 'banner hidden', role: 'status' });
  ui.center = h('main', { class: 'center' });
  ui.side = h('div', { class: 'side-panel' });
  // Narrow windows (phones) show either the channel list or the channel, as Slack's app does: this button
  // (shown only there, by the stylesheet) brings the list back; picking a channel hides it again.
  const navToggle = h('button', { class: 'nav-toggle', 'aria-label': 'Channels', title: 'Channels', onclick: () => showNav(!root.classList.contains('nav-open')) }, icon('menu'));
  ui.navToggle = navToggle;
  clear(root).append(
    ui.rail,
    ui.sidebar,
    h('div', { class: 'main' },
      h('div', { class: 'topbar' }, navToggle, h('div', { class: 'search-box' }, icon('search'), ui.search), ui.status),
      ui.banner,
      h('div', { class: 'workspace' }, ui.center, ui.side)),
  );
  ui.sidebar.addEventListener('click', (e) => {
    if (e.target.closest('a.side-item')) showNav(false);
  });
  window.addEventListener('hashchange', () => showNav(false));
  ui.search.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && ui.search.value.trim()) openPanel(new SearchPanel(ui.search.value.trim(), { onClose: closePanel, onJump: jump }));
    if (e.key === 'Escape') ui.search.value = '';
  });
}

export function showNav(open) {
  root.classList.toggle('nav-open', open);
}

let sidebarQueued = false;
export function drawSidebar() {
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
    let elsewhere = 0; // what the channel on screen does not show: a phone's only sign of it is the menu button
    for (const c of state.channels.values()) {
      const count = c.member && !c.archived ? (isConversation(c) ? c.unread : c.mentions) || 0 : 0;
      unread += count;
      if (c.id !== state.current) elsewhere += count;
    }
    document.title = unread ? `(${countLabel(unread)}) chatd` : 'chatd';
    if (elsewhere) ui.navToggle.dataset.count = countLabel(elsewhere);
    else delete ui.navToggle.dataset.count;
    ui.navToggle.setAttribute('aria-label', elsewhere ? `Channels, ${elsewhere} new for you elsewhere` : 'Channels');
    if (!state.current) welcome();
  });
}

// After a lost connection, "Back online" for a moment (a banner that only vanished left people unsure
// whether their messages had gone out).
const BACK_ONLINE_MS = 3000;
let backOnline = null;

export function showStatus(status) {
  const was = state.status;
  state.status = status;
  if (!ui.status) return;
  ui.status.dataset.status = status;
  ui.status.textContent = { online: '', connecting: 'Connecting…', reconnecting: 'Reconnecting…', offline: 'Offline', refused: 'Not allowed' }[status] ?? status;
  const text = {
    reconnecting: 'Connection lost. Reconnecting… Messages you send are kept and go out as soon as the connection is back.',
    offline: 'You are offline. Messages you send are kept and go out when you are back online.',
    refused: 'The server refused this page’s origin. Ask the operator to add it to server.allowed_origins.',
  }[status];
  clearTimeout(backOnline);
  const back = status === 'online' && (was === 'reconnecting' || was === 'offline');
  ui.banner.classList.toggle('hidden', !text && !back);
  ui.banner.dataset.status = status;
  ui.banner.textContent = text || (back ? 'Back online.' : '');
  if (back) backOnline = setTimeout(() => ui.banner.classList.add('hidden'), BACK_ONLINE_MS);
  state.bus.emit('status', status);
}

export function closeView() {
  if (here.view) here.view.destroy();
  here.view = null;
  clear(ui.center);
  delete ui.center.dataset.welcome;
  welcome();
}

export function welcome() {
  if (here.view || !ui.center) return;
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

export function openPanel(next) {
  if (here.panel) here.panel.destroy();
  here.panel = next;
  clear(ui.side).append(next.el);
  root.classList.add('with-panel');
  next.mount();
}

export function closePanel() {
  if (here.panel) here.panel.destroy();
  here.panel = null;
  clear(ui.side);
  root.classList.remove('with-panel');
  if (here.view) here.view.composer.focus();
}
