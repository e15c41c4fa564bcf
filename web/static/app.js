// ipcamd's web page: plain JavaScript, no framework, no external resources.
// Talks to the JSON API of docs/API.md with the session cookie and the
// X-CSRF-Token header on writes.
'use strict';

const $ = (sel) => document.querySelector(sel);
const API = '/api/v1';

let session = null;   // {user, role, csrf, open}
let settings = null;  // last GET/PATCH /settings answer
let statusTimer = 0;
let statusFailing = false;
let urlsKey = '';

// el builds an element: el('td', {class: 'x'}, 'text', child...).
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === false || v == null) continue;
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children) if (c != null) e.append(c);
  return e;
}

function announce(text) {
  const a = $('#announce');
  a.textContent = '';
  setTimeout(() => { a.textContent = text; }, 50);
}

function setMsg(node, text, kind) {
  node.textContent = text || '';
  node.className = 'msg' + (kind ? ' ' + kind : '');
  node.hidden = !text;
}

// ---------------------------------------------------------------------------
// API

class ApiError extends Error {
  constructor(status, message, field) {
    super(message);
    this.status = status;
    this.field = field || '';
  }
}

async function api(method, path, body) {
  const headers = { 'Accept': 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && session && session.csrf) headers['X-CSRF-Token'] = session.csrf;
  let res;
  try {
    res = await fetch(API + path, {
      method, headers, credentials: 'same-origin', cache: 'no-store',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    throw new ApiError(0, 'The camera does not answer.');
  }
  let data = null;
  if ((res.headers.get('Content-Type') || '').includes('json')) {
    try { data = await res.json(); } catch (e) { data = null; }
  }
  if (!res.ok) {
    let msg = (data && data.error) || (res.status + ' ' + res.statusText);
    const retry = res.headers.get('Retry-After');
    if (res.status === 429 && retry) msg += ' (try again in ' + retry + ' s)';
    const err = new ApiError(res.status, msg, data && data.field);
    if (res.status === 401 && path !== '/login' && session) {
      showLogin('Your session has ended; please sign in again.');
    }
    throw err;
  }
  return data;
}

// ---------------------------------------------------------------------------
// Formatting

function fmtBitrate(b) {
  if (b == null || isNaN(b)) return '–';
  if (b >= 1e6) return (b / 1e6).toFixed(b >= 1e7 ? 1 : 2) + ' Mbit/s';
  return Math.round(b / 1e3) + ' kbit/s';
}

function fmtDuration(s) {
  s = Math.floor(s || 0);
  const d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60);
  if (d) return d + ' d ' + h + ' h ' + m + ' min';
  if (h) return h + ' h ' + m + ' min';
  if (m) return m + ' min ' + (s % 60) + ' s';
  return s + ' s';
}

function fmtTime(t) {
  const d = new Date(t);
  return isNaN(d) ? (t || '–') : d.toLocaleString();
}

// ---------------------------------------------------------------------------
// Session, login and logout

function showLogin(note) {
  stopApp();
  session = null;
  $('#app').hidden = true;
  $('#whoami').hidden = true;
  $('#login-view').hidden = false;
  $('#login-note').textContent = note || '';
  setMsg($('#login-error'), '');
  $('#login-submit').disabled = false;
  const u = $('#login-user');
  (u.value ? $('#login-password') : u).focus();
}

function showApp(s) {
  session = s;
  const admin = s.role === 'admin';
  $('#login-view').hidden = true;
  $('#app').hidden = false;
  $('#whoami').hidden = false;
  $('#session-user').textContent = s.open ? '' : s.user;
  $('#session-role').textContent = s.open ? 'open camera' : s.role;
  $('#logout').hidden = !!s.open;
  document.body.dataset.role = s.role;
  $('#users-section').hidden = !admin;
  $('#maint-section').hidden = !admin;
  const b = $('#banner');
  if (s.open) {
    b.textContent = 'This camera has no users: anyone on the network can watch and change it. Add an admin under Users.';
    b.className = 'banner';
    b.hidden = false;
  } else {
    b.hidden = true;
  }
  liveStart();
  pollStatus();
  loadSettings();
  if (admin) loadUsers();
}

function stopApp() {
  clearTimeout(statusTimer);
  statusTimer = 0;
  liveStop();
}

$('#login-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const user = $('#login-user').value.trim();
  const password = $('#login-password').value;
  const err = $('#login-error');
  if (!user || !password) {
    setMsg(err, 'Enter a user name and a password.', 'error');
    (user ? $('#login-password') : $('#login-user')).focus();
    return;
  }
  $('#login-submit').disabled = true;
  setMsg(err, '');
  try {
    const s = await api('POST', '/login', { user, password });
    $('#login-password').value = '';
    showApp(s);
  } catch (ex) {
    setMsg(err, ex.message, 'error');
    $('#login-password').select();
    $('#login-password').focus();
  } finally {
    $('#login-submit').disabled = false;
  }
});

