// Myriad's canonical encoding, read in the browser: written from docs/wire-format.md (§1 the
// rules, §2 the types). Every reader takes a `Reader` and returns a plain object; integers of
// 64 bits and more are BigInts, ids and hashes `Uint8Array`s. A value whose bytes something
// hashes keeps them as `bytes`. Anything that breaks a rule throws an `Error` that says what.

export class Reader {
  constructor(bytes) {
    this.bytes = bytes;
    this.at = 0;
  }

  take(count, what) {
    if (this.at + count > this.bytes.length) {
      throw new Error(`${what}: the input ends after ${this.bytes.length} bytes`);
    }
    const slice = this.bytes.subarray(this.at, this.at + count);
    this.at += count;
    return slice;
  }

  u8(what) {
    return this.take(1, what)[0];
  }

  u32(what) {
    const b = this.take(4, what);
    return (b[0] | (b[1] << 8) | (b[2] << 16)) + b[3] * 0x1000000;
  }

  uint(width, what) {
    const b = this.take(width, what);
    let value = 0n;
    for (let i = width - 1; i >= 0; i--) value = (value << 8n) | BigInt(b[i]);
    return value;
  }

  u64(what) {
    return this.uint(8, what);
  }

  u128(what) {
    return this.uint(16, what);
  }

  fixed(count, what) {
    return this.take(count, what).slice();
  }

  // A list: a u32 count, checked against its bound before anything is read.
  list(max, what, item) {
    const count = this.u32(what);
    if (count > max) throw new Error(`${what}: ${count} entries, more than ${max}`);
    const items = [];
    for (let i = 0; i < count; i++) items.push(item(this));
    return items;
  }

  byteString(max, what) {
    const length = this.u32(what);
    if (length > max) throw new Error(`${what}: ${length} bytes, more than ${max}`);
    return this.fixed(length, what);
  }

  option(what, item) {
    const tag = this.u8(what);
    if (tag === 0) return null;
    if (tag === 1) return item(this);
    throw new Error(`${what}: option tag ${tag}`);
  }

  variant(what, variants) {
    const index = this.u8(what);
    if (index >= variants.length) throw new Error(`${what}: unknown variant ${index}`);
    const [name, read] = variants[index];
    return { kind: name, ...(read ? read(this) : {}) };
  }

  // Reads a value with `read` and keeps the bytes it took.
  framed(read) {
    const start = this.at;
    const value = read(this);
    value.bytes = this.bytes.subarray(start, this.at);
    return value;
  }
}

// Decodes `bytes` (a Uint8Array) as one whole value: trailing bytes are refused.
export function decode(what, read, bytes) {
  const r = new Reader(bytes);
  const value = read(r);
  if (r.at !== bytes.length) {
    throw new Error(`${what}: ${bytes.length - r.at} bytes left over`);
  }
  return value;
}

export const VALIDATORS_MAX = 64;
const TICK_PATH_MAX = 32;
const TREE_DEPTH_MAX = 256;
const BLOCK_TXS_MAX = 4096;
const MEMO_BYTES_MAX = 256;
const SYMBOL_BYTES_MAX = 12;
const ALLOWLIST_MAX = 16;
const ANCHOR_ENTRIES_MAX = 16384;
const SET_CHANGES_MAX = 16;
const BONDS_PER_HEAD_MAX = 128;
const PROOF_BYTES_MAX = 16384;
const META_BYTES_MAX = 4096;
const HOST_ADDRESSES_MAX = 4;
const HOST_ADDRESS_BYTES_MAX = 200;
const BATCH_TABLE_MAX = 65536;
const BATCH_HEADS_MAX = 16384;
const SET_HISTORY_MAX = 16;

const id = (what) => (r) => r.fixed(32, what);
export const hash = id('hash');
const signature = (r) => r.fixed(64, 'signature');
const height = (r) => r.u64('height');
const amount = (r) => r.u128('amount');

const validator = (r) => ({ host: r.fixed(32, 'validator'), power: r.u64('power') });

export const validatorList = (r) => r.list(VALIDATORS_MAX, 'validators', validator);

// A validator set: non-empty, every power above 0, hosts strictly ascending, total within u64.
export function validatorSet(r) {
  return r.framed((r) => {
    const validators = validatorList(r);
    if (validators.length === 0) throw new Error('validator set is empty');
    let total = 0n;
    validators.forEach((v, i) => {
      if (v.power === 0n) throw new Error('validator set holds a validator of power 0');
      if (i > 0 && compareBytes(validators[i - 1].host, v.host) >= 0) {
        throw new Error('validator set is not sorted by host id');
      }
      total += v.power;
    });
    if (total >= 1n << 64n) throw new Error('validator set: total power past u64');
    return { validators, total };
  });
}

