// The explorer's pages. Routes live in the URL's fragment (`#/chain/chain1…/block/7`), so
// the page is plain files served by any host. Every page shows what a host says, and a mark
// for each check the browser made of it (trust.js): green when it held, red with the reason
// when it did not.

import * as wire from './wire.js';
import { Api } from './api.js';
import { Trust, check } from './trust.js';

// The search box works from the first moment: before this is set, a search would reload the
// page instead.
document.querySelector('form.search').addEventListener('submit', (event) => {
  event.preventDefault();
  const query = event.target.elements.q.value.trim();
  if (query) location.hash = `#/search/${encodeURIComponent(query)}`;
});

const config = await fetch('config.json')
  .then((r) => (r.ok ? r.json() : {}))
  .catch(() => ({}));
const api = new Api(config.api || location.origin);
const trust = new Trust(api, config.root_chain || null);
const main = document.querySelector('main');
// The page's live event stream, closed when the page changes.
let stream = null;

// How many blocks a chain page lists, and how many chains a list page shows.
const LATEST_BLOCKS = 10;
const CHAINS_PAGE = 20;

const esc = (value) =>
  String(value ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const link = (href, text) => `<a href="#${esc(href)}">${esc(text ?? href)}</a>`;
const short = (id) => (id && id.length > 20 ? `${id.slice(0, 12)}…${id.slice(-6)}` : id);
const time = (ms) => (ms ? new Date(Number(ms)).toISOString().replace('T', ' ').replace('Z', ' UTC') : '');
const rows = (pairs) =>
  `<table class="fields">${pairs
    .filter(([, value]) => value !== undefined)
    .map(([name, value]) => `<tr><th>${esc(name)}</th><td>${value}</td></tr>`)
    .join('')}</table>`;
const chainLink = (chain) => link(`/chain/${chain}`, short(chain));

// An amount of base units in the chain's units (`units`: its decimals and symbol), the base
// units kept in the element's data.
function amount(value, units, cls = 'amount') {
  if (value === null || value === undefined) return '';
  let text = String(value);
  if (units) {
    const digits = text.padStart(units.decimals + 1, '0');
    const whole = digits.slice(0, digits.length - units.decimals);
    text = `${units.decimals ? `${whole}.${digits.slice(-units.decimals)}` : whole} ${units.symbol}`;
  }
  return `<span class="${cls}" data-base-units="${esc(value)}" title="${esc(value)} base units">${esc(text)}</span>`;
}

// A chain's units, from its genesis (proven); none when that fails: amounts in base units.
const unitsOf = (chain) =>
  trust
    .genesis(chain)
    .then(({ genesis }) => ({ decimals: genesis.decimals, symbol: genesis.symbol }))
    .catch(() => null);
const accountLink = (chain, account) => link(`/chain/${chain}/account/${account}`, short(account));
const hostLink = (host) => link(`/host/${host}`, short(host));

// A mark that fills in once its check is done, and once the page that holds it is shown.
let marks = 0;
let visits = 0;
function mark(what, work) {
  const id = `mark-${++marks}`;
  const visit = visits;
  const settle = (result) => {
    const element = document.getElementById(id);
    if (!element) {
      if (visit === visits) requestAnimationFrame(() => settle(result));
      return;
    }
    element.className = `mark ${result.ok ? 'ok' : 'bad'}`;
    element.dataset.verified = result.ok ? 'yes' : 'no';
    element.textContent = result.ok ? `✔ ${result.what}` : `✘ not verified: ${result.why}`;
    element.title = result.ok ? 'checked in this browser' : result.what;
  };
  check(what, work).then(settle);
  return `<span id="${id}" class="mark pending" data-verified="pending" data-check="${esc(what)}">… checking ${esc(what)}</span>`;
}

function show(title, body) {
  document.title = `${title} · Myriad explorer`;
  main.innerHTML = `<h1>${esc(title)}</h1>${body}`;
}

function failure(error) {
  visits += 1;
  main.innerHTML = `<h1>Not found</h1><p class="error">${esc(error.message)}</p>`;
}

const routes = [
  [/^\/?$/, home],
  [/^\/search\/(.+)$/, search],
  [/^\/chains(?:\/after\/(chain1\w+))?$/, chains],
  [/^\/root$/, root],
  [/^\/host\/(host1\w+)$/, host],
  [/^\/tx\/([0-9a-fA-F]{64})$/, transaction],
  [/^\/chain\/(chain1\w+)$/, chain],
  [/^\/chain\/(chain1\w+)\/block\/(\d+)$/, block],
  [/^\/chain\/(chain1\w+)\/account\/(acct1\w+)$/, account],
  [/^\/chain\/(chain1\w+)\/escrow\/(escrow1\w+)$/, escrow],
  [/^\/chain\/(chain1\w+)\/channel\/(chan1\w+)$/, channel],
];

async function route() {
  visits += 1;
  if (stream) {
    stream.close();
    stream = null;
  }
  main.innerHTML = '<p class="loading">Loading…</p>';
  try {
    // Ids and hashes have one form: lower case (bech32m refuses mixed case).
    const path = decodeURIComponent(location.hash.slice(1)).toLowerCase();
    const found = routes.map(([pattern, page]) => [path.match(pattern), page]).find(([m]) => m);
    if (!found) throw new Error(`no page ${path}`);
    const [match, page] = found;
    await page(...match.slice(1));
  } catch (error) {
    failure(error);
  }
}

window.addEventListener('hashchange', route);
route();

async function home() {
  const [health, rootInfo] = await Promise.all([
    api.local('/health'),
    api.root().catch(() => null),
  ]);
  show(
    'Myriad explorer',
    rows([
      ['this host', hostLink(health.host)],
      ['chains it holds', esc(health.chains)],
      ['root chain', rootInfo ? link('/root', short(rootInfo.chain_id)) : 'none followed'],
      ['chains in the directory', rootInfo ? esc(rootInfo.chains) : undefined],
      ['hosts in the directory', rootInfo ? esc(rootInfo.hosts) : undefined],
    ]) + `<p>${link('/chains', 'All chains this host holds')}</p>`,
  );
}

// Where a search's match is shown.
function pageOf({ kind, id, chain_id: chain }) {
  switch (kind) {
    case 'chain':
      return `/chain/${id}`;
    case 'host':
      return `/host/${id}`;
    case 'transaction':
      return `/tx/${id}`;
    case 'account':
      return `/chain/${chain}/account/${id}`;
    case 'escrow':
      return `/chain/${chain}/escrow/${id}`;
    default:
      return `/chain/${chain}/channel/${id}`;
  }
}

// What a query names: a whole chain or host id or transaction hash goes to its page; the
// rest (an account, escrow or channel id, the start of an id or hash) is asked of the host.
async function search(query) {
  const whole = [
    ['chain', (id) => `/chain/${id}`],
    ['host', (id) => `/host/${id}`],
  ].find(([prefix]) => {
    try {
      wire.fromBech32m(prefix, query);
      return true;
    } catch (_) {
      return false;
    }
  });
  if (whole) {
    location.hash = `#${whole[1](query)}`;
    return;
  }
  if (/^[0-9a-fA-F]{64}$/.test(query)) {
    location.hash = `#/tx/${query.toLowerCase()}`;
    return;
  }
  const found = await api.local(`/search?q=${encodeURIComponent(query)}`);
  if (found.matches.length === 1 && !found.more) {
    location.hash = `#${pageOf(found.matches[0])}`;
    return;
  }
  show(
    `Search: ${short(query)}`,
    found.matches.length
      ? `<ul class="matches">${found.matches
          .map((m) => `<li>${esc(m.kind)} ${link(pageOf(m), m.id)}${m.chain_id ? ` on ${chainLink(m.chain_id)}` : ''}</li>`)
          .join('')}</ul>${found.more ? '<p>More match: give more of the id.</p>' : ''}`
      : `<p>Nothing this host knows matches “${esc(query)}”.</p>`,
  );
}

async function chains(after) {
  const query = new URLSearchParams({ limit: CHAINS_PAGE });
  if (after) query.set('after', after);
  const list = await api.local(`/chains?${query}`);
  show(
    'Chains',
    `<table class="list"><tr><th>chain</th><th>symbol</th><th>owner</th><th>height</th><th>supply</th></tr>${list.chains
      .map(
        (c) =>
          `<tr><td>${chainLink(c.chain_id)}</td><td>${esc(c.symbol)}</td><td>${accountLink(c.chain_id, c.owner)}</td><td>${esc(c.height)}</td><td>${amount(c.supply, c)}</td></tr>`,
      )
      .join('')}</table>` + (list.next ? `<p>${link(`/chains/after/${list.next}`, 'Next page')}</p>` : ''),
  );
}

async function chain(id) {
  const info = await api.get(id, `/chains/${id}`);
  const directory = await api.get(null, `/root/chains/${id}`).catch(() => null);
  const entries = new Map((directory?.validators || []).map((v) => [v.host, v.entry]));
  const head = info.height;
  show(
    `Chain ${info.symbol}`,
    rows([
      ['chain', `<code>${esc(id)}</code>`],
      ['genesis', mark('the genesis hashes to the chain id, signed by its owner', async () => {
        await trust.genesis(id);
      })],
      ['verified', mark('the chain at its head', () => trust.chain(id, info))],
      ['symbol', esc(info.symbol)],
      ['owner', accountLink(id, info.owner)],
      ['supply', `${amount(info.supply, info)} (minted ${amount(info.minted, info)}, burned ${amount(info.burned, info)})`],
      ['max supply', info.max_supply ? amount(info.max_supply, info) : 'none'],
      ['head', head ? link(`/chain/${id}/block/${head}`, head) : '0 (the genesis)'],
      ['root anchor', mark("the root's anchor of this chain", () => trust.anchorAgrees(id))],
    ]) +
      `<h2>Validators</h2><table class="list"><tr><th>host</th><th>power</th><th>API</th><th>bond</th></tr>${info.validators
        .map((v) => {
          const entry = entries.get(v.host);
          return `<tr><td>${hostLink(v.host)}</td><td>${esc(v.power)}</td><td>${esc(entry?.api_url ?? 'not in the directory')}</td><td>${esc(entry?.bond ?? '')}</td></tr>`;
        })
        .join('')}</table>` +
      `<h2>Latest blocks</h2><table class="list" id="blocks"><tr><th>height</th><th>time</th><th>transactions</th><th>verified</th></tr></table>`,
  );
  const table = document.getElementById('blocks');
  const addBlock = async (height, first) => {
    const answer = await trust.blockAnswer(id, height);
    const row = table.insertRow(first ? 1 : -1);
    row.dataset.height = height;
    row.innerHTML = `<td>${link(`/chain/${id}/block/${height}`, height)}</td><td>${esc(time(answer.timestamp_ms))}</td><td>${esc(answer.txs.length)}</td><td>${mark(`block ${height}`, async () => (await trust.block(id, height)).how)}</td>`;
  };
  for (let height = head; height > Math.max(0, head - LATEST_BLOCKS); height--) {
    await addBlock(height, false);
  }
  const url = await api.events(id);
  if (url) {
    stream = new EventSource(url);
    let shown = head;
    stream.addEventListener('head', async (event) => {
      const { height } = JSON.parse(event.data);
      if (!Number.isSafeInteger(height)) return;
      shown = Math.max(shown, height - LATEST_BLOCKS);
      while (shown < height) await addBlock(++shown, true);
    });
  }
}

async function block(chain, height) {
  const [answer, units] = await Promise.all([trust.blockAnswer(chain, height), unitsOf(chain)]);
  if (Number(height) === 0) {
    show(`${short(chain)} genesis`, rows([
      ['chain', chainLink(chain)],
      ['verified', mark('the genesis hashes to the chain id, signed by its owner', () => trust.genesisShown(chain, answer))],
      ['owner', accountLink(chain, answer.owner)],
      ['created', esc(time(answer.created_at_ms))],
      ['validators', answer.validators.map((v) => `${hostLink(v.host)} (${esc(v.power)})`).join('<br>')],
    ]));
    return;
  }
  show(
    `Block ${height}`,
    rows([
      ['chain', chainLink(chain)],
      ['verified', mark(`block ${height}`, async () => (await trust.block(chain, height)).how)],
      ['hash', `<code>${esc(answer.hash)}</code>`],
      ['previous', Number(height) > 1 ? link(`/chain/${chain}/block/${height - 1}`, answer.prev_hash) : link(`/chain/${chain}/block/0`, 'the genesis')],
      ['time', esc(time(answer.timestamp_ms))],
      ['proposer', hostLink(answer.proposer)],
      ['state root', `<code>${esc(answer.state_root)}</code>`],
      ['round', esc(answer.round)],
      ['signers', answer.signers.map(hostLink).join('<br>')],
    ]) + `<h2>Transactions</h2>${txTable(chain, answer.txs, units)}`,
  );
}

function txTable(chain, txs, units) {
  if (!txs.length) return '<p>None.</p>';
  return `<table class="list"><tr><th>transaction</th><th>kind</th><th>sender</th><th>to</th><th>amount</th><th>object</th></tr>${txs
    .map(
      (tx) =>
        `<tr><td>${link(`/tx/${tx.hash}`, short(tx.hash))}</td><td>${esc(tx.kind)}</td><td>${accountLink(chain, tx.sender)}</td><td>${tx.to ? accountLink(chain, tx.to) : ''}</td><td>${amount(tx.amount, units)}</td><td>${objectLink(chain, tx.object)}</td></tr>`,
    )
    .join('')}</table>`;
}

function objectLink(chain, object) {
  if (!object) return '';
  if (object.startsWith('escrow1')) return link(`/chain/${chain}/escrow/${object}`, short(object));
  if (object.startsWith('chan1')) return link(`/chain/${chain}/channel/${object}`, short(object));
  return esc(short(object));
}

async function transaction(hash) {
  const status = await api.local(`/transactions/${hash}`);
  if (status.status !== 'committed') {
    show(`Transaction ${short(hash)}`, rows([['status', esc(status.status)], ['reason', esc(status.reason ?? '')]]));
    return;
  }
  const chain = status.chain_id;
  const [answer, units] = await Promise.all([
    trust.blockAnswer(chain, status.height),
    unitsOf(chain),
  ]);
  const tx = answer.txs.find((t) => t.hash === hash);
  show(
    `Transaction ${short(hash)}`,
    rows([
      ['chain', chainLink(chain)],
      ['block', link(`/chain/${chain}/block/${status.height}`, status.height)],
      ['verified', mark('in a verified block', async () => {
        const { ids, how } = await trust.block(chain, status.height);
        if (!ids.some((id) => wire.hex(id) === hash)) throw new Error('the block does not hold it');
        return `in block ${status.height}, ${how}`;
      })],
      ['kind', esc(tx?.kind)],
      ['sender', tx ? accountLink(chain, tx.sender) : ''],
      ['nonce', esc(tx?.nonce)],
      ['to', tx?.to ? accountLink(chain, tx.to) : undefined],
      ['amount', tx?.amount ? amount(tx.amount, units) : undefined],
      ['object', tx?.object ? objectLink(chain, tx.object) : undefined],
    ]),
  );
}

async function account(chain, address) {
  const [info, history, units] = await Promise.all([
    api.get(chain, `/chains/${chain}/accounts/${address}`),
    api.get(chain, `/chains/${chain}/accounts/${address}/txs`),
    unitsOf(chain),
  ]);
  show(
    `Account ${short(address)}`,
    rows([
      ['chain', chainLink(chain)],
      ['address', `<code>${esc(address)}</code>`],
      ['balance', amount(info.balance, units, 'balance')],
      ['nonce', esc(info.nonce)],
      ['verified', mark(`the balance at height ${info.height}`, () => trust.account(chain, address, info))],
    ]) + `<h2>History</h2>${historyTable(chain, history.txs, units)}`,
  );
}

function historyTable(chain, entries, units) {
  if (!entries.length) return '<p>No transactions.</p>';
  return `<table class="list"><tr><th>block</th><th>time</th><th>transaction</th><th>kind</th><th>sender</th><th>to</th><th>amount</th><th>object</th></tr>${entries
    .map(
      ({ height, timestamp_ms, tx }) =>
        `<tr><td>${link(`/chain/${chain}/block/${height}`, height)}</td><td>${esc(time(timestamp_ms))}</td><td>${link(`/tx/${tx.hash}`, short(tx.hash))}</td><td>${esc(tx.kind)}</td><td>${accountLink(chain, tx.sender)}</td><td>${tx.to ? accountLink(chain, tx.to) : ''}</td><td>${amount(tx.amount, units)}</td><td>${objectLink(chain, tx.object)}</td></tr>`,
    )
    .join('')}</table>`;
}

// An escrow or channel, with its object proof.
async function objectPage(chain, id, kind, fields) {
  const path = kind === 'Escrow' ? 'escrows' : 'channels';
  const [info, units] = await Promise.all([
    api.get(chain, `/chains/${chain}/${path}/${id}`),
    unitsOf(chain),
  ]);
  show(
    `${kind} ${short(id)}`,
    rows([
      ['chain', chainLink(chain)],
      ['verified', mark(`the ${kind.toLowerCase()} at height ${info.height}`, () => trust.object(chain, kind, id, info))],
      ...fields(info[kind.toLowerCase()], units),
    ]),
  );
}

function escrow(chain, id) {
  return objectPage(chain, id, 'Escrow', (e, units) => [
    ['state', esc(e.state)],
    ['locker', accountLink(chain, e.locker)],
    ['to', accountLink(chain, e.to)],
    ['amount', amount(e.amount, units)],
    ['hash lock', `<code>${esc(e.hash_lock)}</code>`],
    ['expires', esc(time(e.expires_at_ms))],
    ['secret', e.secret ? `<code>${esc(e.secret)}</code>` : 'not revealed'],
    ['closed', e.closed_at_ms ? esc(time(e.closed_at_ms)) : undefined],
    ['memo', e.memo ? `<code>${esc(e.memo)}</code>` : undefined],
  ]);
}

function channel(chain, id) {
  return objectPage(chain, id, 'Channel', (c, units) => [
    ['state', esc(c.state)],
    ['payer', accountLink(chain, c.payer)],
    ['payee', accountLink(chain, c.payee)],
    ['amount', amount(c.amount, units)],
    ['expires', esc(time(c.expires_at_ms))],
    ['paid', c.paid ? amount(c.paid, units) : undefined],
    ['closed', c.closed_at_ms ? esc(time(c.closed_at_ms)) : undefined],
  ]);
}

async function host(id) {
  const entry = await api.local(`/root/hosts/${id}`);
  show(
    `Host ${short(id)}`,
    rows([
      ['host', `<code>${esc(id)}</code>`],
      ['API', esc(entry.api_url)],
      ['p2p', esc(entry.p2p.join(', '))],
      ['registered', entry.registered ? `until ${esc(time(entry.expires_at_ms))}` : 'no'],
      ['since', esc(time(entry.registered_at_ms))],
      ['bond', esc(entry.bond)],
      ['slashed', `${esc(entry.slashed)} by ${esc(entry.evidence)} pieces of evidence`],
      ['chains it validates', esc(entry.chains)],
    ]) +
      (entry.owner_bonds.length
        ? `<h2>Owners' bonds</h2><table class="list"><tr><th>chain</th><th>held</th></tr>${entry.owner_bonds
            .map((b) => `<tr><td>${chainLink(b.chain_id)}</td><td>${esc(b.held)}</td></tr>`)
            .join('')}</table>`
        : ''),
  );
}

async function root() {
  const info = await api.root();
  const latest = [];
  for (let height = info.height; height > Math.max(0, info.height - LATEST_BLOCKS); height--) {
    latest.push(height);
  }
  show(
    'Root chain',
    rows([
      ['chain', chainLink(info.chain_id)],
      ['committee', mark("the root's genesis names its committee", async () => {
        const { root, set, pinned } = await trust.rootCommittee();
        return `the genesis of root chain ${short(root)} (${pinned}) names ${set.validators.length} hosts`;
      })],
      ['height', esc(info.height)],
      ['hosts in the directory', esc(info.hosts)],
      ['chains in the directory', esc(info.chains)],
      ['anchor interval', `${esc(info.anchor_interval_ms)} ms`],
    ]) +
      `<h2>Latest root blocks</h2><table class="list"><tr><th>height</th><th>verified</th></tr>${latest
        .map((h) => `<tr><td>${link(`/chain/${info.chain_id}/block/${h}`, h)}</td><td>${mark(`root block ${h}`, async () => (await trust.block(info.chain_id, h)).how)}</td></tr>`)
        .join('')}</table>`,
  );
}
