// Quarry playground: plain browser JavaScript, no build step, no third-party code.
// Every value from the server is inserted as text (textContent / text nodes), never as HTML.
'use strict';

const MAX_PIPELINES = 3;
const state = { pipelines: [], running: 0 };

const $ = (id) => document.getElementById(id);

/** Creates an element with a class and children (strings become text nodes). */
function el(tag, className, ...children) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

function setStatus(text, isError = false) {
  const status = $('status');
  status.textContent = text;
  status.classList.toggle('error', isError);
}

function formatScore(score) {
  if (typeof score !== 'number' || !Number.isFinite(score)) return String(score);
  const abs = Math.abs(score);
  return abs !== 0 && (abs < 0.001 || abs >= 1e5) ? score.toExponential(3) : score.toFixed(4);
}

// ---------- pipelines ----------

async function loadPipelines() {
  const box = $('pipelines');
  try {
    const response = await fetch('/pipelines');
    if (!response.ok) throw new Error(`GET /pipelines answered ${response.status}`);
    const body = await response.json();
    state.pipelines = Array.isArray(body.pipelines) ? body.pipelines : [];
  } catch (error) {
    $('pipelines-status').textContent = `Could not list pipelines: ${error.message}`;
    return;
  }
  $('pipelines-status').remove();
  const params = new URLSearchParams(location.search);
  const wanted = (params.get('p') || '').split(',').filter(Boolean);
  const names = state.pipelines.map((p) => p.name);
  const initial = wanted.filter((n) => names.includes(n)).slice(0, MAX_PIPELINES);
  if (initial.length === 0) initial.push(...names.slice(0, Math.min(names.length, 2)));
  for (const p of state.pipelines) {
    const input = el('input');
    input.type = 'checkbox';
    input.name = 'pipeline';
    input.value = p.name;
    input.checked = initial.includes(p.name);
    input.addEventListener('change', limitSelection);
    const label = el('label', null, input, el('span', 'name', p.name));
    if (p.description) {
      const desc = el('span', 'desc', p.description);
      desc.title = p.description;
      label.append(desc);
    }
    label.title = `${p.documents} documents`;
    box.append(label);
  }
  if (state.pipelines.length === 0) box.append(el('p', 'muted', 'This server serves no pipelines.'));
  limitSelection();
  const q = params.get('q');
  if (q) {
    $('query').value = q;
    const k = params.get('k');
    if (k && [...$('k').options].some((o) => o.value === k)) $('k').value = k;
    void runSearch();
  }
}

function selectedPipelines() {
  return [...document.querySelectorAll('input[name="pipeline"]:checked')].map((i) => i.value);
}

function limitSelection() {
  const full = selectedPipelines().length >= MAX_PIPELINES;
  for (const input of document.querySelectorAll('input[name="pipeline"]')) input.disabled = full && !input.checked;
}

// ---------- search ----------

async function searchOne(pipeline, query, k) {
  const started = performance.now();
  try {
    const response = await fetch('/search', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ pipeline, query, k, explain: true, snippet: 280 }),
    });
    const body = await response.json().catch(() => null);
    if (!response.ok) {
      const message = body?.error ? `${body.error.code}: ${body.error.message}` : `HTTP ${response.status}`;
      const retry = response.headers.get('retry-after');
      return { pipeline, error: retry ? `${message} (retry after ${retry} s)` : message };
    }
    return { pipeline, hits: Array.isArray(body.hits) ? body.hits : [], tookMs: body.tookMs, wallMs: performance.now() - started };
  } catch (error) {
    return { pipeline, error: `Request failed: ${error.message}` };
  }
}

async function runSearch(event) {
  if (event) event.preventDefault();
  const query = $('query').value.trim();
  const pipelines = selectedPipelines();
  const k = Number($('k').value) || 10;
  if (!query) return setStatus('Type a query first.', true);
  if (pipelines.length === 0) return setStatus('Pick at least one pipeline (two or three to compare).', true);
  const params = new URLSearchParams({ q: query, p: pipelines.join(','), k: String(k) });
  history.replaceState(null, '', `?${params}`);
  $('go').disabled = true;
  setStatus(`Searching ${pipelines.join(', ')}…`);
  const started = performance.now();
  const columns = await Promise.all(pipelines.map((p) => searchOne(p, query, k)));
  $('go').disabled = false;
  renderColumns(columns, query);
  const failed = columns.filter((c) => c.error).length;
  setStatus(`${columns.length - failed} of ${columns.length} pipelines answered in ${Math.round(performance.now() - started)} ms.`, failed > 0);
}