export function compareBytes(a, b) {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i] !== b[i]) return a[i] - b[i];
  }
  return a.length - b.length;
}

function symbol(r) {
  const bytes = r.byteString(SYMBOL_BYTES_MAX, 'symbol');
  if (bytes.length === 0 || !bytes.every((c) => (c >= 65 && c <= 90) || (c >= 48 && c <= 57))) {
    throw new Error('symbol: 1-12 of A-Z and 0-9');
  }
  return String.fromCharCode(...bytes);
}

const chainParams = (r) => ({
  precision_ms: r.u64('precision_ms'),
  msg_delay_ms: r.u64('msg_delay_ms'),
  lock_min_ms: r.u64('lock_min_ms'),
  lock_max_ms: r.u64('lock_max_ms'),
});

const chainKind = (r) =>
  r.variant('chain kind', [
    ['Personal'],
    [
      'Root',
      (r) => ({
        host_bond_min: amount(r),
        host_lease_ms: r.u64('host_lease_ms'),
        unbond_ms: r.u64('unbond_ms'),
        anchor_interval_ms: r.u64('anchor_interval_ms'),
      }),
    ],
  ]);

export const genesis = (r) =>
  r.framed((r) => ({
    owner: r.fixed(32, 'owner'),
    symbol: symbol(r),
    decimals: r.u8('decimals'),
    max_supply: r.option('max_supply', amount),
    validators: validatorList(r),
    created_at_ms: r.u64('created_at_ms'),
    salt: r.u64('salt'),
    params: chainParams(r),
    kind: chainKind(r),
  }));

export const signedGenesis = (r) => ({ genesis: genesis(r), signature: signature(r) });

export const header = (r) =>
  r.framed((r) => ({
    chain_id: id('chain id')(r),
    height: height(r),
    prev_hash: hash(r),
    timestamp_ms: r.u64('timestamp_ms'),
    proposer: id('proposer')(r),
    tx_root: hash(r),
    state_root: hash(r),
    validators_hash: hash(r),
  }));

export const vote = (r) =>
  r.framed((r) => ({
    chain_id: id('chain id')(r),
    height: height(r),
    round: r.u32('round'),
    step: r.variant('vote step', [['Prevote'], ['Precommit']]).kind,
    block_hash: r.option('block hash', hash),
  }));

const tickSignature = (r) => ({
  index: r.u32('tick index'),
  path: r.list(TICK_PATH_MAX, 'tick path', hash),
  signature: signature(r),
});

const signedVote = (r) => ({ vote: vote(r), voter: id('voter')(r), signature: tickSignature(r) });

export const certificate = (r) => ({
  chain_id: id('chain id')(r),
  height: height(r),
  round: r.u32('round'),
  block_hash: hash(r),
  signatures: r.list(VALIDATORS_MAX, 'certificate signatures', (r) => ({
    host: id('signer')(r),
    signature: tickSignature(r),
  })),
});

const memo = (r) => r.byteString(MEMO_BYTES_MAX, 'memo');

const validatorBond = (r) => ({
  host: id('host')(r),
  amount: amount(r),
  released: amount(r),
  start_ms: r.u64('start_ms'),
  vesting_ms: r.u64('vesting_ms'),
});

const setChange = (r) => ({
  header: header(r),
  certificate: certificate(r),
  meta: r.byteString(META_BYTES_MAX, 'set change meta'),
  accounts_root: hash(r),
  objects_root: hash(r),
});

const changes = (r) => r.list(SET_CHANGES_MAX, 'set changes', setChange);

