// The left side: organisations (a rail of squares), then the current organisation's teams, channels and
// conversations with unread and mention badges, presence dots, and the signed-in user at the bottom.

import { avatar, clear, colourOf, h, icon, initials } from './dom.js';
import { channelTitle, countLabel, isConversation, state } from './state.js';

export function presenceDot(userId) {
  const status = userId === state.me.id ? state.myStatus || 'online' : state.presence.get(userId) || 'offline';
  return h('span', { class: `presence ${status}`, title: status, 'aria-label': status });
}

function otherMember(channel) {
  const others = (channel.member_ids || []).filter((id) => id !== state.me.id);
  return channel.type === 'direct' ? others[0] || state.me.id : null;
}

function channelIcon(channel) {
  if (channel.type === 'private') return icon('lock');
  if (channel.type === 'group') return h('span', { class: 'group-count' }, String(Math.max(0, (channel.member_count || 1) - 1)));
  if (channel.type === 'direct') return presenceDot(otherMember(channel));
  return icon('hash');
}

function item(channel) {
  const unread = channel.member && channel.unread > 0;
  const badge = isConversation(channel) ? channel.unread : channel.mentions;
  const classes = ['side-item'];
  if (channel.id === state.current) classes.push('active');
  if (unread) classes.push('unread');
  if (channel.archived) classes.push('archived');
  return h(
    'a',
    { class: classes.join(' '), href: `#/c/${channel.id}`, dataset: { channel: channel.id }, title: channelTitle(channel) },
    h('span', { class: 'side-icon' }, channelIcon(channel)),
    h('span', { class: 'side-name' }, channelTitle(channel)),
    badge > 0 && channel.member ? h('span', { class: 'badge', 'aria-label': `${countLabel(badge)} unread` }, countLabel(badge)) : null,
  );
}

function section(title, channels, addAction, addLabel) {
  const body = channels.map(item);
  return h(
    'div',
    { class: 'side-section' },
    h('div', { class: 'side-section-head' },
      h('span', null, title),
      addAction ? h('button', { class: 'side-add', title: addLabel, 'aria-label': addLabel, onclick: addAction }, '+') : null),
    body,
  );
}

const byName = (a, b) => channelTitle(a).localeCompare(channelTitle(b));
const when = (c) => Date.parse(c.last_message_at || c.created_at) || 0;
const byRecent = (a, b) => when(b) - when(a);

export function renderRail(el, { onOrg, onNewOrg }) {
  clear(el);
  for (const org of [...state.orgs.values()].sort((a, b) => a.name.localeCompare(b.name))) {
    // Only what the sidebar lists can light the dot: an archived channel is hidden there, so its old unread
    // messages would leave a dot nobody can clear.
    const unread = [...state.channels.values()].some((c) => c.organisation_id === org.id && c.member && !c.archived && c.unread > 0);
    const square = h('button', { class: 'rail-org' + (org.id === state.currentOrg ? ' active' : '') + (unread ? ' unread' : ''), title: org.name, 'aria-label': org.name, onclick: () => onOrg(org.id) }, initials(org.name));
    square.style.backgroundColor = colourOf(org.id);
    el.append(square);
  }
  el.append(h('button', { class: 'rail-org add', title: 'Create an organisation', 'aria-label': 'Create an organisation', onclick: onNewOrg }, '+'));
}

export function renderSidebar(el, handlers) {
  clear(el);
  const org = state.orgs.get(state.currentOrg);
  if (!org) {
    el.append(h('div', { class: 'side-empty' }, 'No organisation yet.'));
    return;
  }
  const mine = [...state.channels.values()].filter((c) => c.organisation_id === org.id && (c.member || c.id === state.current) && (!c.archived || c.id === state.current));
  const teams = state.teams.get(org.id) || [];
  const head = h(
    'button',
    { class: 'side-head', onclick: (e) => handlers.orgMenu(e.currentTarget), 'aria-label': `${org.name} menu` },
    h('span', { class: 'side-org-name', title: org.name }, org.name),
    icon('chevron'),
  );
  const nav = h(
    'div',
    { class: 'side-nav' },
    h('button', { class: 'side-item', onclick: handlers.saved }, h('span', { class: 'side-icon' }, icon('bookmark')), h('span', { class: 'side-name' }, 'Saved items')),
    h('button', { class: 'side-item', onclick: handlers.browse }, h('span', { class: 'side-icon' }, icon('search')), h('span', { class: 'side-name' }, 'Browse channels')),
  );
  const scroller = h('div', { class: 'side-scroll' }, nav);
  for (const team of teams) {
    const list = mine.filter((c) => c.team_id === team.id && !isConversation(c)).sort(byName);
    scroller.append(section(team.name, list, () => handlers.newChannel(team.id), `Create a channel in ${team.name}`));
  }
  const plain = mine.filter((c) => !c.team_id && !isConversation(c)).sort(byName);
  scroller.append(section('Channels', plain, () => handlers.newChannel(null), 'Create a channel'));
  const conversations = mine.filter(isConversation).sort(byRecent);
  scroller.append(section('Direct messages', conversations, handlers.newConversation, 'New message'));
  const me = state.me;
  const foot = h(
    'button',
    { class: 'side-foot', onclick: (e) => handlers.meMenu(e.currentTarget), 'aria-label': 'Your account' },
    h('span', { class: 'avatar-wrap' }, avatar(me, 'sm'), presenceDot(me.id)),
    h('span', { class: 'side-me' }, h('span', { class: 'side-me-name' }, me.display_name || me.username), h('span', { class: 'side-me-status' }, state.myStatus === 'away' ? 'Away' : 'Active')),
  );
  el.append(head, scroller, foot);
}