// ---------- results ----------

function queryTerms(query) {
  return [...new Set(query.toLowerCase().match(/[\p{L}\p{N}]{3,}/gu) || [])];
}

/** Text with the query's terms wrapped in <mark>, built from text nodes. */
function highlighted(text, terms) {
  const span = el('span');
  if (!text) return span;
  if (terms.length === 0) {
    span.textContent = text;
    return span;
  }
  const escaped = terms.map((t) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  const re = new RegExp(`(${escaped.join('|')})`, 'giu');
  let last = 0;
  for (const match of text.matchAll(re)) {
    if (match.index > last) span.append(text.slice(last, match.index));
    span.append(el('mark', null, match[0]));
    last = match.index + match[0].length;
  }
  if (last < text.length) span.append(text.slice(last));
  return span;
}

function renderColumns(columns, query) {
  const results = $('results');
  results.replaceChildren();
  results.style.setProperty('--cols', String(Math.max(1, columns.length)));
  const terms = queryTerms(query);
  const reference = columns[0]?.hits ? new Map(columns[0].hits.map((h, i) => [h.id, i + 1])) : null;
  columns.forEach((column, ci) => {
    const section = el('section', 'column');
    section.dataset.pipeline = column.pipeline;
    const took = typeof column.tookMs === 'number' ? `${column.tookMs.toFixed(1)} ms search` : '';
    section.append(el('h2', null, el('span', null, column.pipeline), el('span', 'took', took)));
    if (column.error) {
      section.append(el('p', 'error', column.error));
      results.append(section);
      return;
    }
    if (column.hits.length === 0) section.append(el('p', 'muted', 'No hits.'));
    const { shared, perHit } = splitExplanations(column.hits);
    if (shared) {
      const box = el('div', 'query-explain', el('h3', null, 'Explanation (the same for every hit)'));
      box.append(renderExplain(shared));
      section.append(box);
    }
    const list = el('ol', 'hits');
    column.hits.forEach((hit, i) => {
      const rank = typeof hit.rank === 'number' ? hit.rank : i + 1;
      const item = el('li', 'hit');
      item.dataset.id = hit.id;
      const head = el('div', 'hit-head', el('span', 'rank', rank), el('span', 'title', highlighted(hit.title || '(untitled)', terms)), el('span', 'score', formatScore(hit.score)));
      head.append(rankDelta(ci, reference, hit.id, rank, columns[0]?.pipeline));
      item.append(head, el('div', 'docid', `doc ${hit.id}`));
      if (hit.snippet) item.append(el('p', 'snippet', highlighted(hit.snippet, terms)));
      const own = perHit[i];
      if (own && Object.keys(own).length > 0) {
        const details = el('details', 'hit-explain', el('summary', null, 'Explanation'));
        details.append(renderExplain(own));
        item.append(details);
      }
      item.addEventListener('mouseenter', () => markSame(hit.id, true));
      item.addEventListener('mouseleave', () => markSame(hit.id, false));
      list.append(item);
    });
    section.append(list);
    results.append(section);
  });
}

/** Rank change against the first (reference) column. */
function rankDelta(columnIndex, reference, id, rank, referenceName) {
  if (columnIndex === 0) {
    const badge = el('span', 'delta ref', 'ref');
    badge.title = 'Reference column: the others show rank changes against it';
    return badge;
  }
  if (!reference) return el('span', 'delta same-rank', '?');
  const before = reference.get(id);
  let badge;
  if (before === undefined) badge = el('span', 'delta new', 'new');
  else if (before === rank) badge = el('span', 'delta same-rank', '=');
  else if (before > rank) badge = el('span', 'delta up', `▲${before - rank}`);
  else badge = el('span', 'delta down', `▼${rank - before}`);
  badge.title = before === undefined ? `Not in ${referenceName}'s top ${reference.size}` : `Rank ${before} in ${referenceName}`;
  return badge;
}

function markSame(id, on) {
  for (const item of document.querySelectorAll('li.hit')) if (item.dataset.id === id) item.classList.toggle('same', on);
}

/**
 * Splits each hit's `explain` into the keys whose value is the same on every hit
 * (e.g. a rewriter's augmented query, a Boolean query analysis) and the rest.
 */
function splitExplanations(hits) {
  const explains = hits.map((h) => (h.explain && typeof h.explain === 'object' ? h.explain : null));
  const present = explains.filter(Boolean);
  if (present.length < 2 || present.length !== hits.length) return { shared: null, perHit: explains };
  const sharedKeys = Object.keys(present[0]).filter((key) => {
    const first = JSON.stringify(present[0][key]);
    return present.every((e) => key in e && JSON.stringify(e[key]) === first);
  });
  if (sharedKeys.length === 0) return { shared: null, perHit: explains };
  const shared = Object.fromEntries(sharedKeys.map((k) => [k, present[0][k]]));
  const perHit = explains.map((e) => Object.fromEntries(Object.entries(e).filter(([k]) => !sharedKeys.includes(k))));
  return { shared, perHit };
}

// ---------- explanations ----------
// Specific renderers claim the keys they understand; whatever is left is shown generically.
// Each one tolerates missing or oddly shaped fields and then leaves the keys to the generic view.

const pick = (obj, ...names) => {
  for (const n of names) if (obj[n] !== undefined && obj[n] !== null) return obj[n];
  return undefined;
};
const isObj = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const asText = (v) => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : null);

