// What the explorer trusts, and how it gets from there to what a page shows. It trusts a
// chain's id (the genesis hashes to it) and the root chain's id; everything else a host
// says is checked:
//   - a validator set is proven when it is the genesis's, or the set the root anchored for
//     the chain, or the set a SetValidators transaction chose in a block certified by a
//     proven set;
//   - a block is proven when its certificate holds a quorum of the proven set its height
//     has, and its transactions make its tx_root;
//   - an account or object is proven by its state proof against a proven block's state root
//     (or the genesis state's);
//   - a chain's anchor is proven against the root committee its genesis names.
// A page shows the JSON a host answers; each check also requires that JSON to be what the
// proven bytes say (shown.js), so that a host cannot prove one thing and show another.

import * as wire from './wire.js';
import * as verify from './verify.js';
import { agree, blockFields, chainFields, genesisFields, objectFields } from './shown.js';

// Set changes followed back from a set to a proven one before giving up.
export const SET_CHANGES_FOLLOWED_MAX = 32;

export class Trust {
  constructor(api) {
    this.api = api;
    this.geneses = new Map();
    this.sets = new Map();
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

  // The validator set in force at `height`, proven; `depth` counts set changes followed.
  provenSet(chain, height, depth = 0) {
    return once(this.sets, `${chain}/${height}`, async () => {
      const info = await this.api.get(chain, `/chains/${chain}/validators?height=${height}`);
      const set = wire.decode('validator set', wire.validatorSet, wire.fromHex(info.set));
      const hash = verify.validatorsHash(set.bytes);
      if (info.from_height === 0) {
        const { genesis } = await this.genesis(chain);
        if (!wire.equalBytes(hash, verify.validatorsHash(verify.setBytes(genesis.validators)))) {
          throw new Error("the set given for the genesis's heights is not the genesis's");
        }
        return { set, how: 'the genesis names' };
      }
      const anchor = await this.anchor(chain).catch(() => null);
      if (
        anchor &&
        wire.equalBytes(anchor.validators_hash, hash) &&
        anchor.validators_from === BigInt(info.from_height)
      ) {
        return { set, how: 'the root anchored' };
      }
      if (depth >= SET_CHANGES_FOLLOWED_MAX) {
        throw new Error(`more than ${SET_CHANGES_FOLLOWED_MAX} set changes from a proven set`);
      }
      const changed = info.from_height - 1;
      const { block } = await this.block(chain, changed, depth + 1);
      const chosen = block.txs
        .map((signed) => signed.tx.kind)
        .filter((kind) => kind.kind === 'SetValidators')
        .pop();
      const chosenHash = chosen && verify.validatorsHash(verify.setBytes(chosen.validators));
      if (!chosenHash || !wire.equalBytes(chosenHash, hash)) {
        throw new Error(`block ${changed} did not choose the set given from height ${info.from_height}`);
      }
      return { set, how: `block ${changed} chose` };
    });
  }

  // What a host answers for a block (`GET …/blocks/{height}`), asked once: the page shows
  // the same answer the check proves.
  blockAnswer(chain, height) {
    return once(this.answers, `${chain}/${height}`, () =>
      this.api.get(chain, `/chains/${chain}/blocks/${height}`),
    );
  }

  // A block, proven, with what the host shows of it: `{ block, certificate, ids, answer, how }`.
  block(chain, height, depth = 0) {
    return once(this.blocks, `${chain}/${height}`, async () => {
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
      const { set, how } = await this.provenSet(chain, height, depth);
      const power = verify.checkCertificate(certificate, block.header, set);
      const ids = verify.checkBlockBody(block);
      const hash = verify.blockHash(block.header.bytes);
      agree('block', answer, blockFields(block, certificate, ids, hash));
      return {
        block,
        certificate,
        ids,
        answer,
        how: `signed by ${power} of ${set.total} power of the set ${how}`,
      };
    });
  }

  // The state root of `height`, proven: the genesis state's, or a proven block's.
  async stateRoot(chain, height) {
    if (Number(height) === 0) {
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
  // same.
  async anchorAgrees(chain) {
    const anchor = await this.anchor(chain);
    if (anchor.forked_at !== null) {
      throw new Error(`the root holds evidence that the chain forked at height ${anchor.forked_at}`);
    }
    if (anchor.height === 0n) return 'the root holds its genesis; no block anchored yet';
    const { block } = await this.block(chain, Number(anchor.height));
    const hash = verify.blockHash(block.header.bytes);
    if (!wire.equalBytes(hash, anchor.block_hash)) {
      throw new Error(
        `the root anchored block ${wire.hex(anchor.block_hash)} at height ${anchor.height}, the host shows ${wire.hex(hash)}`,
      );
    }
    return `the root anchored its block ${anchor.height}`;
  }

  // The root committee, as the root's genesis names it.
  rootCommittee() {
    if (!this.committee) {
      this.committee = (async () => {
        const root = await this.api.root();
        const { genesis } = await this.genesis(root.chain_id);
        if (genesis.kind.kind !== 'Root') throw new Error(`${root.chain_id} is not a root chain`);
        const set = wire.decode(
          'root committee',
          wire.validatorSet,
          verify.setBytes(genesis.validators),
        );
        return { root: root.chain_id, set };
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
      return proof.anchor;
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
