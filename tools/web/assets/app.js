// instsim-web's page: search the catalogue, open a track, hear its nearest
// tracks per instrument from the matching moment; and the listening test.
// The address keeps the state (#q=..., #track=KEY&instrument=..., #listen),
// so every view can be linked to and reloaded.
'use strict';

const $ = (sel, el = document) => el.querySelector(sel);
const RATING_LABELS = ['1 different', '2', '3', '4', '5 alike'];
let info = null;          // /api/info: instruments, metadata columns, ratings
let current = null;       // the open track
let listen = null;        // the listening test's state

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else if (k.startsWith('data-')) e.setAttribute(k, v);
    else e[k] = v;
  }
  for (const c of children) e.append(c);
  return e;
}

async function api(path, params = {}, body = null) {
  const url = new URL(path, location.origin);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  const opts = body ? { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) } : {};
  const r = await fetch(url, opts);
  const data = await r.json().catch(() => ({ error: r.statusText }));
  if (!r.ok) throw new Error(data && data.error ? data.error : `${r.status} ${r.statusText}`);
  return data;
}

function audioUrl(key, src) {
  return `/api/audio?key=${encodeURIComponent(key)}&src=${encodeURIComponent(src)}`;
}

function say(text) { $('#message').textContent = text || ''; }

function hashParams() { return new URLSearchParams(location.hash.slice(1)); }

function fmtDistance(d) { return d === null || d === undefined ? '–' : d.toFixed(4); }

function describe(t) { return t.artist ? `${t.title} — ${t.artist}` : (t.title ?? t.key); }

// ---- search -------------------------------------------------------------
async function search(q) {
  const list = $('#results');
  list.replaceChildren();
  const found = await api('/api/search', { q });
  for (const t of found) {
    const b = el('button', { type: 'button', class: current && current.key === t.key ? 'current' : '' }, describe(t));
    b.addEventListener('click', () => { location.hash = new URLSearchParams({ track: t.key }).toString(); });
    list.append(el('li', { 'data-key': t.key }, b));
  }
  list.dataset.loaded = q;
  if (!found.length) say(`nothing matches “${q}”`); else say('');
}

// ---- one track and its neighbours -----------------------------------------
async function openTrack(key, instrument) {
  const t = await api('/api/track', { key });
  current = t;
  $('#track').hidden = false;
  $('#track-title').textContent = t.title ?? t.key;
  $('#track-artist').textContent = t.artist ?? '';
  const meta = $('#track-meta');
  meta.replaceChildren(...Object.entries(t.meta).map(([k, v]) => el('div', {}, el('dt', {}, k), el('dd', {}, v ?? '–'))));
  const audio = $('#track-audio');
  audio.src = audioUrl(t.key, info.audio);
  const names = info.instruments.filter(i => t.instruments.includes(i.name));
  const chosen = names.find(i => i.name === instrument) || names[0];
  const tabs = $('#tabs'), panels = $('#panels');
  tabs.replaceChildren(); panels.replaceChildren();
  for (const inst of names) {
    const tab = el('button', { type: 'button', role: 'tab', id: `tab-${inst.name}` }, inst.name);
    tab.addEventListener('click', () => selectTab(inst.name, true));
    tab.addEventListener('keydown', ev => tabKeys(ev, inst.name, names));
    tabs.append(tab);
    const panel = el('section', { class: 'panel', role: 'tabpanel', 'data-instrument': inst.name }, el('ol'));
    panels.append(panel);
    loadNeighbours(t, inst, panel);
  }
  if (chosen) selectTab(chosen.name, false);
  document.title = `instsim: ${t.title ?? t.key}`;
}

function selectTab(name, focus) {
  for (const tab of $('#tabs').children) {
    const on = tab.id === `tab-${name}`;
    tab.setAttribute('aria-selected', on);
    tab.tabIndex = on ? 0 : -1;
    if (on && focus) tab.focus();
  }
  for (const p of $('#panels').children) p.hidden = p.dataset.instrument !== name;
  const h = hashParams();
  if (h.get('instrument') !== name) {
    h.set('instrument', name);
    history.replaceState(null, '', '#' + h.toString());
  }
}

function tabKeys(ev, name, names) {
  const i = names.findIndex(n => n.name === name);
  let j = null;
  if (ev.key === 'ArrowRight') j = (i + 1) % names.length;
  else if (ev.key === 'ArrowLeft') j = (i + names.length - 1) % names.length;
  else if (ev.key === 'ArrowDown') {
    const first = $(`.panel[data-instrument="${CSS.escape(name)}"] li button`);
    if (first) { first.focus(); ev.preventDefault(); }
  }
  if (j !== null) { selectTab(names[j].name, true); ev.preventDefault(); }
}