const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : null);

const RENDERERS = [
  {
    // LameR / HyDE (@quarry/lamer, under `explain.lamer`): the answers written for the query and the
    // augmented query the second round retrieved with; the prompt and first-round candidates folded away.
    name: 'lamer',
    keys: ['augmentedQuery', 'augmented_query', 'answers', 'mode', 'generator', 'generatorKind', 'prompt', 'candidates'],
    match: (e) => typeof pick(e, 'augmentedQuery', 'augmented_query') === 'string',
    render(e) {
      const box = el('div', 'explain-block lamer');
      const mode = asText(e.mode);
      box.append(el('div', 'label', mode ? `Augmented query (${mode})` : 'Augmented query'));
      box.append(el('p', 'augmented', pick(e, 'augmentedQuery', 'augmented_query')));
      if (Array.isArray(e.answers) && e.answers.length) {
        const list = el('ol', 'answers');
        for (const a of e.answers) list.append(el('li', null, asText(a) ?? JSON.stringify(a)));
        const source = [asText(e.generator), asText(e.generatorKind)].filter(Boolean).join(', ');
        box.append(el('div', 'label', `Generated answers (${e.answers.length})${source ? ` from ${source}` : ''}`), list);
      }
      if (Array.isArray(e.candidates) && e.candidates.length) {
        box.append(
          el(
            'div',
            'muted',
            `First-round candidates: ${e.candidates
              .slice(0, 20)
              .map((c) => asText(c) ?? '?')
              .join(', ')}${e.candidates.length > 20 ? ', …' : ''}`,
          ),
        );
      }
      if (typeof e.prompt === 'string' && e.prompt) {
        const details = el('details', 'prompt', el('summary', null, 'Prompt'));
        details.append(el('pre', null, e.prompt.length > 4000 ? `${e.prompt.slice(0, 4000)}…` : e.prompt));
        box.append(details);
      }
      return box;
    },
  },
  {
    // LLM2GR (@quarry/llm2gr): generated titles, the generated passage prefix and the passage located
    // from it, and the two scores the hit's score combines.
    name: 'llm2gr',
    keys: ['titles', 'prefix', 'passage', 'titleScore', 'passageScore'],
    match: (e) => Array.isArray(e.titles) || typeof e.passage === 'string' || typeof e.prefix === 'string',
    render(e) {
      const box = el('div', 'explain-block llm2gr');
      if (Array.isArray(e.titles) && e.titles.length) {
        const table = el('table', 'mini', el('tr', null, el('th', null, 'generated title'), el('th', null, 'score')));
        for (const t of e.titles.slice(0, 20)) {
          const title = isObj(t) ? asText(pick(t, 'title', 'text')) : asText(t);
          const score = isObj(t) && num(t.score) !== null ? formatScore(t.score) : '';
          table.append(el('tr', null, el('td', null, title ?? JSON.stringify(t)), el('td', 'num', score)));
        }
        box.append(el('div', 'label', 'Generated titles'), table);
      }
      const prefix = asText(e.prefix);
      const passage = asText(e.passage);
      if (passage) {
        const p = el('p', 'passage');
        if (prefix && passage.startsWith(prefix)) p.append(el('span', 'prefix', prefix), passage.slice(prefix.length));
        else p.append(passage);
        box.append(el('div', 'label', prefix ? 'Located passage (generated prefix marked)' : 'Located passage'), p);
        if (prefix && !passage.startsWith(prefix)) box.append(el('div', 'label', 'Generated prefix'), el('p', 'prefix', prefix));
      } else if (prefix) {
        box.append(el('div', 'label', 'Generated prefix'), el('p', 'prefix', prefix));
      }
      const scores = [num(e.titleScore) !== null ? `title ${formatScore(e.titleScore)}` : null, num(e.passageScore) !== null ? `passage ${formatScore(e.passageScore)}` : null].filter(Boolean);
      if (scores.length) box.append(el('div', 'muted', `Scores: ${scores.join(', ')}`));
      return box.childNodes.length ? box : null;
    },
  },
  {
    // Boolean-aware encoding (@quarry/bool-attn): cues with their operator, the tokens each cue governs,
    // per-token bias and the operator gates. Reads its BoolExplanation ({text, tokens: [{index, token, cue,
    // combined, weight, ...}], cues: [{index, token, op, prob, scope: [{index, token, value}]}], gates}) or the
    // flat form {tokens: string[], cues: [{text, operator, index}], scopes: [{operator, start, end}], bias: number[]}.
    name: 'bool',
    keys: ['cues', 'scopes', 'bias', 'tokens', 'gates', 'text'],
    match: (e) => Array.isArray(e.cues) || Array.isArray(e.scopes) || (Array.isArray(e.tokens) && isObj(e.gates)),
    render(e) {
      const box = el('div', 'explain-block bool');
      const rawTokens = Array.isArray(e.tokens) ? e.tokens : null;
      const tokens = rawTokens ? rawTokens.map((t) => asText(isObj(t) ? pick(t, 'token', 'text') : t) ?? '?') : null;
      const cues = Array.isArray(e.cues) ? e.cues : [];
      const bias = rawTokens?.some(isObj) ? rawTokens.map((t) => (isObj(t) ? num(pick(t, 'combined', 'bias')) : null)) : Array.isArray(e.bias) ? e.bias.map(num) : null;
      const cueAt = new Map();
      const scopeOf = new Map(); // token index -> operators whose scope holds it
      const addScope = (i, op) => {
        if (typeof i !== 'number') return;
        if (!scopeOf.has(i)) scopeOf.set(i, []);
        if (!scopeOf.get(i).includes(op)) scopeOf.get(i).push(op);
      };
      for (const c of cues) {
        if (!isObj(c)) continue;
        const op = String(pick(c, 'op', 'operator') ?? '?');
        const index = num(pick(c, 'index', 'position', 'start'));
        if (index !== null) cueAt.set(index, op);
        if (Array.isArray(c.scope)) for (const sc of c.scope) addScope(isObj(sc) ? sc.index : sc, op.toLowerCase());
      }
      if (rawTokens) rawTokens.forEach((t, i) => isObj(t) && typeof t.cue === 'string' && t.cue !== 'none' && !cueAt.has(i) && cueAt.set(i, t.cue));
      const scopes = Array.isArray(e.scopes) ? e.scopes : [];
      for (const s of scopes) {
        if (!isObj(s)) continue;
        const op = String(pick(s, 'operator', 'op') ?? '').toLowerCase();
        if (num(s.start) !== null && num(s.end) !== null) for (let i = s.start; i < s.end; i++) addScope(i, op);
        if (Array.isArray(s.tokens)) for (const i of s.tokens) addScope(i, op);
      }
      if (tokens) {
        const finite = (bias || []).filter((b) => b !== null);
        const maxBias = Math.max(1e-9, ...finite.map(Math.abs));
        const row = el('div', 'tokens');
        tokens.forEach((t, i) => {
          const tok = el('span', 'tok', t);
          const b = bias ? (bias[i] ?? null) : null;
          if (b !== null) {
            const a = Math.min(1, Math.abs(b) / maxBias) * 0.6;
            tok.style.background = b >= 0 ? `rgba(24, 121, 78, ${a})` : `rgba(180, 35, 24, ${a})`;
          }
          if (cueAt.has(i)) {
            tok.classList.add('cue');
            tok.append(el('span', 'op', cueAt.get(i)));
          }
          const ops = scopeOf.get(i) || [];
          for (const op of ops) if (['and', 'or', 'not'].includes(op)) tok.classList.add(`scope-${op}`);
          tok.title = [b !== null ? `bias ${formatScore(b)}` : null, cueAt.has(i) ? `cue ${cueAt.get(i)}` : null, ...ops.map((o) => `in ${o.toUpperCase()} scope`)].filter(Boolean).join(', ');
          row.append(tok);
        });
        box.append(el('div', 'label', 'Query tokens (bias shaded, cues outlined, scopes underlined: AND green, OR blue, NOT red)'), row);
      }
      if (cues.length) {
        const table = el('table', 'mini', el('tr', null, el('th', null, 'cue'), el('th', null, 'operator'), el('th', null, 'position'), el('th', null, 'scope')));
        for (const c of cues) {
          if (!isObj(c)) {
            table.append(el('tr', null, el('td', null, asText(c) ?? JSON.stringify(c)), el('td'), el('td'), el('td')));
            continue;
          }
          const scope = Array.isArray(c.scope) ? c.scope.map((sc) => (isObj(sc) ? (asText(sc.token) ?? tokens?.[sc.index] ?? '?') : tokens ? (tokens[sc] ?? '?') : String(sc))).join(' ') : '';
          table.append(
            el(
              'tr',
              null,
              el('td', null, asText(pick(c, 'token', 'text', 'cue')) ?? ''),
              el('td', null, asText(pick(c, 'op', 'operator')) ?? ''),
              el('td', 'num', asText(pick(c, 'index', 'position', 'start')) ?? ''),
              el('td', null, scope),
            ),
          );
        }
        box.append(el('div', 'label', 'Boolean cues'), table);
      }
      if (scopes.length) {
        const list = el('ul', 'scopes');
        for (const s of scopes) {
          if (!isObj(s)) {
            list.append(el('li', null, JSON.stringify(s)));
            continue;
          }
          const op = asText(pick(s, 'operator', 'op')) ?? 'scope';
          let span = '';
          if (num(s.start) !== null && num(s.end) !== null) span = tokens ? tokens.slice(s.start, s.end).join(' ') : `tokens ${s.start}–${s.end - 1}`;
          else if (Array.isArray(s.tokens)) span = tokens ? s.tokens.map((i) => tokens[i] ?? '?').join(' ') : `tokens ${s.tokens.join(', ')}`;
          else if (typeof s.text === 'string') span = s.text;
          list.append(el('li', null, `${op.toUpperCase()}: ${span}`));
        }
        box.append(el('div', 'label', 'Scopes'), list);
      }
      if (isObj(e.gates)) {
        const gates = Object.entries(e.gates).map(([op, g]) => `${op} ${num(g) !== null ? g.toFixed(2) : String(g)}`);
        box.append(el('div', 'muted', `Operator gates: ${gates.join(', ')}`));
      }
      if (bias && !tokens) box.append(el('div', 'label', 'Per-token bias'), el('p', null, bias.map((b) => (b === null ? '?' : formatScore(b))).join(' ')));
      return box;
    },
  },
  {
    // ColBERT late interaction: which document token each query token matched (MaxSim).
    name: 'colbert',
    keys: ['matches', 'tokenMatches', 'token_matches'],
    match: (e) => Array.isArray(pick(e, 'matches', 'tokenMatches', 'token_matches')),
    render(e) {
      const matches = pick(e, 'matches', 'tokenMatches', 'token_matches');
      const box = el('div', 'explain-block colbert');
      const table = el('table', 'mini', el('tr', null, el('th', null, 'query token'), el('th', null, ''), el('th', null, 'document token'), el('th', null, 'similarity')));
      for (const m of matches.slice(0, 64)) {
        if (!isObj(m)) {
          table.append(el('tr', null, el('td', null, JSON.stringify(m)), el('td'), el('td'), el('td')));
          continue;
        }
        const q = asText(pick(m, 'queryToken', 'query_token', 'query', 'q')) ?? asText(m.queryIndex) ?? '?';
        const d = asText(pick(m, 'docToken', 'doc_token', 'documentToken', 'doc', 'd')) ?? asText(m.docIndex) ?? '?';
        const s = pick(m, 'score', 'similarity', 'sim');
        table.append(el('tr', null, el('td', null, q), el('td', null, '→'), el('td', null, d), el('td', 'num', num(s) !== null ? formatScore(s) : '')));
      }
      box.append(el('div', 'label', `Token matches (${matches.length})`), table);
      return box;
    },
  },
];