$('#logout').addEventListener('click', async () => {
  try { await api('POST', '/logout'); } catch (e) { /* the session is gone either way */ }
  showLogin('You are signed out.');
});

// ---------------------------------------------------------------------------
// Live view: the MJPEG stream, or a snapshot every second when the stream
// fails (too many viewers, an old browser, a proxy that buffers).

const live = { mode: 'off', timer: 0, retry: 0, url: '', failures: 0 };
const liveImg = $('#live');

function liveNote(text) { $('#live-mode').textContent = text; }

function liveStart() {
  liveStop();
  if (document.hidden) return;
  live.mode = 'mjpeg';
  liveImg.src = API + '/live.mjpeg?t=' + Date.now();
  liveNote('Connecting…');
}

function liveStop() {
  live.mode = 'off';
  clearTimeout(live.timer);
  clearTimeout(live.retry);
  // Removing the source closes the stream's connection.
  liveImg.removeAttribute('src');
  if (live.url) { URL.revokeObjectURL(live.url); live.url = ''; }
}

function liveSnapshots() {
  clearTimeout(live.timer);
  live.mode = 'snapshot';
  liveNote('Snapshot every second (the stream is not available).');
  const tick = async () => {
    if (live.mode !== 'snapshot') return;
    const t0 = Date.now();
    try {
      const res = await fetch(API + '/snapshot?t=' + t0, { credentials: 'same-origin', cache: 'no-store' });
      if (res.status === 401 && session) { showLogin('Your session has ended; please sign in again.'); return; }
      if (!res.ok) throw new Error(res.status === 503 ? 'no picture yet' : res.status + ' ' + res.statusText);
      const blob = await res.blob();
      if (live.mode !== 'snapshot') return;
      const old = live.url;
      live.url = URL.createObjectURL(blob);
      liveImg.src = live.url;
      if (old) setTimeout(() => URL.revokeObjectURL(old), 1000);
    } catch (e) {
      liveNote('Snapshot every second: ' + (e.message || 'the camera does not answer') + '.');
    }
    if (live.mode === 'snapshot') live.timer = setTimeout(tick, Math.max(100, 1000 - (Date.now() - t0)));
  };
  tick();
  // Try the stream again: soon after a first failure (no picture yet
  // right after a start), then now and then.
  clearTimeout(live.retry);
  live.failures++;
  live.retry = setTimeout(() => { if (live.mode === 'snapshot') liveStart(); }, [2000, 10000][live.failures - 1] || 30000);
}

liveImg.addEventListener('load', () => {
  if (live.mode !== 'mjpeg') return;
  live.failures = 0;
  liveNote('Live stream (MJPEG), ' + liveImg.naturalWidth + '×' + liveImg.naturalHeight + '.');
});
liveImg.addEventListener('error', () => {
  if (live.mode === 'mjpeg') liveSnapshots();
});

document.addEventListener('visibilitychange', () => {
  if (!session) return;
  if (document.hidden) {
    liveStop();
  } else {
    liveStart();
    pollStatus();
  }
});

$('#live-fullscreen').addEventListener('click', () => {
  if (document.fullscreenElement) document.exitFullscreen();
  else if (liveImg.requestFullscreen) liveImg.requestFullscreen().catch(() => {});
});

// ---------------------------------------------------------------------------
// Status, every 2 s while the page is visible.

async function pollStatus() {
  clearTimeout(statusTimer);
  if (!session) return;
  if (!document.hidden) {
    try {
      renderStatus(await api('GET', '/status'));
      if (statusFailing) {
        statusFailing = false;
        $('#banner').hidden = !session.open;
        liveStart();
      }
      $('#status-dot').className = 'dot ok';
      $('#status-dot').title = 'Connected';
    } catch (e) {
      if (!session) return;
      statusFailing = true;
      $('#status-dot').className = 'dot bad';
      $('#status-dot').title = e.message;
      const b = $('#banner');
      b.textContent = 'Status not available: ' + e.message;
      b.className = 'banner error';
      b.hidden = false;
    }
  }
  if (session) statusTimer = setTimeout(pollStatus, 2000);
}