async function loadNeighbours(t, inst, panel) {
  const list = $('ol', panel);
  try {
    const rows = await api('/api/neighbours', { key: t.key, instrument: inst.name });
    for (const n of rows) {
      const play = el('button', { type: 'button', class: 'play', title: 'play from the matching moment' }, '▶');
      const why = el('button', { type: 'button', class: 'explain', title: 'per-instrument distances of the pair' }, 'explain');
      const li = el('li', { 'data-key': n.key, 'data-distance': n.distance },
        el('div', { class: 'row' }, play, el('span', { class: 'title' }, n.title ?? n.key),
          el('span', { class: 'artist' }, n.artist ?? ''), el('span', { class: 'distance' }, fmtDistance(n.distance)), why),
        el('div', { class: 'explain-out' }));
      play.addEventListener('click', () => playNeighbour(t, n, inst, li));
      why.addEventListener('click', () => explain(t, n, inst, li));
      li.addEventListener('keydown', ev => neighbourKeys(ev, li, why));
      list.append(li);
    }
    if (!rows.length) list.append(el('li', {}, 'no other track has this embedding'));
  } catch (e) {
    list.append(el('li', { class: 'error' }, e.message));
  }
  panel.dataset.loaded = '1';
}

function neighbourKeys(ev, li, why) {
  const move = to => { if (to) { $('button', to).focus(); ev.preventDefault(); } };
  if (ev.key === 'ArrowDown') move(li.nextElementSibling);
  else if (ev.key === 'ArrowUp') {
    if (li.previousElementSibling) move(li.previousElementSibling);
    else { $('#tabs button[aria-selected="true"]').focus(); ev.preventDefault(); }
  } else if (ev.key === 'e') { why.click(); ev.preventDefault(); }
}

// The neighbour from its best-matching segment, in the instrument's own
// audio (the stem when the catalogue has one): computed when asked, since it
// embeds both tracks' segments.
async function playNeighbour(t, n, inst, li) {
  const player = $('#player');
  let moment = null;
  $('#now-playing').textContent = `finding the matching moment of ${n.title ?? n.key}…`;
  if (inst.moments) {
    try { moment = await api('/api/moment', { a: t.key, b: n.key, instrument: inst.name }); }
    catch (e) { say(e.message); }
  }
  li.dataset.moment = moment ? moment.b_start : '';
  player.src = audioUrl(n.key, inst.audio);
  const start = moment ? moment.b_start : 0;
  player.addEventListener('loadedmetadata', () => { player.currentTime = start; }, { once: true });
  player.play().catch(() => {});
  $('#now-playing').textContent = moment
    ? `${n.title ?? n.key} (${inst.name}) from ${start.toFixed(1)} s, matching ${moment.a_start.toFixed(1)} s of ${t.title ?? t.key}`
    : `${n.title ?? n.key} (${inst.name})`;
}

async function explain(t, n, inst, li) {
  const out = $('.explain-out', li);
  if (out.firstChild) { out.replaceChildren(); return; }
  try {
    const d = await api('/api/explain', { a: t.key, b: n.key });
    const table = el('table', { class: 'explain' }, el('tr', {}, el('th', {}, 'instrument'), el('th', {}, 'distance')));
    for (const i of info.instruments) {
      table.append(el('tr', { class: i.name === inst.name ? 'current' : '', 'data-instrument': i.name, 'data-distance': d[i.name] },
        el('td', {}, i.name), el('td', { class: 'distance' }, fmtDistance(d[i.name]))));
    }
    out.replaceChildren(table);
  } catch (e) { say(e.message); }
}

// ---- the listening test ---------------------------------------------------
async function startListening(rater) {
  localStorage.setItem('instsim.rater', rater);
  const r = await api('/api/listen/resume', { rater });
  listen = { rater, pos: r.pos, total: r.total, rated: r.rated, pair: null, side: 'a' };
  $('#listen').hidden = false;
  $('#rater-form').hidden = true;
  await showPair();
}

async function showPair() {
  const box = $('#listen');
  const { pos, total } = listen;
  box.dataset.pos = pos;
  if (total === 0) {
    box.dataset.pair = '';
    $('.status', box).textContent = 'There are no pairs to rate yet (instsim-web --draw N adds them).';
    return;
  }
  if (pos >= total) {
    box.dataset.pair = '';
    $('.status', box).textContent = `All ${total} pairs rated: thank you. n / p go through them again.`;
    $('.question', box).hidden = true;
    return;
  }
  const p = await api('/api/listen/pair', { rater: listen.rater, pos });
  listen.pair = p;
  box.dataset.pair = p.pair;
  $('.question', box).hidden = false;
  $('.instrument', box).textContent = p.instrument;
  $('.status', box).textContent = `pair ${pos + 1} of ${total} · rater ${listen.rater}` +
    (info.ratings ? '' : ' · this server does not store ratings');
  $('#excerpt-a').src = audioUrl(p.a.key, p.a.audio);
  $('#excerpt-b').src = audioUrl(p.b.key, p.b.audio);
  chooseSide('a');
  markRating(p.rating);
}

