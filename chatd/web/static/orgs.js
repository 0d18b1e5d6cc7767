// Organisations, teams and people: loading them, switching, creating, the organisation and account menus.

import { allPages, api } from './api.js';
import * as dialogs from './dialogs.js';
import { PeoplePanel } from './panels.js';
import { mayManage, state } from './state.js';
import { menu, toast } from './ui.js';
import { notificationState, toggleNotifications } from './notify.js';
import { channelCreated, go, newChannel } from './nav.js';
import { closeView, closePanel, drawSidebar, here, openPanel } from './shell.js';

export async function loadOrgs() {
  const orgs = await allPages('/organisation/search', { archived: false });
  state.orgs = new Map(orgs.map((o) => [o.id, o]));
  await Promise.all(orgs.map(loadTeams));
  if (!state.orgs.has(state.currentOrg)) state.currentOrg = orgs.length ? orgs[0].id : null;
  state.bus.emit('orgs', null);
}

export async function loadTeams(org) {
  const teams = await allPages('/team/search', { organisation_id: org.id, archived: false });
  state.teams.set(org.id, teams.sort((a, b) => a.name.localeCompare(b.name)));
}

export async function loadUsers() {
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

export function switchOrg(orgId) {
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

export async function orgCreated(org) {
  state.orgs.set(org.id, org);
  state.teams.set(org.id, []);
  state.currentOrg = org.id;
  drawSidebar();
  // A first channel, so the organisation is ready to talk in.
  const general = await api.post('/channel/edit', { organisation_id: org.id, name: 'general', topic: 'Company-wide announcements and chat' });
  channelCreated(general);
}

export function orgMenu(anchor) {
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

export function addPeople() {
  const orgId = state.currentOrg;
  dialogs.addPeople(orgId, (userIds) => {
    state.bus.emit('org-members', null);
    addToGeneral(orgId, userIds);
  });
}

// Newcomers land in #general (the channel an organisation starts with), as in Slack, when we own it;
// otherwise they find it under Browse channels.
function addToGeneral(orgId, userIds) {
  const general = [...state.channels.values()].find((c) => c.organisation_id === orgId && c.type === 'public' && c.name === 'general'
    && mayManage(c) && !c.archived);
  if (general && userIds.length) api.post('/channel/members/add', { id: general.id, user_ids: userIds }).catch(() => {});
}

export function openPeople() {
  openPanel(new PeoplePanel(state.currentOrg, {
    onClose: closePanel,
    onAdd: addPeople,
    onRole: (userId, role) => api.post('/organisation/members/role', { id: state.currentOrg, user_id: userId, role })
      .then(() => toast('Role changed'), (err) => { toast(err.message, 'error'); state.bus.emit('org-members', null); }),
  }));
}

const NOTIFICATION_ITEMS = {
  on: 'Turn off desktop notifications',
  off: 'Turn on desktop notifications',
  ask: 'Turn on desktop notifications',
  blocked: 'Desktop notifications are blocked',
  insecure: 'Desktop notifications need HTTPS',
};

export function meMenu(anchor) {
  const away = state.myStatus === 'away';
  const notices = notificationState();
  menu(anchor, [
    [away ? 'Set yourself as active' : 'Set yourself as away', () => setMyStatus(away ? 'online' : 'away')],
    ...(notices in NOTIFICATION_ITEMS ? [[NOTIFICATION_ITEMS[notices], switchNotifications]] : []),
    ['Change password', dialogs.changePassword],
    null,
    ['Sign out', signOut, { danger: true }],
  ]);
}

async function switchNotifications() {
  const before = notificationState();
  if (before === 'blocked') {
    toast('This browser blocks notifications from chatd: allow them in the site settings (the icon left of the address)');
    return;
  }
  if (before === 'insecure') {
    toast('Browsers show notifications only for pages served over HTTPS: ask whoever runs chatd to put it behind HTTPS');
    return;
  }
  const now = await toggleNotifications();
  if (now === 'on') toast('Desktop notifications on: direct messages and mentions, when you are not looking');
  else if (now === 'off') toast('Desktop notifications off');
  else toast('Notifications were not allowed', 'error');
}

export function setMyStatus(status) {
  state.myStatus = status;
  if (here.live && here.live.online) here.live.request({ type: 'presence', status }).catch(() => {});
  drawSidebar();
}

export async function signOut() {
  try {
    await api.post('/user/logout');
  } catch {
    // signed out already, or offline: the page forgets the session either way
  }
  location.hash = '';
  location.reload();
}
