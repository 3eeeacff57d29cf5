// The checks the explorer makes of what a host shows, written from docs/wire-format.md (§3
// what is signed, §4 hashes): a chain's genesis against its id, a block's certificate against
// a validator set, an account or object against a state root, and a chain's anchor against
// the root committee. Each check throws an `Error` saying what did not hold.

import { blake3 } from './vendor/noble-hashes/blake3.js';
import { sha512 } from './vendor/noble-hashes/sha2.js';
import * as ed25519 from './vendor/noble-ed25519/index.js';
import {
  compareBytes,
  concat,
  decode,
  equalBytes,
  hex,
  objectKeyBytes,
  u32Bytes,
  u64Bytes,
  uintBytes,
  signedGenesis,
} from './wire.js';

ed25519.hashes.sha512 = sha512;

const ascii = (text) => Uint8Array.from(text, (c) => c.charCodeAt(0));
// The 16-byte domain tags of §3, zero-padded.
const tag16 = (text) => concat(ascii(text), new Uint8Array(16 - text.length));
const TAGS = {
  genesis: tag16('myriad/genesis/1'),
  tx: tag16('myriad/tx/1'),
  vote: tag16('myriad/vote/1'),
  tick: tag16('myriad/tick/1'),
};

export const digest = (...parts) => blake3(concat(...parts));
const ZERO = new Uint8Array(32);
const node = (left, right) => digest(Uint8Array.of(1), left, right);
const leafOf = (key, value) => digest(Uint8Array.of(0), key, value);

export const chainIdOf = (genesisBytes) => digest(TAGS.genesis, genesisBytes);
export const blockHash = (headerBytes) => digest(ascii('myriad/block/1'), headerBytes);
export const validatorsHash = (setBytes) => digest(ascii('myriad/validators/1'), setBytes);
export const metaHash = (metaBytes) => digest(ascii('myriad/chain-meta/1'), metaBytes);
export const txId = (txBytes) => digest(TAGS.tx, txBytes);
export const stateRoot = (accountsRoot, objectsRoot, meta) =>
  digest(ascii('myriad/state/2'), accountsRoot, objectsRoot, meta);

// The Merkle root of a block's transaction ids: pairs hashed level by level, an odd last node
// carried up, the zero hash for none.
export function txRoot(ids) {
  if (ids.length === 0) return ZERO;
  let level = ids;
  while (level.length > 1) {
    const next = [];
    for (let i = 0; i < level.length; i += 2) {
      next.push(i + 1 < level.length ? node(level[i], level[i + 1]) : level[i]);
    }
    level = next;
  }
  return level[0];
}

// A chain's signed genesis: it must hash to the chain's id and carry its owner's signature.
export function checkGenesis(chainId, signedBytes) {
  const signed = decode('genesis', signedGenesis, signedBytes);
  const id = chainIdOf(signed.genesis.bytes);
  if (!equalBytes(id, chainId)) {
    throw new Error(`the genesis hashes to ${hex(id)}, not to the chain's id`);
  }
  const message = concat(TAGS.genesis, id, signed.genesis.bytes);
  if (!ed25519.verify(signed.signature, message, signed.genesis.owner)) {
    throw new Error("the owner's signature of the genesis does not verify");
  }
  return signed.genesis;
}

// The encoding of the set a validator list makes: sorted by host id.
export function setBytes(validators) {
  const sorted = [...validators].sort((a, b) => compareBytes(a.host, b.host));
  return concat(u32Bytes(sorted.length), ...sorted.flatMap((v) => [v.host, u64Bytes(v.power)]));
}

// The state root of a chain's height 0: no accounts, no objects, and the metadata its
// genesis makes (§2, `ChainMeta`).
export function genesisStateRoot(genesis, chainId) {
  const kind = genesis.kind;
  const meta = concat(
    chainId,
    u64Bytes(0),
    genesis.owner,
    u32Bytes(genesis.symbol.length),
    ascii(genesis.symbol),
    Uint8Array.of(genesis.decimals),
    genesis.max_supply === null ? Uint8Array.of(0) : concat(Uint8Array.of(1), uintBytes(16, genesis.max_supply)),
    uintBytes(16, 0),
    uintBytes(16, 0),
    uintBytes(16, 0),
    setBytes(genesis.validators),
    Uint8Array.of(0),
    u64Bytes(genesis.created_at_ms),
    ...['precision_ms', 'msg_delay_ms', 'lock_min_ms', 'lock_max_ms'].map((f) => u64Bytes(genesis.params[f])),
    kind.kind === 'Root'
      ? concat(
          Uint8Array.of(1),
          uintBytes(16, kind.host_bond_min),
          ...['host_lease_ms', 'unbond_ms', 'anchor_interval_ms'].map((f) => u64Bytes(kind[f])),
        )
      : Uint8Array.of(0),
  );
  return stateRoot(ZERO, ZERO, metaHash(meta));
}

// The encoding of the precommit every signature of a certificate covers.
function precommitBytes(certificate) {
  return concat(
    certificate.chain_id,
    u64Bytes(certificate.height),
    u32Bytes(certificate.round),
    Uint8Array.of(1, 1),
    certificate.block_hash,
  );
}

