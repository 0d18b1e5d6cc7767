// Forms for creating and changing things: organisations, teams, channels, conversations, accounts.

import { api } from './api.js';
import { avatar, clear, h } from './dom.js';
import { SIGN_IN_NOTICE, channelTitle, state } from './state.js';
import { closeModal, dialog, toast } from './ui.js';

// What the server takes (docs/api.md): names of organisations, teams and channels 1-128 characters, a topic
// at most 1024; the fields stop there instead of being refused after the form is sent.
const NAME_MAX = 128;
const TOPIC_MAX = 1024;

// Choose people from the directory by typing part of a name: chips for the chosen, suggestions below.
// `exclude`: ids never offered; `later`: a promise of more of them (those in already, as the dialog
// fetches them), left out as soon as it answers.
export function userPicker({ exclude = [], later = null, single = false } = {}) {
  const left = [...exclude];
  const chosen = [];
  const chips = h('div', { class: 'chips' });
  const input = h('input', { type: 'text', placeholder: 'Type a name…', 'aria-label': 'Find people', autocomplete: 'off' });
  const list = h('div', { class: 'suggestions', role: 'listbox' });
  const redraw = () => {
    clear(chips).append(...chosen.map((id) => {
      const user = state.users.get(id);
      return h('span', { class: 'chip' }, user ? user.display_name || user.username : id,
        h('button', { type: 'button', 'aria-label': 'Remove', onclick: () => { chosen.splice(chosen.indexOf(id), 1); redraw(); } }, '×'));
    }));
    const q = input.value.trim().toLowerCase();
    const matches = [...state.users.values()]
      .filter((u) => !left.includes(u.id) && !chosen.includes(u.id))
      .filter((u) => !q || u.username.toLowerCase().includes(q) || (u.display_name || '').toLowerCase().includes(q) || (u.email || '').toLowerCase().includes(q))
      .sort((a, b) => (a.display_name || a.username).localeCompare(b.display_name || b.username))
      .slice(0, 8);
    clear(list).append(...matches.map((u) => h('button', { type: 'button', class: 'suggestion', role: 'option', onclick: () => {
      if (single) chosen.splice(0);
      chosen.push(u.id);
      input.value = '';
      redraw();
      input.focus();
    } }, avatar(u, 'sm'), h('span', null, u.display_name || u.username), h('span', { class: 'muted' }, ` @${u.username}`))));
  };
  input.addEventListener('input', redraw);
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') {
      e.preventDefault();
      // Enter picks the first match while a name is typed; with the box empty it means "done": it opens
      // the conversation with whom was picked (never quietly adds the first person of the directory).
      const first = list.querySelector('button');
      if (input.value.trim() && first) first.click();
      else if (!input.value.trim() && chosen.length && input.form) input.form.requestSubmit();
    } else if (e.key === 'Backspace' && !input.value && chosen.length) {
      chosen.pop();
      redraw();
    }
  });
  redraw();
  if (later) later.then((ids) => { left.push(...ids); redraw(); }).catch(() => {});  // unknown: the server says
  return { element: h('div', { class: 'picker' }, chips, input, list), value: () => [...chosen] };
}

export function createOrg(onCreated) {
  dialog({
    title: 'Create an organisation',
    intro: 'An organisation holds your teams, channels and people. You will be its owner.',
    fields: [{ name: 'name', label: 'Name', placeholder: 'e.g. Acme', required: true, maxlength: NAME_MAX }],
    submitLabel: 'Create',
    submit: async ({ name }) => onCreated(await api.post('/organisation/edit', { name })),
  });
}

export function createTeam(orgId, onCreated) {
  const picker = userPicker({ exclude: [state.me.id] });
  dialog({
    title: 'Create a team',
    intro: 'Teams group channels and people inside the organisation.',
    fields: [
      { name: 'name', label: 'Name', placeholder: 'e.g. Engineering', required: true, maxlength: NAME_MAX },
      { name: 'members', label: 'Members (optional)', type: 'custom', element: picker.element, value: picker.value },
    ],
    submitLabel: 'Create',
    submit: async ({ name, members }) => onCreated(await api.post('/team/edit', { organisation_id: orgId, name, members })),
  });
}

