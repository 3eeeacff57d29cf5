// What the explorer trusts, and how it gets from there to what a page shows. It trusts a
// chain's id (the genesis hashes to it) and the root chain's id (pinned: given by whoever
// serves the explorer apart from a host, or the first one this browser saw); everything
// else a host says is checked:
//   - a chain's blocks hang off one proven block: the block the root anchored (its anchor
//     proven against the root committee the root's genesis names), or else the genesis.
//     A block below it is proven by its hash, named as the parent of a proven block; a block
//     above it by naming a proven parent and by a certificate of the set in force: the
//     anchored set, or the genesis's, as changed by the last `SetValidators` of each block;
//   - an account or object is proven by its state proof against a proven block's state root
//     (or the genesis state's), at a height no older than the anchored one;
//   - a chain's head, by its metadata and roots making the state root of its proven block.
// A page shows the JSON a host answers; each check also requires that JSON to be what the
// proven bytes say (shown.js), so that a host cannot prove one thing and show another.

import * as wire from './wire.js';
import * as verify from './verify.js';
import { agree, blockFields, chainFields, genesisFields, objectFields } from './shown.js';

// How many blocks a proof follows from the block it hangs off, down or up; past that, a
// block is checked after the root's next anchor.
export const BLOCKS_FOLLOWED_MAX = 1000;
// Where the root chain this browser trusts is kept, once it has seen one.
const ROOT_PIN = 'myriad-root-chain';

export class Trust {
  // `root`: the root chain's id to trust, if pinned by who serves the explorer.
  constructor(api, root = null) {
    this.api = api;
    this.pinnedRoot = root;
    this.geneses = new Map();
    this.starts = new Map();
    this.answers = new Map();
    this.blocks = new Map();
    this.anchors = new Map();
    this.committee = null;
  }

  // The chain's genesis, checked against its id: `{ genesis, stateRoot }`.
  genesis(chain) {
    return once(this.geneses, chain, async () => {
      const info = await this.api.get(chain, `/chains/${chain}/genesis`);
      const id = wire.fromBech32m('chain', chain);
      const genesis = verify.checkGenesis(id, wire.fromHex(info.genesis));
      return { genesis, stateRoot: verify.genesisStateRoot(genesis, id) };
    });
  }

  // What a host shows of a chain's genesis (`GenesisInfo`), against the genesis proven.
  async genesisShown(chain, info) {
    const { genesis } = await this.genesis(chain);
    agree('genesis', info, genesisFields(genesis));
    return 'the genesis hashes to the chain id, signed by its owner';
  }

  // The block a chain's proofs hang off: the one the root anchored, or else the genesis.
  // `{ height, hash, set, how }`: `set` validates the block after it (the anchored block's
  // own set: a set chosen in it is read from the block itself).
  start(chain) {
    return once(this.starts, chain, async () => {
      const anchor = await this.anchor(chain).catch(() => null);
      if (anchor && anchor.forked_at !== null) {
        throw new Error(`the root holds evidence that the chain forked at height ${anchor.forked_at}`);
      }
      if (anchor && anchor.height > 0n) {
        const height = Number(anchor.height);
        const info = await this.api.get(chain, `/chains/${chain}/validators?height=${height}`);
        const set = wire.decode('validator set', wire.validatorSet, wire.fromHex(info.set));
        if (!wire.equalBytes(verify.validatorsHash(set.bytes), anchor.validators_hash)) {
          throw new Error('the host gives another validator set than the root anchored');
        }
        return { height, hash: anchor.block_hash, set, how: `the block the root anchored (${height})` };
      }
      const { genesis } = await this.genesis(chain);
      const set = wire.decode('validator set', wire.validatorSet, verify.setBytes(genesis.validators));
      const how = anchor ? 'the genesis (the root holds no block of it yet)' : 'the genesis (no anchor found)';
      return { height: 0, hash: new Uint8Array(32), set, how };
    });
  }

  // What a host answers for a block (`GET …/blocks/{height}`), asked once: the page shows
  // the same answer the check proves.
  blockAnswer(chain, height) {
    return once(this.answers, `${chain}/${height}`, () =>
      this.api.get(chain, `/chains/${chain}/blocks/${height}`),
    );
  }

