// Modal dialogs, pop-up menus and toasts.

import { h } from './dom.js';

let openModal = null;

// A form in a modal. `fields`: [{name, label, type, value, placeholder, options, help, required, maxlength}]
// (`maxlength`: the most characters the server takes there, so the field stops at it).
// `submit(values)` may throw an ApiError; its message and field errors are shown in the form.
export function dialog({ title, intro, fields = [], submitLabel = 'Save', submit, danger = false, extra = null }) {
  closeModal();
  const inputs = {};
  const errors = {};
  const formError = h('div', { class: 'form-error', role: 'alert' });
  const rows = fields.map((f) => {
    let input;
    if (f.type === 'select') {
      input = h('select', { name: f.name, id: `f-${f.name}` }, f.options.map(([value, label]) => h('option', { value, selected: value === f.value }, label)));
    } else if (f.type === 'checkbox') {
      input = h('input', { type: 'checkbox', name: f.name, id: `f-${f.name}`, checked: Boolean(f.value) });
    } else if (f.type === 'textarea') {
      input = h('textarea', { name: f.name, id: `f-${f.name}`, rows: '3', placeholder: f.placeholder || '', maxlength: f.maxlength });
      input.value = f.value || '';
    } else if (f.type === 'custom') {
      input = f.element;
    } else {
      input = h('input', { type: f.type || 'text', name: f.name, id: `f-${f.name}`, placeholder: f.placeholder || '', autocomplete: f.autocomplete || 'off', required: f.required, maxlength: f.maxlength });
      input.value = f.value || '';
    }
    inputs[f.name] = input;
    errors[f.name] = h('div', { class: 'field-error' });
    const label = h('label', { for: `f-${f.name}` }, f.label);
    if (f.type === 'checkbox') return h('div', { class: 'field check' }, input, label, f.help ? h('div', { class: 'help' }, f.help) : null, errors[f.name]);
    return h('div', { class: 'field' }, label, input, f.help ? h('div', { class: 'help' }, f.help) : null, errors[f.name]);
  });
  const submitButton = h('button', { type: 'submit', class: 'btn primary' + (danger ? ' danger' : '') }, submitLabel);
  const form = h(
    'form',
    { class: 'modal', role: 'dialog', 'aria-modal': 'true', 'aria-label': title },
    h('div', { class: 'modal-head' }, h('h2', null, title), h('button', { type: 'button', class: 'close', 'aria-label': 'Close', onclick: closeModal }, '×')),
    intro ? h('p', { class: 'intro' }, intro) : null,
    rows,
    extra,
    formError,
    h('div', { class: 'modal-foot' }, h('button', { type: 'button', class: 'btn', onclick: closeModal }, 'Cancel'), submitButton),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    formError.textContent = '';
    for (const el of Object.values(errors)) el.textContent = '';
    const values = {};
    for (const f of fields) {
      const input = inputs[f.name];
      if (f.type === 'custom') values[f.name] = f.value();
      else values[f.name] = f.type === 'checkbox' ? input.checked : input.value.trim();
    }
    submitButton.disabled = true;
    try {
      const keep = await submit(values, { form, formError });
      if (keep !== true) closeModal();
    } catch (err) {
      // A problem with one field is said once, under that field; the form's line is for anything else.
      const problems = Object.entries(err.fields || {});
      for (const [name, problem] of problems) if (errors[name]) errors[name].textContent = problem;
      if (!problems.length || problems.some(([name]) => !errors[name])) formError.textContent = err.message || String(err);
    } finally {
      submitButton.disabled = false;
    }
  });
  form.addEventListener('keydown', (e) => e.key === 'Tab' && keepFocusIn(form, e));
  const backdrop = h('div', { class: 'backdrop', onmousedown: (e) => e.target === backdrop && closeModal() }, form);
  returnFocus = document.activeElement;
  document.body.append(backdrop);
  openModal = backdrop;
  const first = form.querySelector('input:not([type=checkbox]), textarea, select');
  if (first) first.focus();
  return { form, inputs, formError };
}

// Tab and Shift+Tab go round the dialog's own controls, as in a native modal: the page behind cannot be
// used while the dialog is open, so focus must not wander there.
function keepFocusIn(form, e) {
  const controls = [...form.querySelectorAll('button, input, select, textarea, a[href], [tabindex]:not([tabindex="-1"])')]
    .filter((el) => !el.disabled && el.getClientRects().length);
  if (!controls.length) return;
  const first = controls[0];
  const last = controls[controls.length - 1];
  if (e.shiftKey && document.activeElement === first) {
    e.preventDefault();
    last.focus();
  } else if (!e.shiftKey && document.activeElement === last) {
    e.preventDefault();
    first.focus();
  }
}

// Where the focus was before the dialog opened: it goes back there when the dialog closes with the focus in
// it (Esc, Cancel, ×), unless what the dialog did put the focus elsewhere (a new channel's box).
let returnFocus = null;

export function closeModal() {
  if (openModal) {
    const inside = openModal.contains(document.activeElement) || document.activeElement === document.body;
    openModal.remove();
    if (inside && returnFocus && returnFocus.isConnected) returnFocus.focus();
  }
  openModal = null;
  returnFocus = null;
}

export function modalOpen() {
  return openModal !== null;
}

let openMenu = null;

// A small menu next to `anchor`: items are [label, action, {danger}] or null for a separator.
export function menu(anchor, items, { align = 'left' } = {}) {
  closeMenu();
  const el = h(
    'div',
    { class: 'menu', role: 'menu' },
    items.map((item) =>
      item === null
        ? h('div', { class: 'menu-sep' })
        : h('button', { role: 'menuitem', class: item[2] && item[2].danger ? 'danger' : '', onclick: () => { closeMenu(); item[1](); } }, item[0])),
  );
  place(el, anchor, align);
  openMenu = el;
  return el;
}

export function popover(anchor, content, { align = 'left' } = {}) {
  closeMenu();
  const el = h('div', { class: 'menu popover' }, content);
  place(el, anchor, align);
  openMenu = el;
  return el;
}

function place(el, anchor, align) {
  document.body.append(el);
  const r = anchor.getBoundingClientRect();
  const w = el.offsetWidth;
  const hgt = el.offsetHeight;
  let left = align === 'right' ? r.right - w : r.left;
  let top = r.bottom + 4;
  if (top + hgt > window.innerHeight - 8) top = Math.max(8, r.top - hgt - 4);
  left = Math.max(8, Math.min(left, window.innerWidth - w - 8));
  el.style.left = `${left}px`;
  el.style.top = `${top}px`;
  setTimeout(() => document.addEventListener('mousedown', outside), 0);
}

function outside(e) {
  if (openMenu && !openMenu.contains(e.target)) closeMenu();
}

export function closeMenu() {
  if (openMenu) openMenu.remove();
  openMenu = null;
  document.removeEventListener('mousedown', outside);
}

export function menuOpen() {
  return openMenu !== null;
}

let toastBox = null;

export function toast(text, kind = 'info') {
  if (!toastBox) {
    toastBox = h('div', { class: 'toasts', 'aria-live': 'polite' });
    document.body.append(toastBox);
  }
  const el = h('div', { class: `toast ${kind}` }, text);
  toastBox.append(el);
  setTimeout(() => el.remove(), kind === 'error' ? 6000 : 3500);
}

export function confirmDialog(title, text, label, action) {
  return dialog({ title, intro: text, submitLabel: label, danger: true, submit: action });
}