// The root of the tick a signature's path leads to from `leaf`; null when the index reaches
// past the path.
function tickRoot(leaf, { index, path }) {
  if (path.length < 32 && index >>> path.length !== 0) return null;
  let hash = leaf;
  path.forEach((sibling, level) => {
    hash = (index >>> level) & 1 ? node(sibling, hash) : node(hash, sibling);
  });
  return hash;
}

// A certificate of `header`: for its block, every signer a distinct member of `set` with a
// valid signature, together more than 2/3 of the set's power. Returns the power that signed.
export function checkCertificate(certificate, header, set) {
  const block = blockHash(header.bytes);
  if (
    !equalBytes(certificate.chain_id, header.chain_id) ||
    certificate.height !== header.height ||
    !equalBytes(certificate.block_hash, block)
  ) {
    throw new Error(`the certificate is not for block ${hex(block)}`);
  }
  if (!equalBytes(validatorsHash(set.bytes), header.validators_hash)) {
    throw new Error(
      `the block names validator set ${hex(header.validators_hash)}, not the set given (${hex(validatorsHash(set.bytes))})`,
    );
  }
  const leaf = digest(
    Uint8Array.of(0),
    TAGS.vote,
    certificate.chain_id,
    precommitBytes(certificate),
  );
  const seen = new Set();
  let power = 0n;
  for (const { host, signature } of certificate.signatures) {
    const member = set.validators.find((v) => equalBytes(v.host, host));
    if (!member) throw new Error(`signer ${hex(host)} is not in the validator set`);
    if (seen.has(hex(host))) throw new Error(`signer ${hex(host)} appears twice`);
    seen.add(hex(host));
    const root = tickRoot(leaf, signature);
    if (!root || !ed25519.verify(signature.signature, concat(TAGS.tick, root), host)) {
      throw new Error(`the signature of ${hex(host)} does not verify`);
    }
    power += member.power;
  }
  if (power * 3n <= set.total * 2n) {
    throw new Error(`the signers hold ${power} of ${set.total} voting power, not more than 2/3`);
  }
  return power;
}

// A block: its transactions make the header's tx_root.
export function checkBlockBody(block) {
  const ids = block.txs.map((signed) => txId(signed.tx.bytes));
  const root = txRoot(ids);
  if (!equalBytes(root, block.header.tx_root)) {
    throw new Error(`the transactions hash to ${hex(root)}, not the header's tx_root`);
  }
  return ids;
}

// Bit `depth` of `key`, most significant bit of byte 0 first.
const bit = (key, depth) => (key[depth >> 3] >> (7 - (depth & 7))) & 1;

// The root of the tree a proof's path leads to for `key` holding `value` (null: nothing).
function treeRoot(proof, key, value) {
  const { siblings, terminal } = proof;
  let hash;
  if (terminal.kind === 'Included' && value) {
    hash = leafOf(key, value);
  } else if (terminal.kind === 'Empty' && !value) {
    hash = ZERO;
  } else if (
    terminal.kind === 'Other' &&
    !value &&
    !equalBytes(terminal.key, key) &&
    siblings.every((_, depth) => bit(terminal.key, depth) === bit(key, depth))
  ) {
    hash = leafOf(terminal.key, terminal.value);
  } else {
    throw new Error(`the proof ends in ${terminal.kind}, which does not fit what is claimed`);
  }
  for (let depth = siblings.length - 1; depth >= 0; depth--) {
    hash = bit(key, depth) ? node(siblings[depth], hash) : node(hash, siblings[depth]);
  }
  return hash;
}

// An account (balance and nonce) of `address` in the state whose root is `root`.
export function checkAccount(root, address, account, proof) {
  const empty = account.balance === 0n && account.nonce === 0n;
  const value = empty ? null : blake3(account.bytes);
  const accounts = treeRoot(proof, blake3(address), value);
  const got = stateRoot(accounts, proof.other_root, proof.meta_hash);
  if (!equalBytes(got, root)) {
    throw new Error(`the account's proof leads to state root ${hex(got)}, not ${hex(root)}`);
  }
}

// An object (null: none) under key `kind`(`id`) in the state whose root is `root`.
export function checkObject(root, kind, id, object, proof) {
  const key = digest(ascii('myriad/object/1'), objectKeyBytes(kind, id));
  const value = object ? blake3(object.bytes) : null;
  const objects = treeRoot(proof, key, value);
  const got = stateRoot(proof.other_root, objects, proof.meta_hash);
  if (!equalBytes(got, root)) {
    throw new Error(`the object's proof leads to state root ${hex(got)}, not ${hex(root)}`);
  }
}

// A chain's anchor on the root: a root block of the root chain `root`, certified by its
// committee `committee` (the set its genesis names), whose state holds the anchor of `chain`.
export function checkAnchorProof(root, committee, chain, proof) {
  const header = proof.root_header;
  if (!equalBytes(header.chain_id, root)) throw new Error('the anchor is in a block of another chain than the root');
  checkCertificate(proof.root_certificate, header, committee);
  if (!equalBytes(proof.anchor.chain_id, chain)) throw new Error('the anchor is of another chain');
  const anchorObject = concat(Uint8Array.of(5), proof.anchor.bytes);
  checkObject(header.state_root, 'Anchor', chain, { bytes: anchorObject }, proof.path);
}