export function createChannel(orgId, teamId, onCreated) {
  const teams = state.teams.get(orgId) || [];
  dialog({
    title: 'Create a channel',
    intro: 'Channels are where conversations about a topic happen.',
    fields: [
      { name: 'name', label: 'Name', placeholder: 'e.g. plan-budget', required: true, maxlength: NAME_MAX },
      { name: 'topic', label: 'Topic (optional)', placeholder: 'What is it about?', maxlength: TOPIC_MAX },
      { name: 'team_id', label: 'Team', type: 'select', value: teamId || '', options: [['', 'No team (whole organisation)'], ...teams.map((t) => [t.id, t.name])] },
      { name: 'private', label: 'Make private', type: 'checkbox', help: 'Only invited members can find and read a private channel.' },
    ],
    submitLabel: 'Create',
    submit: async (v) => {
      const body = { organisation_id: orgId, name: v.name, topic: v.topic, type: v.private ? 'private' : 'public' };
      if (v.team_id) body.team_id = v.team_id;
      onCreated(await api.post('/channel/edit', body));
    },
  });
}

export function browseChannels(orgId, { onOpen, onCreate }) {
  const all = [...state.channels.values()]
    .filter((c) => c.organisation_id === orgId && (c.type === 'public' || c.member) && c.type !== 'direct' && c.type !== 'group')
    .sort((a, b) => a.name.localeCompare(b.name));
  const filter = h('input', { type: 'search', placeholder: 'Search channels', 'aria-label': 'Search channels' });
  const list = h('div', { class: 'browse-list' });
  const draw = () => {
    const q = filter.value.trim().toLowerCase();
    clear(list).append(...all.filter((c) => !q || c.name.toLowerCase().includes(q) || (c.topic || '').toLowerCase().includes(q)).map((c) =>
      h('div', { class: 'browse-item' },
        h('div', null, h('div', { class: 'browse-name' }, c.type === 'private' ? '🔒 ' : '# ', c.name, c.archived ? h('span', { class: 'tag' }, 'archived') : null),
          h('div', { class: 'muted' }, `${c.member_count || 0} ${c.member_count === 1 ? 'member' : 'members'}${c.topic ? ' · ' + c.topic : ''}`)),
        h('button', { type: 'button', class: 'btn' + (c.member ? '' : ' primary'), onclick: () => { closeModal(); onOpen(c.id, !c.member && !c.archived); } }, c.member ? 'Open' : 'View'))));
    if (!list.children.length) list.append(h('div', { class: 'empty' }, 'No channels found.'));
  };
  filter.addEventListener('input', draw);
  draw();
  dialog({
    title: 'Browse channels',
    fields: [],
    extra: h('div', null, filter, list, h('button', { type: 'button', class: 'btn block', onclick: () => { closeModal(); onCreate(); } }, '+ Create a channel')),
    submitLabel: 'Done',
    submit: async () => {},
  });
}

export function newConversation(orgId, onCreated) {
  const picker = userPicker({ exclude: [state.me.id] });
  dialog({
    title: 'New message',
    intro: 'Pick one person for a direct message, or several for a group conversation.',
    fields: [{ name: 'members', label: 'To', type: 'custom', element: picker.element, value: picker.value }],
    submitLabel: 'Open',
    submit: async ({ members }) => {
      if (!members.length) throw Object.assign(new Error('Choose at least one person.'), { fields: {} });
      const body = { organisation_id: orgId, type: members.length === 1 ? 'direct' : 'group', members };
      onCreated(await api.post('/channel/edit', body));
    },
  });
}

function generatedPassword() {
  const words = crypto.getRandomValues(new Uint32Array(3));
  return Array.from(words, (w) => w.toString(36)).join('-');
}