const anchorEntry = (r) =>
  r.variant('anchor entry', [
    ['Genesis', (r) => signedGenesis(r)],
    [
      'Head',
      (r) => ({
        changes: changes(r),
        header: header(r),
        certificate: certificate(r),
        bonds: r.list(BONDS_PER_HEAD_MAX, 'bond proofs', (r) => ({
          host: id('host')(r),
          bond: r.option('bond', validatorBond),
          proof: r.byteString(PROOF_BYTES_MAX, 'bond proof'),
        })),
      }),
    ],
    [
      'Heads',
      (r) => ({
        sets: r.list(BATCH_TABLE_MAX, 'batch sets', hash),
        hosts: r.list(BATCH_TABLE_MAX, 'batch hosts', id('host')),
        ticks: r.list(BATCH_TABLE_MAX, 'batch ticks', (r) => ({
          signer: r.u32('tick signer'),
          depth: r.u8('tick depth'),
          siblings: r.list(BATCH_TABLE_MAX, 'tick siblings', hash),
          signature: signature(r),
        })),
        heads: r.list(BATCH_HEADS_MAX, 'batch heads', (r) => ({
          chain_id: id('chain id')(r),
          height: height(r),
          prev_hash: hash(r),
          timestamp_ms: r.u64('timestamp_ms'),
          proposer: r.u32('proposer'),
          tx_root: hash(r),
          state_root: hash(r),
          validators: r.u32('validators'),
          round: r.u32('round'),
          signatures: r.list(VALIDATORS_MAX, 'batch signatures', (r) => ({
            tick: r.u32('tick'),
            index: r.u32('index'),
          })),
        })),
      }),
    ],
    [
      'Fork',
      (r) => ({
        from: height(r),
        changes: changes(r),
        header: header(r),
        certificate: certificate(r),
      }),
    ],
  ]);

const announcement = (r) => ({
  p2p: r.list(HOST_ADDRESSES_MAX, 'p2p addresses', (r) =>
    text(r.byteString(HOST_ADDRESS_BYTES_MAX, 'p2p address')),
  ),
  api_url: text(r.byteString(HOST_ADDRESS_BYTES_MAX, 'api url')),
});

const text = (bytes) => new TextDecoder().decode(bytes);

const address = id('address');

// The transaction kinds, by index (the table of §2, Transactions).
const txKinds = [
  ['Mint', (r) => ({ to: address(r), amount: amount(r) })],
  ['Transfer', (r) => ({ to: address(r), amount: amount(r), memo: memo(r) })],
  ['Burn', (r) => ({ amount: amount(r) })],
  ['SetValidators', (r) => ({ validators: validatorList(r) })],
  ['TransferOwnership', (r) => ({ new_owner: address(r) })],
  [
    'Lock',
    (r) => ({
      to: address(r),
      amount: amount(r),
      hash_lock: hash(r),
      expires_at_ms: r.u64('expires_at_ms'),
      memo: memo(r),
    }),
  ],
  ['Claim', (r) => ({ escrow: id('escrow')(r), secret: r.fixed(32, 'secret') })],
  ['Refund', (r) => ({ escrow: id('escrow')(r) })],
  [
    'SetAllowlist',
    (r) => ({ addresses: r.list(ALLOWLIST_MAX, 'allowlist', address), delay_ms: r.u64('delay_ms') }),
  ],
  [
    'OpenChannel',
    (r) => ({ payee: address(r), amount: amount(r), expires_at_ms: r.u64('expires_at_ms') }),
  ],
  ['TopUpChannel', (r) => ({ channel: id('channel')(r), amount: amount(r) })],
  [
    'CloseChannel',
    (r) => ({
      channel: id('channel')(r),
      voucher: {
        chain_id: id('chain id')(r),
        channel: id('channel')(r),
        cumulative: amount(r),
        signature: signature(r),
      },
    }),
  ],
  ['RefundChannel', (r) => ({ channel: id('channel')(r) })],
  [
    'BondValidator',
    (r) => ({ host: id('host')(r), amount: amount(r), vesting_ms: r.u64('vesting_ms') }),
  ],
  ['ReleaseBond', (r) => ({ host: id('host')(r) })],
  ['RegisterHost', (r) => ({ announcement: announcement(r), bond: amount(r) })],
  ['WithdrawBond'],
  ['Anchor', (r) => ({ entries: r.list(ANCHOR_ENTRIES_MAX, 'anchor entries', anchorEntry) })],
  ['SubmitEvidence', (r) => ({ first: signedVote(r), second: signedVote(r) })],
];

export const transaction = (r) =>
  r.framed((r) => ({
    chain_id: id('chain id')(r),
    sender: address(r),
    nonce: r.u64('nonce'),
    kind: r.variant('transaction kind', txKinds),
  }));

export const signedTransaction = (r) => ({ tx: transaction(r), signature: signature(r) });

export const block = (r) => ({
  header: header(r),
  txs: r.list(BLOCK_TXS_MAX, 'block transactions', signedTransaction),
});

export const account = (r) =>
  r.framed((r) => ({ balance: r.u128('balance'), nonce: r.u64('nonce') }));

const terminal = (r) =>
  r.variant('terminal', [['Included'], ['Empty'], ['Other', (r) => ({ key: hash(r), value: hash(r) })]]);