  // A block, proven, with what the host shows of it:
  // `{ block, certificate, ids, answer, hash, next, how }`, `next` the set of the block
  // after it when known (at and above the start).
  block(chain, height) {
    height = Number(height);
    return once(this.blocks, `${chain}/${height}`, async () => {
      if (!Number.isSafeInteger(height) || height < 1) throw new Error(`no block ${height}`);
      const start = await this.start(chain);
      if (Math.abs(height - start.height) > BLOCKS_FOLLOWED_MAX) {
        throw new Error(
          `block ${height} is more than ${BLOCKS_FOLLOWED_MAX} blocks from ${start.how}; check it after the root's next anchor`,
        );
      }
      const answer = await this.blockAnswer(chain, height);
      const block = wire.decode('block', wire.block, wire.fromHex(answer.block_bytes));
      const certificate = wire.decode(
        'certificate',
        wire.certificate,
        wire.fromHex(answer.certificate_bytes),
      );
      if (block.header.height !== BigInt(height) || wire.bech32m('chain', block.header.chain_id) !== chain) {
        throw new Error(`the host answered another block than ${chain} ${height}`);
      }
      const ids = verify.checkBlockBody(block);
      const hash = verify.blockHash(block.header.bytes);
      const chosen = block.txs
        .map((signed) => signed.tx.kind)
        .filter((kind) => kind.kind === 'SetValidators')
        .pop();
      // Once the bytes are proven, what the host shows must be what they say.
      const proven = (set, how) => {
        agree('block', answer, blockFields(block, certificate, ids, hash));
        const next = chosen
          ? wire.decode('validator set', wire.validatorSet, verify.setBytes(chosen.validators))
          : set;
        return { block, certificate, ids, answer, hash, next, how };
      };
      if (height < start.height) {
        const child = await this.block(chain, height + 1);
        if (!wire.equalBytes(child.block.header.prev_hash, hash)) {
          throw new Error(`block ${height + 1} names another parent than this block`);
        }
        return proven(null, `the parent of proven block ${height + 1}, down from ${start.how}`);
      }
      if (height === start.height) {
        if (!wire.equalBytes(hash, start.hash)) {
          throw new Error(`the root anchored another block at height ${height}: ${wire.hex(start.hash)}`);
        }
        const power = verify.checkCertificate(certificate, block.header, start.set);
        return proven(start.set, `${start.how}, signed by ${power} of ${start.set.total} power`);
      }
      const parent = height - 1 === start.height && start.height === 0
        ? { hash: start.hash, next: start.set }
        : await this.block(chain, height - 1);
      if (!wire.equalBytes(block.header.prev_hash, parent.hash)) {
        throw new Error(`block ${height} does not name proven block ${height - 1} as its parent`);
      }
      const power = verify.checkCertificate(certificate, block.header, parent.next);
      return proven(
        parent.next,
        `signed by ${power} of ${parent.next.total} power, ${height - start.height} blocks up from ${start.how}`,
      );
    });
  }

  // The state root of `height`, proven: the genesis state's, or a proven block's. A height
  // older than the anchored block is refused: a host could show a state long gone.
  async stateRoot(chain, height) {
    if (!Number.isSafeInteger(height) || height < 0) {
      throw new Error(`the host shows no height of the chain (${height})`);
    }
    const start = await this.start(chain);
    if (height < start.height) {
      throw new Error(`the host shows height ${height}, older than ${start.how}`);
    }
    if (height === 0) {
      const { stateRoot } = await this.genesis(chain);
      return { root: stateRoot, how: 'the genesis' };
    }
    const { block, how } = await this.block(chain, height);
    return { root: block.header.state_root, how: `block ${height}, ${how}` };
  }

  // A chain's head as a host shows it (`GET /chains/{chain}`): its metadata and roots make
  // the state root of the proven block of its height, and the fields shown are the
  // metadata's.
  async chain(chain, info) {
    const meta = wire.decode('chain metadata', wire.chainMeta, wire.fromHex(info.meta));
    agree('chain', info, chainFields(meta));
    const root = verify.stateRoot(
      wire.fromHex(info.accounts_root),
      wire.fromHex(info.objects_root),
      verify.metaHash(meta.bytes),
    );
    const proven = await this.stateRoot(chain, info.height);
    if (!wire.equalBytes(root, proven.root) || wire.hex(root) !== info.state_root) {
      throw new Error(`the chain's metadata and roots do not make the state root of ${proven.how}`);
    }
    return `its supply and metadata are in the state of ${proven.how}`;
  }