function markRating(rating) {
  for (const b of $('.ratings').children) b.classList.toggle('chosen', Number(b.dataset.rating) === rating);
}

function chooseSide(side) {
  listen.side = side;
  for (const s of ['a', 'b']) $(`#excerpt-${s}`).parentElement.classList.toggle('current', s === side);
}

// Keys pressed while a rating is stored or a pair loads are ignored, so
// that a quick second key cannot rate the pair that is being left.
async function busy(work) {
  if (listen.busy) return;
  listen.busy = true;
  try { await work(); } catch (e) { say(e.message); } finally { listen.busy = false; }
}

function rate(rating) {
  if (!listen || !listen.pair) return;
  return busy(async () => {
    const pair = listen.pair.pair;
    await api('/api/listen/rate', {}, { pair, rater: listen.rater, rating });
    listen.pair.rating = rating;
    markRating(rating);
    await move(1);
    $('#listen').dataset.lastRated = `${pair}:${rating}`;
  });
}

function step(by) { return busy(() => move(by)); }

async function move(by) {
  const to = listen.pos + by;
  if (to < 0 || to > listen.total) return;
  for (const s of ['a', 'b']) $(`#excerpt-${s}`).pause();
  listen.pos = to;
  await showPair();
}

function togglePlay() {
  const a = $(`#excerpt-${listen.side}`);
  if (a.paused) a.play().catch(() => {}); else a.pause();
}

function listenKeys(ev) {
  if (!listen || $('#listen').hidden || ev.target.matches('input')) return;
  if (ev.key >= '1' && ev.key <= '5') rate(Number(ev.key));
  else if (ev.key === ' ') togglePlay();
  else if (ev.key === 'a' || ev.key === 'b') chooseSide(ev.key);
  else if (ev.key === 'n') step(1);
  else if (ev.key === 'p') step(-1);
  else return;
  ev.preventDefault();
}

// ---- views ------------------------------------------------------------------
async function route() {
  const h = hashParams();
  const listening = location.hash === '#listen';
  $('#catalogue-view').hidden = listening;
  $('#listen-view').hidden = !listening;
  $('footer').hidden = listening;
  if (listening) $('#player').pause();
  say('');
  try {
    if (listening) {
      const saved = localStorage.getItem('instsim.rater');
      if (saved && !$('#rater').value) $('#rater').value = saved;
      $('#rater').focus();
      return;
    }
    if (h.has('track')) {
      if (!current || current.key !== h.get('track')) await openTrack(h.get('track'), h.get('instrument'));
      else selectTab(h.get('instrument'), false);
    } else {
      $('#track').hidden = true;
      current = null;
      $('#q').value = h.get('q') ?? '';
      await search($('#q').value);
      $('#q').focus();
    }
  } catch (e) { say(e.message); }
}

function setup() {
  const ratings = $('.ratings');
  RATING_LABELS.forEach((label, i) => {
    const b = el('button', { type: 'button', 'data-rating': i + 1 }, label);
    b.addEventListener('click', () => rate(i + 1));
    ratings.append(b);
  });
  $('#search').addEventListener('submit', ev => {
    ev.preventDefault();
    location.hash = new URLSearchParams({ q: $('#q').value }).toString();
  });
  $('#results').addEventListener('keydown', ev => {
    const li = ev.target.closest('li');
    const to = ev.key === 'ArrowDown' || ev.key === 'ArrowRight' ? li.nextElementSibling
      : ev.key === 'ArrowUp' || ev.key === 'ArrowLeft' ? li.previousElementSibling : null;
    if (to) { $('button', to).focus(); ev.preventDefault(); }
  });
  $('#q').addEventListener('keydown', ev => {
    if (ev.key === 'ArrowDown' && $('#results button')) { $('#results button').focus(); ev.preventDefault(); }
  });
  $('#rater-form').addEventListener('submit', ev => {
    ev.preventDefault();
    startListening($('#rater').value.trim()).catch(e => say(e.message));
  });
  $('#excerpt-a').addEventListener('ended', () => { chooseSide('b'); $('#excerpt-b').play().catch(() => {}); });
  document.addEventListener('keydown', ev => {
    if (ev.key === '/' && !ev.target.matches('input')) { location.hash = ''; $('#q').focus(); ev.preventDefault(); return; }
    listenKeys(ev);
  });
  window.addEventListener('hashchange', route);
}

(async () => {
  setup();
  try {
    info = await api('/api/info');
    $('#catalogue-name').textContent = info.catalogue;
  } catch (e) { say(e.message); return; }
  await route();
  document.body.dataset.ready = '1';
})();
