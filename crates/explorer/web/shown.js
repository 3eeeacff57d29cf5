// A host's answers carry JSON fields beside the bytes that are proven (a block, an object, a
// chain's metadata). The explorer shows the JSON; these build the same fields from the proven
// bytes, as the API does (crates/api), so that a check can require the two to agree: a host
// that shows one thing and proves another fails the check.

import * as wire from './wire.js';
import { digest } from './verify.js';

const KIND_NAMES = {
  Mint: 'mint',
  Transfer: 'transfer',
  Burn: 'burn',
  SetValidators: 'set-validators',
  TransferOwnership: 'transfer-ownership',
  Lock: 'lock',
  Claim: 'claim',
  Refund: 'refund',
  SetAllowlist: 'set-allowlist',
  OpenChannel: 'open-channel',
  TopUpChannel: 'top-up-channel',
  CloseChannel: 'close-channel',
  RefundChannel: 'refund-channel',
  BondValidator: 'bond-validator',
  ReleaseBond: 'release-bond',
  RegisterHost: 'register-host',
  WithdrawBond: 'withdraw-bond',
  Anchor: 'anchor',
  SubmitEvidence: 'submit-evidence',
};

const ascii = (text) => Uint8Array.from(text, (c) => c.charCodeAt(0));
const derived = (tag, tx) => digest(ascii(tag), tx.chain_id, tx.sender, wire.u64Bytes(tx.nonce));

// The escrow or channel a transaction opens or acts on, or the other object it names.
function objectOf(tx) {
  const { kind } = tx;
  const host = (id) => wire.bech32m('host', id);
  switch (kind.kind) {
    case 'Lock':
      return wire.bech32m('escrow', derived('myriad/escrow/1', tx));
    case 'Claim':
    case 'Refund':
      return wire.bech32m('escrow', kind.escrow);
    case 'OpenChannel':
      return wire.bech32m('chan', derived('myriad/channel/1', tx));
    case 'TopUpChannel':
    case 'CloseChannel':
    case 'RefundChannel':
      return wire.bech32m('chan', kind.channel);
    case 'SetAllowlist':
      return `allowlist of ${wire.bech32m('acct', tx.sender)}`;
    case 'BondValidator':
    case 'ReleaseBond':
      return `validator bond of ${host(kind.host)}`;
    case 'RegisterHost':
    case 'WithdrawBond':
      return `directory entry of ${host(tx.sender)}`;
    default:
      return null;
  }
}

function recipientOf({ kind }) {
  switch (kind.kind) {
    case 'Mint':
    case 'Transfer':
    case 'Lock':
      return wire.bech32m('acct', kind.to);
    case 'OpenChannel':
      return wire.bech32m('acct', kind.payee);
    case 'TransferOwnership':
      return wire.bech32m('acct', kind.new_owner);
    case 'BondValidator':
      return wire.bech32m('acct', kind.host);
    default:
      return null;
  }
}

function amountOf({ kind }) {
  if (kind.kind === 'RegisterHost') return String(kind.bond);
  return 'amount' in kind ? String(kind.amount) : null;
}

// A transaction's fields as the API shows them (`TxInfo`), from its bytes and its id.
export function txFields(signed, id) {
  return {
    hash: wire.hex(id),
    sender: wire.bech32m('acct', signed.tx.sender),
    nonce: Number(signed.tx.nonce),
    kind: KIND_NAMES[signed.tx.kind.kind],
    to: recipientOf(signed.tx),
    amount: amountOf(signed.tx),
    object: objectOf(signed.tx),
  };
}

// A block's fields as the API shows them (`BlockInfo`), from its bytes and certificate.
export function blockFields(block, certificate, ids, hash) {
  const h = block.header;
  return {
    chain_id: wire.bech32m('chain', h.chain_id),
    height: Number(h.height),
    hash: wire.hex(hash),
    prev_hash: wire.hex(h.prev_hash),
    timestamp_ms: Number(h.timestamp_ms),
    proposer: wire.bech32m('host', h.proposer),
    state_root: wire.hex(h.state_root),
    txs: block.txs.map((signed, i) => txFields(signed, ids[i])),
    round: certificate.round,
    signers: certificate.signatures.map((s) => wire.bech32m('host', s.host)),
  };
}

// An escrow's or channel's fields as the API shows them (`EscrowInfo`, `ChannelInfo`).
export function objectFields(object) {
  const state = object.state;
  if (object.kind === 'Escrow') {
    return {
      id: wire.bech32m('escrow', object.id),
      locker: wire.bech32m('acct', object.locker),
      to: wire.bech32m('acct', object.to),
      amount: String(object.amount),
      hash_lock: wire.hex(object.hash_lock),
      expires_at_ms: Number(object.expires_at_ms),
      memo: wire.hex(object.memo),
      state: state.kind.toLowerCase(),
      secret: state.kind === 'Claimed' ? wire.hex(state.secret) : null,
      closed_at_ms: state.kind === 'Open' ? null : Number(state.at_ms),
    };
  }
  return {
    id: wire.bech32m('chan', object.id),
    payer: wire.bech32m('acct', object.payer),
    payee: wire.bech32m('acct', object.payee),
    amount: String(object.amount),
    expires_at_ms: Number(object.expires_at_ms),
    state: state.kind.toLowerCase(),
    paid: state.kind === 'Closed' ? String(state.paid) : null,
    closed_at_ms: state.kind === 'Open' ? null : Number(state.at_ms),
  };
}

const validatorFields = (validators) =>
  validators.map((v) => ({ host: wire.bech32m('host', v.host), power: Number(v.power) }));

// A genesis's fields as the API shows them (`GenesisInfo`).
export function genesisFields(genesis) {
  return {
    owner: wire.bech32m('acct', genesis.owner),
    symbol: genesis.symbol,
    decimals: genesis.decimals,
    max_supply: genesis.max_supply === null ? null : String(genesis.max_supply),
    validators: validatorFields([...genesis.validators].sort((a, b) => wire.compareBytes(a.host, b.host))),
    created_at_ms: Number(genesis.created_at_ms),
  };
}

// A chain's fields as the API shows them (`ChainInfo`) that its metadata holds.
export function chainFields(meta) {
  const validators = (set) => validatorFields(set.validators);
  return {
    chain_id: wire.bech32m('chain', meta.chain_id),
    symbol: meta.symbol,
    decimals: meta.decimals,
    owner: wire.bech32m('acct', meta.owner),
    height: Number(meta.height),
    supply: String(meta.supply),
    max_supply: meta.max_supply === null ? null : String(meta.max_supply),
    minted: String(meta.minted),
    burned: String(meta.burned),
    validators: validators(meta.validators),
    next_validators: meta.next_validators && validators(meta.next_validators),
    time_ms: Number(meta.time_ms),
  };
}

// JSON with every object's keys in order, to compare values whatever order they came in.
const canonical = (value) =>
  JSON.stringify(value, (_, v) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );

// Throws unless every field of `expected` is what `shown` says (absent counts as null).
export function agree(what, shown, expected) {
  for (const [name, value] of Object.entries(expected)) {
    const got = shown[name] ?? null;
    if (canonical(got) !== canonical(value)) {
      throw new Error(`the host shows ${what} ${name} ${JSON.stringify(got)}, its proven bytes say ${JSON.stringify(value)}`);
    }
  }
}