function renderStatus(s) {
  $('#cam-version').textContent = s.version || '';
  document.title = 'ipcamd · ' + location.hostname;
  $('#st-uptime').textContent = fmtDuration(s.uptime_seconds);
  $('#st-time').textContent = fmtTime(s.time);
  $('#st-source').textContent = s.source || '–';
  $('#st-pipeline').textContent = s.pipeline || '–';
  const enc = s.encoder || {};
  $('#st-encoder').textContent = (enc.fps != null ? enc.fps.toFixed(1) + ' fps, ' : '') + fmtBitrate(enc.bitrate);
  const dn = s.day_night || {};
  $('#st-daynight').textContent = (dn.mode || '–') + (dn.mode ? (dn.night ? ' (night now)' : ' (day now)') : '');

  const streams = s.streams || [];
  $('#st-streams').replaceChildren(...(streams.length ? streams.map((st) => el('tr', null,
    el('td', null, st.name), el('td', null, st.width + '×' + st.height), el('td', null, String(st.fps)),
    el('td', null, fmtBitrate(st.bitrate)), el('td', null, String(st.gop)), el('td', null, String(st.clients)),
  )) : [el('tr', null, el('td', { class: 'empty', colspan: 6 }, 'No streams.'))]));

  const clients = s.clients || [];
  $('#st-clients').replaceChildren(...(clients.length ? clients.map((c) => el('tr', null,
    el('td', null, c.address), el('td', null, c.path),
    el('td', null, c.transport + (c.srtp ? ' + SRTP' : '') + (c.playing ? '' : ' (paused)')),
    el('td', null, fmtBitrate(c.bitrate)),
    el('td', null, ((c.fraction_lost || 0) * 100).toFixed(1) + ' %'),
    el('td', null, String(c.frames_dropped || 0)),
  )) : [el('tr', null, el('td', { class: 'empty', colspan: 6 }, 'Nobody is watching over RTSP.'))]));

  const relays = s.relays || [];
  $('#st-relays-box').hidden = !relays.length;
  $('#st-relays').replaceChildren(...relays.map((r) => el('li', null, r.stream + ' → ' + r.url + ' — ' + r.state + (r.last_error ? ' (' + r.last_error + ')' : ''))));

  renderURLs(s);
}

// ---------------------------------------------------------------------------
// Addresses to copy

// hostOf is the host of url, without brackets.
function hostOf(url) {
  try { return new URL(url.replace(/^rtsps?:/, 'http:')).hostname.replace(/^\[|\]$/g, ''); } catch (e) { return ''; }
}

function renderURLs(s) {
  // For each stream and scheme, the address with the host the page was
  // opened with (the one that works from here), else the first; the
  // others under "Other addresses".
  const here = location.hostname.replace(/^\[|\]$/g, '');
  const list = [];
  const others = [];
  for (const st of s.streams || []) {
    for (const scheme of ['rtsp', 'rtsps']) {
      const urls = (st.urls || []).filter((u) => u.startsWith(scheme + '://'));
      if (!urls.length) continue;
      const best = urls.find((u) => hostOf(u) === here) || urls[0];
      list.push([scheme.toUpperCase() + ' ' + st.name + ' stream', best]);
      others.push(...urls.filter((u) => u !== best));
    }
  }
  if (s.onvif_url) list.push(['ONVIF device service', s.onvif_url]);
  list.push(['Snapshot (JPEG)', location.origin + API + '/snapshot']);
  list.push(['Live MJPEG', location.origin + API + '/live.mjpeg']);
  const key = JSON.stringify([list, others]);
  if (key === urlsKey) return;
  urlsKey = key;
  $('#urls').replaceChildren(...list.map(([label, url], i) => {
    const id = 'url-' + i;
    const input = el('input', { id, value: url, readonly: true, 'data-test': 'url' });
    input.addEventListener('focus', () => input.select());
    const btn = el('button', { type: 'button', class: 'small', 'aria-label': 'Copy ' + label }, 'Copy');
    btn.addEventListener('click', () => copyText(input, btn));
    return el('div', { class: 'url' }, el('label', { for: id }, label), el('div', { class: 'url-row' }, input, btn));
  }));
  const more = $('#urls-more');
  more.hidden = !others.length;
  $('#urls-other').replaceChildren(...others.map((u) => el('li', null, u)));
}

