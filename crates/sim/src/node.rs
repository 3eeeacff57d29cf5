//! One simulated host: its chains, its durable store, and what waits for the end of its tick.

use std::collections::{BTreeMap, HashSet, VecDeque};

use myriad_consensus::{Approval, Instance, SignerGuard};
use myriad_ledger::{
    build_block, check_block, check_stateless, execute_block, BlockTemplate, ChainState,
};
use myriad_types::{
    encode, Block, Certificate, ChainId, Hash, Height, HostId, LockProof, Proposal, SecretKey,
    SignedGenesis, SignedTransaction, SignerState, ValidatorSet, Vote,
};

use crate::net::Msg;

/// The most transactions one chain's mempool holds.
pub const MEMPOOL_TXS_MAX: usize = 256;
/// The most messages for future heights one chain buffers.
pub const FUTURE_MSGS_MAX: usize = 64;
/// The most transactions a simulated proposer puts in one block.
pub const PROPOSAL_TXS_MAX: usize = 64;

/// Remembers which signed messages were found valid. Verification is a pure function, so
/// remembering its verdicts changes nothing but the simulator's speed: most of its time
/// would otherwise go to checking the same signature on every node, again and again.
#[derive(Debug, Default)]
pub struct Verified(HashSet<Hash>);

impl Verified {
    /// Whether `check` passes for the message identified by `parts`, checking it only once.
    pub fn check(&mut self, parts: &[&[u8]], check: impl FnOnce() -> bool) -> bool {
        let id = Hash::of_parts(parts);
        if self.0.contains(&id) {
            return true;
        }
        let valid = check();
        if valid {
            self.0.insert(id);
        }
        valid
    }

    /// A certificate's check against a validator set, done once.
    pub fn certificate(&mut self, certificate: &Certificate, validators: &ValidatorSet) -> bool {
        let bytes = encode(certificate);
        self.check(&[&bytes, &validators.hash().0], || {
            certificate.verify(validators).is_ok()
        })
    }

    /// The ledger's stateless checks of `tx` for `chain`, done once.
    pub fn transaction(&mut self, chain: &ChainId, tx: &SignedTransaction) -> bool {
        let hash = tx.hash();
        self.check(&[chain.as_bytes(), &hash.0, &tx.signature.0], || {
            check_stateless(chain, tx).is_ok()
        })
    }
}

/// What survives a crash: only what was synced.
#[derive(Debug, Clone, Default)]
pub struct Durable {
    /// Decided blocks per chain, in height order from height 1.
    pub blocks: BTreeMap<usize, Vec<(Block, Certificate)>>,
    pub signers: BTreeMap<usize, SignerState>,
    /// The proof of each chain's latest lock.
    pub lock_proofs: BTreeMap<usize, LockProof>,
}

/// Something to send once the tick's writes are durable.
#[derive(Debug)]
pub enum Out {
    Vote(usize, Approval<Vote>),
    Proposal(usize, Approval<Proposal>, Block),
    Raw(usize, Msg),
}

/// One chain as a node holds it.
#[derive(Debug)]
pub struct Slot {
    pub genesis: SignedGenesis,
    pub state: ChainState,
    pub head_hash: Hash,
    pub instance: Option<Instance>,
    pub guard: SignerGuard,
    pub mempool: Vec<SignedTransaction>,
    /// Messages for heights above the instance's, with their senders.
    pub future: VecDeque<(usize, Height, Msg)>,
    /// Post-states of blocks checked at the current height, by block hash.
    pub checked: BTreeMap<Hash, ChainState>,
}

impl Slot {
    pub fn new(genesis: SignedGenesis, state: ChainState, guard: SignerGuard) -> Slot {
        Slot {
            genesis,
            state,
            head_hash: Hash::ZERO,
            instance: None,
            guard,
            mempool: Vec::new(),
            future: VecDeque::new(),
            checked: BTreeMap::new(),
        }
    }

    /// The height consensus is working on.
    pub fn next_height(&self) -> Height {
        self.state.next_height()
    }

    /// Adds a transaction that passed the stateless checks, unless it is known, stale, or
    /// the mempool is full.
    pub fn admit(&mut self, tx: SignedTransaction, verified: &mut Verified) -> bool {
        let stale = tx.tx.nonce <= self.state.account(&tx.tx.sender).nonce;
        let known = self.mempool.iter().any(|t| t.hash() == tx.hash());
        if stale || known || self.mempool.len() >= MEMPOOL_TXS_MAX {
            return false;
        }
        if !verified.transaction(&self.state.chain_id(), &tx) {
            return false;
        }
        self.mempool.push(tx);
        true
    }