export const stateProof = (r) => ({
  meta_hash: hash(r),
  other_root: hash(r),
  siblings: r.list(TREE_DEPTH_MAX, 'proof siblings', hash),
  terminal: terminal(r),
});

export const chainMeta = (r) =>
  r.framed((r) => ({
    chain_id: id('chain id')(r),
    height: height(r),
    owner: address(r),
    symbol: symbol(r),
    decimals: r.u8('decimals'),
    max_supply: r.option('max_supply', amount),
    supply: amount(r),
    minted: amount(r),
    burned: amount(r),
    validators: validatorSet(r),
    next_validators: r.option('next validators', validatorSet),
    time_ms: r.u64('time_ms'),
    params: chainParams(r),
    kind: chainKind(r),
  }));

export const chainAnchor = (r) => ({
  chain_id: id('chain id')(r),
  owner: address(r),
  symbol: symbol(r),
  validators_hash: hash(r),
  validators_from: height(r),
  height: height(r),
  block_hash: hash(r),
  state_root: hash(r),
  anchored_at_ms: r.u64('anchored_at_ms'),
  forked_at: r.option('forked_at', height),
});

export const anchorProof = (r) => ({
  anchor: r.framed(chainAnchor),
  path: stateProof(r),
  root_header: header(r),
  root_certificate: certificate(r),
});

// The objects a chain holds (§2, Objects), for object proofs: the explorer shows escrows and
// channels.
const escrowState = (r) =>
  r.variant('escrow state', [
    ['Open'],
    ['Claimed', (r) => ({ secret: r.fixed(32, 'secret'), at_ms: r.u64('at_ms') })],
    ['Refunded', (r) => ({ at_ms: r.u64('at_ms') })],
  ]);

const channelState = (r) =>
  r.variant('channel state', [
    ['Open'],
    ['Closed', (r) => ({ paid: amount(r), at_ms: r.u64('at_ms') })],
    ['Refunded', (r) => ({ at_ms: r.u64('at_ms') })],
  ]);

const pendingAllowlist = (r) => ({
  addresses: r.list(ALLOWLIST_MAX, 'allowlist', address),
  delay_ms: r.u64('delay_ms'),
  effective_at_ms: r.u64('effective_at_ms'),
});

const hostEntry = (r) => ({
  host: id('host')(r),
  announcement: announcement(r),
  bond: amount(r),
  registered_at_ms: r.u64('registered_at_ms'),
  expires_at_ms: r.u64('expires_at_ms'),
  slashed: amount(r),
  evidence: r.u32('evidence'),
  last_evidence: r.option('last evidence', hash),
});

export const object = (r) =>
  r.framed((r) =>
    r.variant('object', [
      [
        'Escrow',
        (r) => ({
          id: id('escrow')(r),
          locker: address(r),
          to: address(r),
          amount: amount(r),
          hash_lock: hash(r),
          expires_at_ms: r.u64('expires_at_ms'),
          memo: memo(r),
          state: escrowState(r),
        }),
      ],
      [
        'Channel',
        (r) => ({
          id: id('channel')(r),
          payer: address(r),
          payee: address(r),
          amount: amount(r),
          expires_at_ms: r.u64('expires_at_ms'),
          state: channelState(r),
        }),
      ],
      [
        'Allowlist',
        (r) => ({
          owner: address(r),
          addresses: r.list(ALLOWLIST_MAX, 'allowlist', address),
          delay_ms: r.u64('delay_ms'),
          pending: r.option('pending allowlist', pendingAllowlist),
        }),
      ],
      ['ValidatorBond', validatorBond],
      ['Host', hostEntry],
      ['Anchor', chainAnchor],
      ['KnownSet', (r) => ({ validators: validatorSet(r), chains: r.u64('chains') })],
      [
        'Evidence',
        (r) => ({
          id: hash(r),
          host: id('host')(r),
          chain_id: id('chain id')(r),
          height: height(r),
          at_ms: r.u64('at_ms'),
        }),
      ],
      [
        'OwnerBond',
        (r) => ({
          host: id('host')(r),
          chain_id: id('chain id')(r),
          held: amount(r),
          vested_at_ms: r.u64('vested_at_ms'),
          height: height(r),
        }),
      ],
      [
        'SetHistory',
        (r) => ({
          chain_id: id('chain id')(r),
          sets: r.list(SET_HISTORY_MAX, 'set history', (r) => ({
            validators_hash: hash(r),
            from: height(r),
            replaced_at: height(r),
            replaced_by: hash(r),
            replaced_at_ms: r.u64('replaced_at_ms'),
          })),
        }),
      ],
    ]),
  );