async function copyText(input, btn) {
  let ok = false;
  if (navigator.clipboard && window.isSecureContext) {
    try { await navigator.clipboard.writeText(input.value); ok = true; } catch (e) { ok = false; }
  }
  if (!ok) {
    // Plain HTTP: no Clipboard API; select the text and try the old way.
    input.focus();
    input.select();
    try { ok = document.execCommand('copy'); } catch (e) { ok = false; }
  }
  btn.textContent = ok ? 'Copied' : 'Press Ctrl+C';
  announce(ok ? 'Copied to the clipboard.' : 'Selected; press Control C to copy.');
  setTimeout(() => { btn.textContent = 'Copy'; }, 2000);
}

// ---------------------------------------------------------------------------
// Settings

const STREAM_FIELDS = ['resolution', 'fps', 'bitrate', 'gop'];

async function loadSettings() {
  try {
    fillSettings(await api('GET', '/settings'));
  } catch (e) {
    if (session) setMsg($('#settings-message'), 'Settings not available: ' + e.message, 'error');
  }
}

function setValue(node, value) {
  node.value = value;
  node.dataset.orig = node.value;
}

function fillSettings(s) {
  settings = s;
  const o = s.options || {};
  const admin = session && session.role === 'admin';
  for (const k of ['main', 'sub']) {
    const v = s[k];
    $('#settings-' + k).hidden = !v;
    if (!v) continue;
    const sel = $('#settings-' + k + '-resolution');
    const cur = v.width + 'x' + v.height;
    const list = (o[k + '_resolutions'] || []).slice();
    if (!list.includes(cur)) list.unshift(cur);
    sel.replaceChildren(...list.map((r) => el('option', { value: r }, r.replace('x', ' × '))));
    setValue(sel, cur);
    const fps = $('#settings-' + k + '-fps');
    if (o.max_fps) fps.max = o.max_fps;
    setValue(fps, v.fps);
    const br = $('#settings-' + k + '-bitrate');
    if (o.min_bitrate) br.min = Math.ceil(o.min_bitrate / 1000);
    if (o.max_bitrate) br.max = Math.floor(o.max_bitrate / 1000);
    setValue(br, Math.round(v.bitrate / 1000));
    const gop = $('#settings-' + k + '-gop');
    if (o.min_gop) gop.min = o.min_gop;
    if (o.max_gop) gop.max = o.max_gop;
    setValue(gop, v.gop);
    $('#settings-' + k).disabled = !!o.fixed;
  }
  const dn = $('#settings-day-night');
  const modes = (o.day_night_modes || ['auto', 'day', 'night']).slice();
  if (s.day_night && !modes.includes(s.day_night)) modes.unshift(s.day_night);
  dn.replaceChildren(...modes.map((m) => el('option', { value: m }, m)));
  setValue(dn, s.day_night || modes[0]);
  setValue($('#settings-ntp'), ((s.time && s.time.ntp_servers) || []).join(', '));

  $('#settings-fields').disabled = !admin;
  $('#settings-actions').hidden = !admin;
  const note = $('#settings-note');
  const notes = [];
  if (!admin) notes.push('Read only: only an admin can change the settings.');
  if (o.fixed) notes.push('The encoder settings of this source are fixed.');
  note.textContent = notes.join(' ');
  note.hidden = !notes.length;
}

function changed(node) { return node.value !== node.dataset.orig; }

function clearFieldErrors() {
  for (const n of document.querySelectorAll('#settings-form .field-error')) { n.textContent = ''; n.hidden = true; }
  for (const n of document.querySelectorAll('#settings-form [aria-invalid]')) n.removeAttribute('aria-invalid');
}

// fieldInput maps an API field path (main.bitrate, sub.width, time.ntp_servers)
// to the form control that shows it, and the node for its message.
function fieldTarget(field) {
  if (!field) return null;
  const [k, f] = field.split('.');
  let id = '';
  if (k === 'main' || k === 'sub') {
    if (!f) return { input: null, err: $('#settings-' + k + '-error') };
    id = 'settings-' + k + '-' + (f === 'width' || f === 'height' || f === 'resolution' ? 'resolution' : f);
  } else if (k === 'day_night') {
    id = 'settings-day-night';
  } else if (k === 'time') {
    id = 'settings-ntp';
  }
  const input = id && document.getElementById(id);
  if (!input) return null;
  return { input, err: document.getElementById(id + '-error') };
}

