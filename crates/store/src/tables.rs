//! The store's tables held in memory, keyed as on disk and holding the same encoded bytes:
//! the whole of a [`MemStore`](crate::MemStore), and the layers of batches a
//! [`RedbStore`](crate::RedbStore) has journaled but not yet written into its file.

use std::collections::{BTreeMap, BTreeSet};

use crate::{AccountTxKey, ChainKey, IdChainKey, WriteBatch};

/// Where a height falls in a chain's validator history: the last set recorded at or below
/// it, as (its first height, its hash), and the first height of the next one, if any.
pub(crate) type ValidatorsAround = (Option<(u64, [u8; 32])>, Option<u64>);

/// A chain's entries of one kind (accounts, objects) by (chain, key). An entry that was
/// removed is kept as `None`: in a layer above the file, that is what removes its row below.
pub(crate) type Entries = BTreeMap<(ChainKey, [u8; 32]), Option<Vec<u8>>>;

/// Each table by key.
#[derive(Debug, Default)]
pub(crate) struct Tables {
    pub geneses: BTreeMap<ChainKey, Vec<u8>>,
    pub heads: BTreeMap<ChainKey, Vec<u8>>,
    pub accounts: Entries,
    pub objects: Entries,
    pub blocks: BTreeMap<(ChainKey, u64), Vec<u8>>,
    pub signers: BTreeMap<ChainKey, Vec<u8>>,
    pub txs: BTreeMap<[u8; 32], (ChainKey, u64)>,
    pub account_txs: BTreeMap<AccountTxKey, [u8; 32]>,
    /// (an account, escrow or channel id, a chain a transaction concerned it on).
    pub id_chains: BTreeSet<IdChainKey>,
    pub set_changes: BTreeMap<(ChainKey, u64), Vec<u8>>,
    /// (chain, the first height of a validator set) → the set's hash.
    pub validators: BTreeMap<(ChainKey, u64), [u8; 32]>,
    /// A validator set's hash → the set.
    pub validator_sets: BTreeMap<[u8; 32], Vec<u8>>,
    /// About how many bytes the tables hold, keys and values, counting every write.
    bytes: usize,
}

/// What a row costs in memory beyond its value: its key, and the map's own node.
const ROW_OVERHEAD: usize = 96;

impl Tables {
    /// Applies every change of `batch`, a later write of a key replacing an earlier one.
    pub fn apply(&mut self, batch: WriteBatch) {
        self.bytes += batch.rows() * ROW_OVERHEAD + batch.value_bytes();
        for (chain, bytes) in batch.geneses {
            self.geneses.insert(chain.0, bytes);
        }
        for (chain, bytes) in batch.heads {
            self.heads.insert(chain.0, bytes);
        }
        for ((chain, address), bytes) in batch.accounts {
            self.accounts.insert((chain.0, address.0), bytes);
        }
        for ((chain, key), bytes) in batch.objects {
            self.objects.insert((chain.0, key.0), bytes);
        }
        for ((chain, height), bytes) in batch.blocks {
            self.blocks.insert((chain.0, height.0), bytes);
        }
        for (tx, (chain, height)) in batch.txs {
            self.txs.insert(tx.0, (chain.0, height.0));
        }
        for ((chain, address, height, position), tx) in batch.account_txs {
            self.account_txs
                .insert((chain.0, address.0, height.0, position), tx.0);
        }
        for (id, chain) in batch.id_chains {
            self.id_chains.insert((id, chain.0));
        }
        for (chain, bytes) in batch.signers {
            self.signers.insert(chain.0, bytes);
        }
        for ((chain, height), bytes) in batch.set_changes {
            self.set_changes.insert((chain.0, height.0), bytes);
        }
        for ((chain, from), set) in batch.validators {
            self.validators.insert((chain.0, from.0), set.0);
        }
        for (set, bytes) in batch.validator_sets {
            self.validator_sets.insert(set.0, bytes);
        }
    }

    /// The last validator set of `chain` recorded at or below `height`, as (its first
    /// height, its hash), and the first height of the next one recorded, if any.
    pub fn validators_around(&self, chain: &ChainKey, height: u64) -> ValidatorsAround {
        let at = self
            .validators
            .range((*chain, 0)..=(*chain, height))
            .next_back()
            .map(|((_, from), set)| (*from, *set));
        let next = height.checked_add(1).and_then(|after| {
            self.validators
                .range((*chain, after)..=(*chain, u64::MAX))
                .next()
                .map(|((_, from), _)| *from)
        });
        (at, next)
    }

    /// About how many bytes the tables hold (an upper bound: a key written twice counts
    /// twice).
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}