// The object keys (§2, Objects): a variant byte and a 32-byte id.
export const OBJECT_KEYS = [
  'Escrow',
  'Channel',
  'Allowlist',
  'ValidatorBond',
  'Host',
  'Anchor',
  'KnownSet',
  'Evidence',
  'OwnerBond',
  'SetHistory',
];

export function objectKeyBytes(kind, idBytes) {
  const index = OBJECT_KEYS.indexOf(kind);
  if (index < 0) throw new Error(`no object key ${kind}`);
  const bytes = new Uint8Array(33);
  bytes[0] = index;
  bytes.set(idBytes, 1);
  return bytes;
}

// The encodings the checks build themselves: an unsigned integer of `width` bytes.
export function uintBytes(width, value) {
  const bytes = new Uint8Array(width);
  let v = BigInt(value);
  for (let i = 0; i < width; i++) {
    bytes[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return bytes;
}

export const u64Bytes = (value) => uintBytes(8, value);

export function u32Bytes(value) {
  return Uint8Array.of(value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, value >>> 24);
}

export function concat(...parts) {
  const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    bytes.set(part, at);
    at += part.length;
  }
  return bytes;
}

export function hex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export function fromHex(text) {
  if (typeof text !== 'string' || text.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(text)) {
    throw new Error('not hex');
  }
  const bytes = new Uint8Array(text.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(text.substr(i * 2, 2), 16);
  return bytes;
}

export function equalBytes(a, b) {
  return a.length === b.length && compareBytes(a, b) === 0;
}

// Bech32m (BIP 350) ids: `chain1…`, `acct1…`, `host1…`, `escrow1…`, `chan1…` (§5).
const CHARSET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';
const BECH32M = 0x2bc830a3;

function polymod(values) {
  const generators = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];
  let chk = 1;
  for (const v of values) {
    const top = chk >>> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ v;
    for (let i = 0; i < 5; i++) if ((top >>> i) & 1) chk ^= generators[i];
  }
  return chk >>> 0;
}

const expandPrefix = (prefix) => [
  ...Array.from(prefix, (c) => c.charCodeAt(0) >> 5),
  0,
  ...Array.from(prefix, (c) => c.charCodeAt(0) & 31),
];

function regroup(data, from, to, pad) {
  let acc = 0;
  let bits = 0;
  const out = [];
  for (const value of data) {
    acc = (acc << from) | value;
    bits += from;
    while (bits >= to) {
      bits -= to;
      out.push((acc >>> bits) & ((1 << to) - 1));
    }
  }
  if (pad && bits > 0) out.push((acc << (to - bits)) & ((1 << to) - 1));
  if (!pad && (bits >= from || ((acc << (to - bits)) & ((1 << to) - 1)) !== 0)) {
    throw new Error('bad padding');
  }
  return out;
}

export function bech32m(prefix, bytes) {
  const data = regroup(bytes, 8, 5, true);
  const check = polymod([...expandPrefix(prefix), ...data, 0, 0, 0, 0, 0, 0]) ^ BECH32M;
  const checksum = [0, 1, 2, 3, 4, 5].map((i) => (check >>> (5 * (5 - i))) & 31);
  return prefix + '1' + [...data, ...checksum].map((v) => CHARSET[v]).join('');
}

// The 32 bytes of a `prefix1…` id; throws what is wrong with it.
export function fromBech32m(prefix, text) {
  const lower = text.toLowerCase();
  if (text !== lower && text !== text.toUpperCase()) {
    throw new Error(`"${text}" is not a valid ${prefix} id: mixed case`);
  }
  const split = lower.lastIndexOf('1');
  if (split < 1 || lower.slice(0, split) !== prefix) {
    throw new Error(`"${text}" is not a valid ${prefix} id: wrong prefix`);
  }
  const values = Array.from(lower.slice(split + 1), (c) => CHARSET.indexOf(c));
  if (values.length < 6 || values.includes(-1)) {
    throw new Error(`"${text}" is not a valid ${prefix} id: bad characters`);
  }
  if (polymod([...expandPrefix(prefix), ...values]) !== BECH32M) {
    throw new Error(`"${text}" is not a valid ${prefix} id: bad checksum`);
  }
  const bytes = Uint8Array.from(regroup(values.slice(0, -6), 5, 8, false));
  if (bytes.length !== 32) throw new Error(`"${text}" is not a valid ${prefix} id: not 32 bytes`);
  return bytes;
}