function showFieldError(field, message) {
  const t = fieldTarget(field);
  if (!t) return false;
  t.err.textContent = message;
  t.err.hidden = false;
  if (t.input) {
    t.input.setAttribute('aria-invalid', 'true');
    t.input.focus();
  }
  return true;
}

// collect returns the PATCH body with only the fields that changed, or
// throws {field, message} for a value that is not a number.
function collect() {
  const patch = {};
  const fixed = settings.options && settings.options.fixed;
  for (const k of ['main', 'sub']) {
    if (!settings[k] || fixed) continue;
    const p = {};
    for (const f of STREAM_FIELDS) {
      const node = $('#settings-' + k + '-' + f);
      if (!changed(node)) continue;
      if (f === 'resolution') {
        const [w, h] = node.value.split('x').map(Number);
        p.width = w;
        p.height = h;
        continue;
      }
      const n = Number(node.value);
      if (node.value.trim() === '' || !isFinite(n)) throw { field: k + '.' + f, message: 'Enter a number.' };
      p[f] = f === 'bitrate' ? Math.round(n * 1000) : n;
    }
    if (Object.keys(p).length) patch[k] = p;
  }
  const dn = $('#settings-day-night');
  if (changed(dn)) patch.day_night = dn.value;
  const ntp = $('#settings-ntp');
  if (changed(ntp)) patch.time = { ntp_servers: ntp.value.split(/[\s,]+/).filter(Boolean) };
  return patch;
}

$('#settings-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const msg = $('#settings-message');
  clearFieldErrors();
  if (!settings) return;
  let patch;
  try {
    patch = collect();
  } catch (ex) {
    showFieldError(ex.field, ex.message);
    setMsg(msg, ex.message, 'error');
    return;
  }
  if (!Object.keys(patch).length) {
    setMsg(msg, 'Nothing changed.', '');
    return;
  }
  const save = $('#settings-save');
  save.disabled = true;
  setMsg(msg, 'Saving…', '');
  try {
    fillSettings(await api('PATCH', '/settings', patch));
    setMsg(msg, 'Saved.', 'ok');
    pollStatus();
  } catch (ex) {
    showFieldError(ex.field, ex.message);
    setMsg(msg, 'Not saved: ' + ex.message, 'error');
  } finally {
    save.disabled = false;
  }
});

$('#settings-reset').addEventListener('click', () => {
  clearFieldErrors();
  setMsg($('#settings-message'), '');
  if (settings) fillSettings(settings);
});

// ---------------------------------------------------------------------------
// Users (admin)

async function loadUsers() {
  try {
    const users = await api('GET', '/users');
    $('#users-list').replaceChildren(...users.map((u) => el('tr', null,
      el('td', null, u.name),
      el('td', null, u.role),
      el('td', { class: 'act' },
        el('button', { type: 'button', class: 'small', 'aria-label': 'Change ' + u.name, onclick: () => editUser(u) }, 'Change'),
        el('button', { type: 'button', class: 'small danger', 'aria-label': 'Delete ' + u.name, onclick: () => deleteUser(u) }, 'Delete'),
      ),
    )));
  } catch (e) {
    if (session) setMsg($('#users-message'), e.message, 'error');
  }
}

$('#user-add').addEventListener('submit', async (e) => {
  e.preventDefault();
  const msg = $('#users-message');
  const name = $('#user-add-name').value.trim();
  const password = $('#user-add-password').value;
  const role = $('#user-add-role').value;
  if (!name) { setMsg(msg, 'Enter a name.', 'error'); $('#user-add-name').focus(); return; }
  if (password.length < 8) { setMsg(msg, 'The password needs at least 8 characters.', 'error'); $('#user-add-password').focus(); return; }
  $('#user-add-submit').disabled = true;
  const wasOpen = session.open;
  try {
    await api('POST', '/users', { name, password, role });
    $('#user-add').reset();
    setMsg(msg, 'Added ' + name + '.', 'ok');
    if (wasOpen) {
      waitForRestart('The camera now has users and restarts; sign in with the new account.');
      return;
    }
    loadUsers();
  } catch (ex) {
    setMsg(msg, ex.message, 'error');
  } finally {
    $('#user-add-submit').disabled = false;
  }
});