    /// Builds the next block from the mempool, as the ledger does.
    pub fn build(&mut self, proposer: HostId, now_ms: u64) -> Option<Block> {
        let template = BlockTemplate {
            prev_hash: self.head_hash,
            timestamp_ms: now_ms,
            proposer,
        };
        let (block, after) = build_block(&self.state, &self.mempool, template, PROPOSAL_TXS_MAX)?;
        self.checked.insert(block.hash(), after);
        Some(block)
    }

    /// Checks a proposed block: every transaction's signature (remembered), then the ledger's
    /// check that it extends this chain.
    pub fn check(&mut self, block: &Block, verified: &mut Verified) -> Result<(), String> {
        let hash = block.hash();
        if self.checked.contains_key(&hash) {
            return Ok(());
        }
        let chain_id = self.state.chain_id();
        if !block
            .txs
            .iter()
            .all(|tx| verified.transaction(&chain_id, tx))
        {
            return Err(format!(
                "block {hash} holds a transaction that fails its checks"
            ));
        }
        let after = check_block(&self.state, &self.head_hash, block).map_err(|e| e.to_string())?;
        self.checked.insert(hash, after);
        Ok(())
    }

    /// Moves the chain past a decided block, already checked.
    pub fn advance(&mut self, block: &Block) {
        let Some(post) = self.checked.remove(&block.hash()) else {
            return;
        };
        self.state = post;
        self.head_hash = block.hash();
        self.instance = None;
        self.checked.clear();
        let state = &self.state;
        self.mempool
            .retain(|tx| tx.tx.nonce > state.account(&tx.tx.sender).nonce);
    }
}

/// A simulated host process.
#[derive(Debug)]
pub struct Node {
    pub key: SecretKey,
    pub honest: bool,
    pub up: bool,
    /// Bumped at every crash, so timers set before it are ignored.
    pub epoch: u64,
    pub chains: BTreeMap<usize, Slot>,
    pub synced: Durable,
    pub pending: Durable,
    pub outbox: Vec<Out>,
    /// Blocks decided in this tick: acknowledged once synced.
    pub to_ack: Vec<(usize, Height, Hash)>,
    /// Every block this node acknowledged.
    pub acked: Vec<(usize, Height, Hash)>,
    pub tick_scheduled: bool,
}

impl Node {
    pub fn new(key: SecretKey, honest: bool) -> Node {
        Node {
            key,
            honest,
            up: true,
            epoch: 0,
            chains: BTreeMap::new(),
            synced: Durable::default(),
            pending: Durable::default(),
            outbox: Vec::new(),
            to_ack: Vec::new(),
            acked: Vec::new(),
            tick_scheduled: false,
        }
    }

    pub fn host(&self) -> HostId {
        self.key.host_id()
    }

    /// Makes this tick's writes durable: what a real host does with one fsync.
    pub fn sync(&mut self) {
        let pending = std::mem::take(&mut self.pending);
        for (chain, blocks) in pending.blocks {
            self.synced.blocks.entry(chain).or_default().extend(blocks);
        }
        self.synced.signers.extend(pending.signers);
        self.synced.lock_proofs.extend(pending.lock_proofs);
        self.acked.append(&mut self.to_ack);
    }

    /// Loses everything not synced.
    pub fn crash(&mut self) {
        self.up = false;
        self.epoch += 1;
        self.pending = Durable::default();
        self.outbox.clear();
        self.to_ack.clear();
        self.tick_scheduled = false;
        for slot in self.chains.values_mut() {
            slot.instance = None;
            slot.mempool.clear();
            slot.future.clear();
            slot.checked.clear();
        }
    }

    /// Rebuilds every chain from the synced store: genesis, blocks replayed, signer state.
    pub fn restart(&mut self, verified: &mut Verified) -> Result<(), String> {
        self.up = true;
        for (chain, slot) in &mut self.chains {
            let mut state = ChainState::from_genesis(&slot.genesis).map_err(|e| e.to_string())?;
            let mut head = Hash::ZERO;
            for (block, certificate) in self.synced.blocks.get(chain).into_iter().flatten() {
                if !verified.certificate(certificate, &state.meta().validators) {
                    return Err(format!(
                        "stored certificate of block {} does not verify",
                        block.hash()
                    ));
                }
                let (post, _, root) = execute_block(state, &block.txs);
                if root != block.header.state_root {
                    return Err(format!(
                        "replaying stored block {} gave another root",
                        block.hash()
                    ));
                }
                state = post;
                head = block.hash();
            }
            slot.state = state;
            slot.head_hash = head;
            slot.guard = SignerGuard::recover(self.synced.signers.get(chain).cloned());
        }
        Ok(())
    }
}