export function addPeople(orgId, onDone) {
  const password = generatedPassword();
  const picker = userPicker({ exclude: [state.me.id], later: api.get('/organisation/members', { id: orgId, per_page: 200 })
    .then((found) => found.items.map((m) => m.user_id)) });
  dialog({
    title: 'Add people',
    intro: 'Create an account for a colleague. Give them the password; they can change it after signing in.',
    fields: [
      { name: 'first_name', label: 'First name' },
      { name: 'last_name', label: 'Last name' },
      { name: 'email', label: 'Email', type: 'email', required: true },
      { name: 'username', label: 'Username (optional)', help: 'Derived from the email when left empty.' },
      { name: 'password', label: 'Initial password', value: password, help: 'At least 8 characters. Copy it now: it is not shown again.' },
    ],
    extra: h('details', { class: 'existing' }, h('summary', null, 'Or add someone who already has an account'), picker.element,
      h('button', { type: 'button', class: 'btn', onclick: async () => {
        try {
          const ids = picker.value();
          for (const id of ids) await api.post('/organisation/members/add', { id: orgId, user_id: id });
          toast('Added to the organisation');
          closeModal();
          onDone(ids);
        } catch (err) {
          toast(err.message, 'error');
        }
      } }, 'Add selected')),
    submitLabel: 'Create account',
    submit: async (v) => {
      const body = { organisation_id: orgId, email: v.email, first_name: v.first_name, last_name: v.last_name, password: v.password };
      if (v.username) body.username = v.username;
      const user = await api.post('/user/create', body);
      state.users.set(user.id, user);
      state.bus.emit('users', null);
      onDone([user.id]);
      dialog({
        title: 'Account created',
        intro: `${user.display_name} can now sign in as “${user.username}” with the password below.`,
        fields: [{ name: 'password', label: 'Password', value: v.password }],
        submitLabel: 'Done',
        submit: async () => {},
      });
      return true;
    },
  });
}

export function addChannelMembers(channel, onDone) {
  const picker = userPicker({ exclude: [state.me.id], later: api.get('/channel/members', { id: channel.id })
    .then((found) => found.members.map((m) => m.user_id)) });
  dialog({
    title: `Add people to ${channelTitle(channel)}`,
    fields: [{ name: 'user_ids', label: 'People', type: 'custom', element: picker.element, value: picker.value }],
    submitLabel: 'Add',
    submit: async ({ user_ids }) => {
      if (!user_ids.length) return;
      await api.post('/channel/members/add', { id: channel.id, user_ids });
      onDone();
    },
  });
}

export function editTopic(channel) {
  dialog({
    title: 'Edit topic',
    fields: [{ name: 'topic', label: 'Topic', type: 'textarea', value: channel.topic, maxlength: TOPIC_MAX }],
    submit: async ({ topic }) => api.post('/channel/edit', { id: channel.id, topic }),
  });
}

export function renameChannel(channel) {
  dialog({
    title: 'Rename channel',
    fields: [{ name: 'name', label: 'Name', value: channel.name, required: true, maxlength: NAME_MAX }],
    submit: async ({ name }) => api.post('/channel/edit', { id: channel.id, name }),
  });
}

export function renameOrg(org) {
  dialog({
    title: 'Rename organisation',
    fields: [{ name: 'name', label: 'Name', value: org.name, required: true, maxlength: NAME_MAX }],
    submit: async ({ name }) => {
      const renamed = await api.post('/organisation/edit', { id: org.id, name });
      state.orgs.set(org.id, renamed);
      state.bus.emit('orgs', null);
    },
  });
}

export function changePassword() {
  dialog({
    title: 'Change password',
    intro: 'Changing your password signs you out everywhere, here too.',
    fields: [
      { name: 'old_password', label: 'Current password', type: 'password', autocomplete: 'current-password' },
      { name: 'new_password', label: 'New password', type: 'password', autocomplete: 'new-password', help: 'At least 8 characters.' },
    ],
    submitLabel: 'Change',
    submit: async (v) => {
      await api.post('/user/password', v);
      // Every session ends, this one too: the sign-in form says why rather than appearing with no word.
      sessionStorage.setItem(SIGN_IN_NOTICE, 'Your password was changed, and you were signed out everywhere. Sign in with the new one.');
      location.reload();
    },
  });
}