  // An account as a host shows it (`GET …/accounts/{address}`), proven against the state
  // root of the height it is shown at.
  async account(chain, address, info) {
    const units = /^(0|[1-9][0-9]{0,38})$/;
    if (!units.test(info.balance) || BigInt(info.balance) >> 128n !== 0n) {
      throw new Error(`the host shows a balance that is not an amount: ${JSON.stringify(info.balance)}`);
    }
    if (!Number.isSafeInteger(info.nonce) || info.nonce < 0) {
      throw new Error(`the host shows a nonce that is not one: ${JSON.stringify(info.nonce)}`);
    }
    const { root, how } = await this.stateRoot(chain, info.height);
    const proof = wire.decode('state proof', wire.stateProof, wire.fromHex(info.proof));
    const account = wire.decode(
      'account',
      wire.account,
      wire.concat(wire.uintBytes(16, info.balance), wire.uintBytes(8, info.nonce)),
    );
    verify.checkAccount(root, wire.fromBech32m('acct', address), account, proof);
    return `proven at height ${info.height} by ${how}`;
  }

  // An escrow or channel as a host shows it, proven the same way.
  async object(chain, kind, id, info) {
    const { root, how } = await this.stateRoot(chain, info.height);
    const object = wire.decode('object', wire.object, wire.fromHex(info.object));
    if (object.kind !== kind) throw new Error(`the host proved a ${object.kind}, not a ${kind}`);
    const fields = objectFields(object);
    if (fields.id !== id) throw new Error(`the host proved another object than ${id}`);
    agree(kind.toLowerCase(), info[kind.toLowerCase()] || {}, fields);
    const proof = wire.decode('state proof', wire.stateProof, wire.fromHex(info.proof));
    verify.checkObject(root, kind, object.id, object, proof);
    return `proven at height ${info.height} by ${how}`;
  }

  // The root's anchor of the chain, proven, and the block the hosts show at its height the
  // one anchored (a proven block at the start is the anchored one).
  async anchorAgrees(chain) {
    const anchor = await this.anchor(chain);
    const when = `root block ${anchor.root_height}, ${new Date(anchor.root_time_ms).toISOString()}`;
    if (anchor.forked_at !== null) {
      throw new Error(`the root holds evidence that the chain forked at height ${anchor.forked_at} (${when})`);
    }
    if (anchor.height === 0n) return `the root holds its genesis, no block yet (${when})`;
    await this.block(chain, Number(anchor.height));
    return `the root anchored its block ${anchor.height} (${when})`;
  }

  // The root committee, as the root's genesis names it, of the root chain this explorer
  // trusts: pinned by who serves it, or else the first root this browser saw (kept).
  rootCommittee() {
    if (!this.committee) {
      this.committee = (async () => {
        const named = (await this.api.root()).chain_id;
        const store = globalThis.localStorage;
        const root = this.pinnedRoot || store?.getItem(ROOT_PIN) || named;
        if (named !== root) {
          throw new Error(`this host follows root chain ${named}; the explorer trusts root chain ${root}`);
        }
        const { genesis } = await this.genesis(root);
        if (genesis.kind.kind !== 'Root') throw new Error(`${root} is not a root chain`);
        if (!this.pinnedRoot) store?.setItem(ROOT_PIN, root);
        const set = wire.decode(
          'root committee',
          wire.validatorSet,
          verify.setBytes(genesis.validators),
        );
        return { root, set, pinned: this.pinnedRoot ? 'pinned by this explorer' : 'kept by this browser since it first saw it' };
      })();
      this.committee.catch(() => (this.committee = null));
    }
    return this.committee;
  }

  // The chain's anchor on the root, proven against the root committee.
  anchor(chain) {
    return once(this.anchors, chain, async () => {
      const { root, set } = await this.rootCommittee();
      const body = await this.api.get(root, `/root/anchors/${chain}`);
      const proof = wire.decode('anchor proof', wire.anchorProof, wire.fromHex(body.proof));
      verify.checkAnchorProof(
        wire.fromBech32m('chain', root),
        set,
        wire.fromBech32m('chain', chain),
        proof,
      );
      return {
        ...proof.anchor,
        root_height: Number(proof.root_header.height),
        root_time_ms: Number(proof.root_header.timestamp_ms),
      };
    });
  }
}

// Runs `work` once per key; a failure is not kept, so that a later look tries again.
function once(cache, key, work) {
  if (!cache.has(key)) {
    const promise = work();
    cache.set(key, promise);
    promise.catch(() => cache.delete(key));
  }
  return cache.get(key);
}

// Runs a check: `{ ok: true, what }` (what it showed) or `{ ok: false, what, why }`.
export async function check(what, work) {
  try {
    const detail = await work();
    return { ok: true, what: typeof detail === 'string' ? detail : what };
  } catch (error) {
    return { ok: false, what, why: error.message };
  }
}