/** Applies the specific views to an explanation object; returns what they rendered and the keys left over. */
function renderKnown(explain) {
  const parts = [];
  let rest = { ...explain };
  for (const r of RENDERERS) {
    let rendered = null;
    try {
      if (r.match(rest)) rendered = r.render(rest);
    } catch (_error) {
      rendered = null; // an unexpected shape: these keys fall back to the generic view
    }
    if (rendered) {
      rendered.dataset.renderer = r.name;
      parts.push(rendered);
      rest = Object.fromEntries(Object.entries(rest).filter(([k]) => !r.keys.includes(k)));
    }
  }
  return { parts, rest };
}

function renderExplain(explain) {
  const wrap = el('div', 'explain');
  const rest = { ...explain };
  // Plugins may namespace their explanation (`explain.lamer = {...}`): try the views one level down too.
  for (const [key, value] of Object.entries(explain)) {
    if (!isObj(value)) continue;
    const nested = renderKnown(value);
    if (nested.parts.length === 0) continue;
    const section = el('div', 'explain-ns', el('div', 'ns', key));
    section.dataset.key = key;
    section.append(...nested.parts);
    if (Object.keys(nested.rest).length) section.append(genericValue(nested.rest, 1));
    wrap.append(section);
    delete rest[key];
  }
  const top = renderKnown(rest);
  wrap.append(...top.parts);
  if (Object.keys(top.rest).length) wrap.append(genericValue(top.rest, 0));
  return wrap;
}

