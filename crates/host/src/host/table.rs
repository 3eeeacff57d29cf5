//! The chain table: the hosted chains the host holds in memory, loaded from the store on
//! demand and unloaded when idle, with the validator sets they share.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Weak};

use myriad_consensus::{Input, Instance, SignerGuard};
use myriad_ledger::{BlockOutcome, ChainState};
use myriad_store::{HostStore, SignerRecord, StoreError};
use myriad_types::{ChainId, Hash, Height, HostId, LockProof, SignerState, ValidatorSet};

use super::FixedMap;
use crate::mempool::Mempool;

/// One chain as the host holds it in memory.
#[derive(Debug)]
pub(super) struct Slot {
    pub(super) state: ChainState,
    pub(super) head_hash: Hash,
    pub(super) instance: Option<Instance>,
    pub(super) guard: SignerGuard,
    pub(super) lock_proof: Option<LockProof>,
    pub(super) mempool: Mempool,
    /// Proposals and votes for heights above the instance's, with their senders.
    pub(super) future: VecDeque<(HostId, Height, Input)>,
    /// What the blocks checked at the current height give, by block hash.
    pub(super) checked: HashMap<Hash, BlockOutcome>,
}

impl Slot {
    /// A chain as stored: its state after block `head_hash`, and what its signer guard and
    /// lock last recorded.
    pub(super) fn new(
        state: ChainState,
        head_hash: Hash,
        signer: Option<SignerState>,
        lock_proof: Option<LockProof>,
    ) -> Slot {
        Slot {
            state,
            head_hash,
            instance: None,
            guard: SignerGuard::recover(signer),
            lock_proof,
            mempool: Mempool::default(),
            future: VecDeque::new(),
            checked: HashMap::new(),
        }
    }

    fn is_idle(&self) -> bool {
        self.instance.is_none() && self.mempool.is_empty() && self.future.is_empty()
    }

    /// The hosts this chain's messages go to: its validators now and next, but this one.
    pub(super) fn peers(&self, me: &HostId) -> Vec<HostId> {
        let mut peers = self.state.validator_hosts();
        peers.retain(|h| h != me);
        peers
    }
}

/// The shared copy of `set`: validator sets are interned by hash, so chains with the same
/// validators hold one copy between them.
fn intern(
    sets: &mut HashMap<Hash, Weak<ValidatorSet>>,
    set: &Arc<ValidatorSet>,
) -> Arc<ValidatorSet> {
    let hash = set.hash();
    if let Some(shared) = sets.get(&hash).and_then(Weak::upgrade) {
        return shared;
    }
    sets.insert(hash, Arc::downgrade(set));
    set.clone()
}

/// Every chain loaded in memory, and how many the host holds in all.
#[derive(Debug)]
pub(super) struct ChainTable {
    chains: FixedMap<ChainId, Slot>,
    /// One shared copy of each validator set, by hash.
    sets: HashMap<Hash, Weak<ValidatorSet>>,
    /// How many chains may stay loaded before idle ones are unloaded.
    hot_chains: usize,
    /// The chains hosted, loaded or not.
    hosted: u64,
    /// A chain never unloaded: the root, whose state the host reads every anchor interval
    /// and which is the costliest to load.
    pinned: Option<ChainId>,
}

impl ChainTable {
    pub(super) fn new(hot_chains: usize, hosted: u64, pinned: Option<ChainId>) -> ChainTable {
        ChainTable {
            chains: FixedMap::default(),
            sets: HashMap::new(),
            hot_chains,
            hosted,
            pinned,
        }
    }

    /// How many chains are loaded.
    pub(super) fn len(&self) -> usize {
        self.chains.len()
    }

    /// How many chains are hosted, loaded or not.
    pub(super) fn hosted(&self) -> u64 {
        self.hosted
    }

    pub(super) fn get(&self, chain: &ChainId) -> Option<&Slot> {
        self.chains.get(chain)
    }

    pub(super) fn get_mut(&mut self, chain: &ChainId) -> Option<&mut Slot> {
        self.chains.get_mut(chain)
    }

    /// The loaded chains, in the table's order (the same in every run).
    pub(super) fn slots(&self) -> impl Iterator<Item = &Slot> {
        self.chains.values()
    }

    /// The loaded chains with their ids, in the table's order (the same in every run).
    pub(super) fn iter_mut(&mut self) -> impl Iterator<Item = (&ChainId, &mut Slot)> {
        self.chains.iter_mut()
    }

    /// Makes `state` hold the shared copies of its validator sets.
    pub(super) fn share_validators(&mut self, state: &mut ChainState) {
        state.share_validators(|set| intern(&mut self.sets, set));
    }

    /// Starts holding a chain the host did not host before.
    pub(super) fn add(&mut self, chain: ChainId, slot: Slot) {
        self.chains.insert(chain, slot);
        self.hosted += 1;
    }

    /// Loads a chain from the store if it is not in memory. `false` if it is not hosted
    /// (or its stored state is unreadable, which is logged and leaves other chains alone).
    pub(super) fn load<S: HostStore>(&mut self, store: &S, chain: &ChainId) -> bool {
        if self.chains.contains_key(chain) {
            return true;
        }
        let loaded = (|| -> Result<Option<Slot>, StoreError> {
            let Some(mut state) = store.chain_state(chain)? else {
                return Ok(None);
            };
            let head = store.chain_head(chain)?;
            let SignerRecord {
                state: signer,
                lock_proof,
            } = store.signer_record(chain)?;
            state.share_validators(|set| intern(&mut self.sets, set));
            let head_hash = head.map(|h| h.block_hash).unwrap_or(Hash::ZERO);
            Ok(Some(Slot::new(state, head_hash, signer, lock_proof)))
        })();
        match loaded {
            Ok(Some(slot)) => {
                self.chains.insert(*chain, slot);
                true
            }
            Ok(None) => false,
            Err(error) => {
                tracing::error!(%chain, %error, "cannot load chain");
                false
            }
        }
    }

    /// Unloads idle chains while more than the configured number are in memory.
    pub(super) fn evict(&mut self) {
        let hot = self.hot_chains;
        if self.chains.len() <= hot {
            return;
        }
        let target = hot - hot / 10;
        let idle: Vec<ChainId> = self
            .chains
            .iter()
            .filter(|(chain, slot)| slot.is_idle() && Some(**chain) != self.pinned)
            .map(|(chain, _)| *chain)
            .take(self.chains.len().saturating_sub(target))
            .collect();
        for chain in idle {
            self.chains.remove(&chain);
        }
        self.sets.retain(|_, set| set.strong_count() > 0);
    }
}