let editing = null;

function editUser(u) {
  editing = u;
  $('#user-dialog-title').textContent = 'Change ' + u.name;
  $('#user-edit-password').value = '';
  $('#user-edit-role').value = u.role;
  setMsg($('#user-edit-error'), '');
  $('#user-dialog').showModal();
  $('#user-edit-password').focus();
}

$('#user-edit-cancel').addEventListener('click', () => $('#user-dialog').close());

$('#user-edit').addEventListener('submit', async (e) => {
  e.preventDefault();
  const u = editing;
  const body = {};
  const pw = $('#user-edit-password').value;
  const role = $('#user-edit-role').value;
  const err = $('#user-edit-error');
  if (pw) {
    if (pw.length < 8) { setMsg(err, 'The password needs at least 8 characters.', 'error'); return; }
    body.password = pw;
  }
  if (role !== u.role) body.role = role;
  if (!Object.keys(body).length) { $('#user-dialog').close(); return; }
  $('#user-edit-save').disabled = true;
  try {
    await api('PATCH', '/users/' + encodeURIComponent(u.name), body);
    $('#user-dialog').close();
    if (session && u.name === session.user) {
      showLogin('Your account changed; please sign in again.');
      return;
    }
    setMsg($('#users-message'), 'Changed ' + u.name + '.', 'ok');
    loadUsers();
  } catch (ex) {
    setMsg(err, ex.message, 'error');
  } finally {
    $('#user-edit-save').disabled = false;
  }
});

async function deleteUser(u) {
  const self = session && u.name === session.user;
  if (!await confirmDialog('Delete user ' + u.name + '?' + (self ? ' You will be signed out.' : ''), 'Delete')) return;
  try {
    await api('DELETE', '/users/' + encodeURIComponent(u.name));
    if (self) { showLogin('Your account was deleted.'); return; }
    setMsg($('#users-message'), 'Deleted ' + u.name + '.', 'ok');
    loadUsers();
  } catch (ex) {
    setMsg($('#users-message'), ex.message, 'error');
  }
}

// ---------------------------------------------------------------------------
// Maintenance (admin)

function confirmDialog(text, okLabel) {
  const d = $('#confirm-dialog');
  $('#confirm-text').textContent = text;
  $('#confirm-ok').textContent = okLabel;
  d.returnValue = '';
  return new Promise((resolve) => {
    d.addEventListener('close', () => resolve(d.returnValue === 'ok'), { once: true });
    d.showModal();
    $('#confirm-cancel').focus();
  });
}

function waitForRestart(text) {
  stopApp();
  const b = $('#banner');
  b.textContent = text;
  b.className = 'banner';
  b.hidden = false;
  const t0 = Date.now();
  const probe = async () => {
    try {
      await fetch(API + '/session', { credentials: 'same-origin', cache: 'no-store' });
      location.reload();
      return;
    } catch (e) { /* still restarting */ }
    if (Date.now() - t0 > 180000) {
      b.textContent = 'The camera does not answer; reload the page in a while.';
      b.className = 'banner error';
      return;
    }
    setTimeout(probe, 1000);
  };
  setTimeout(probe, 3000);
}

async function maintenance(path, question, okLabel, waiting) {
  if (!await confirmDialog(question, okLabel)) return;
  const msg = $('#maint-message');
  try {
    await api('POST', path);
    setMsg(msg, waiting, 'ok');
    waitForRestart(waiting);
  } catch (ex) {
    setMsg(msg, ex.message, 'error');
  }
}

$('#reboot').addEventListener('click', () => maintenance('/reboot',
  'Restart the camera? Video stops for a few seconds.', 'Restart', 'The camera is restarting…'));
$('#factory-reset').addEventListener('click', () => maintenance('/factory-reset',
  'Erase all settings and users and restore the factory configuration? This cannot be undone.',
  'Factory reset', 'The camera is resetting to factory settings…'));

// ---------------------------------------------------------------------------
// Start: an existing session goes straight to the page.

(async () => {
  try {
    showApp(await api('GET', '/session'));
  } catch (e) {
    showLogin(e.status === 401 ? '' : e.message);
  }
})();