/** Any JSON value: objects as key/value lists, uniform object arrays as tables, long text clipped. */
function genericValue(value, depth) {
  if (value === null || value === undefined) return el('span', 'muted', String(value));
  if (typeof value === 'number') return el('span', null, formatScore(value));
  if (typeof value === 'string') return el('span', null, value.length > 600 ? `${value.slice(0, 600)}…` : value);
  if (typeof value === 'boolean') return el('span', null, String(value));
  if (Array.isArray(value)) {
    if (value.every((v) => v === null || typeof v !== 'object')) {
      const shown = value.slice(0, 50).map((v) => (typeof v === 'number' ? formatScore(v) : String(v)));
      return el('span', null, `[${shown.join(', ')}${value.length > 50 ? `, … ${value.length - 50} more` : ''}]`);
    }
    const keys = [...new Set(value.filter(isObj).flatMap((v) => Object.keys(v)))];
    if (depth < 3 && value.every(isObj) && keys.length <= 6) {
      const table = el('table', 'mini', el('tr', null, ...keys.map((k) => el('th', null, k))));
      for (const row of value.slice(0, 30)) table.append(el('tr', null, ...keys.map((k) => el('td', typeof row[k] === 'number' ? 'num' : null, genericValue(row[k], depth + 1)))));
      if (value.length > 30) table.append(el('tr', null, el('td', 'muted', `… ${value.length - 30} more`)));
      return table;
    }
    return el('code', null, clip(JSON.stringify(value)));
  }
  if (depth >= 3) return el('code', null, clip(JSON.stringify(value)));
  const dl = el('dl', 'kv');
  for (const [k, v] of Object.entries(value)) dl.append(el('dt', null, k), el('dd', null, genericValue(v, depth + 1)));
  return dl;
}

function clip(text) {
  return text.length > 400 ? `${text.slice(0, 400)}…` : text;
}

document.addEventListener('DOMContentLoaded', () => {
  $('search').addEventListener('submit', runSearch);
  void loadPipelines();
});
