//! One chain's pending transactions, bounded by count and bytes (per chain here, per host
//! by the caller's totals).

use std::collections::{BTreeMap, HashMap};

use myriad_ledger::ChainState;
use myriad_types::{encode, Address, Hash, SignedTransaction};

/// Why a transaction is not admitted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdmitError {
    #[error("transaction {0} is already pending")]
    Duplicate(Hash),
    #[error("nonce {got} is already used: the sender's next nonce is {next}")]
    StaleNonce { got: u64, next: u64 },
    #[error("nonce {nonce} is already taken by pending transaction {pending}: use the next one")]
    NoncePending { nonce: u64, pending: Hash },
    #[error("busy: {0} is full, retry later")]
    Busy(&'static str),
}

#[derive(Debug)]
struct Pending {
    tx: SignedTransaction,
    bytes: usize,
    admitted_ms: u64,
}

#[derive(Debug, Default)]
pub struct Mempool {
    /// By hash: the candidates for a block come in the same order in every run.
    txs: BTreeMap<Hash, Pending>,
    /// The pending transaction holding each (sender, nonce).
    nonces: HashMap<(Address, u64), Hash>,
    bytes: usize,
}

/// How full mempools may get: one chain's, and the host's in total.
#[derive(Debug, Clone, Copy)]
pub struct Room {
    pub chain_txs: usize,
    pub chain_bytes: usize,
    pub host_txs_left: usize,
    pub host_bytes_left: usize,
}

impl Mempool {
    pub fn is_empty(&self) -> bool {
        self.txs.is_empty()
    }

    pub fn contains(&self, hash: &Hash) -> bool {
        self.txs.contains_key(hash)
    }

    /// Admits a transaction whose stateless checks passed. Returns its size in bytes.
    pub fn admit(
        &mut self,
        tx: SignedTransaction,
        state: &ChainState,
        room: Room,
        now_ms: u64,
    ) -> Result<usize, AdmitError> {
        let hash = tx.hash();
        if self.txs.contains_key(&hash) {
            return Err(AdmitError::Duplicate(hash));
        }
        let slot = (tx.tx.sender, tx.tx.nonce);
        if let Some(pending) = self.nonces.get(&slot) {
            return Err(AdmitError::NoncePending {
                nonce: tx.tx.nonce,
                pending: *pending,
            });
        }
        let next = state.account(&tx.tx.sender).nonce.saturating_add(1);
        if tx.tx.nonce < next {
            return Err(AdmitError::StaleNonce {
                got: tx.tx.nonce,
                next,
            });
        }
        let bytes = encode(&tx).len();
        if self.txs.len() >= room.chain_txs || self.bytes + bytes > room.chain_bytes {
            return Err(AdmitError::Busy("this chain's mempool"));
        }
        if room.host_txs_left == 0 || bytes > room.host_bytes_left {
            return Err(AdmitError::Busy("this host's mempool"));
        }
        self.bytes += bytes;
        self.nonces.insert(slot, hash);
        self.txs.insert(
            hash,
            Pending {
                tx,
                bytes,
                admitted_ms: now_ms,
            },
        );
        Ok(bytes)
    }

    /// The candidates for the next block.
    pub fn candidates(&self) -> Vec<SignedTransaction> {
        self.txs.values().map(|p| p.tx.clone()).collect()
    }

    /// Removes what `keep` refuses; returns the removed transactions with their sizes.
    pub fn retain(
        &mut self,
        mut keep: impl FnMut(&SignedTransaction, u64) -> bool,
    ) -> Vec<(SignedTransaction, usize)> {
        let mut removed = Vec::new();
        self.txs.retain(|_, pending| {
            let kept = keep(&pending.tx, pending.admitted_ms);
            if !kept {
                removed.push((pending.tx.clone(), pending.bytes));
            }
            kept
        });
        self.bytes -= removed.iter().map(|(_, bytes)| bytes).sum::<usize>();
        for (tx, _) in &removed {
            self.nonces.remove(&(tx.tx.sender, tx.tx.nonce));
        }
        removed
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use myriad_testing::{genesis, key};

    use super::*;

    fn room() -> Room {
        Room {
            chain_txs: 16,
            chain_bytes: 1 << 20,
            host_txs_left: 16,
            host_bytes_left: 1 << 20,
        }
    }

    #[test]
    fn a_pending_nonce_is_taken_until_its_transaction_leaves() {
        let owner = key(1);
        let genesis = genesis(&owner, &[(key(2).host_id(), 1)], 0);
        let state = ChainState::from_genesis(&genesis).unwrap();
        let transfer = |nonce: u64, amount: u128| {
            myriad_testing::transfer(state.chain_id(), &owner, nonce, &owner, amount)
        };
        let mut pool = Mempool::default();
        let first = transfer(1, 5);
        pool.admit(first.clone(), &state, room(), 0).unwrap();
        assert_eq!(
            pool.admit(first.clone(), &state, room(), 0),
            Err(AdmitError::Duplicate(first.hash()))
        );
        // Another transaction with the same nonce is refused, naming the one pending.
        assert_eq!(
            pool.admit(transfer(1, 6), &state, room(), 0),
            Err(AdmitError::NoncePending {
                nonce: 1,
                pending: first.hash()
            })
        );
        pool.admit(transfer(2, 6), &state, room(), 0).unwrap();
        // Once the first leaves the pool, its nonce is free again.
        let removed = pool.retain(|tx, _| tx.tx.nonce != 1);
        assert_eq!(removed.len(), 1);
        pool.admit(transfer(1, 6), &state, room(), 0).unwrap();
        assert_eq!(pool.candidates().len(), 2);
    }
}
