//! What a client can learn of a transaction it submitted: pending or rejected, remembered
//! for the most recent ones; committed ones are found in the store's index.

use std::collections::{HashMap, VecDeque};

use myriad_types::{ChainId, Hash, Height};

/// How many pending or rejected transactions the host remembers.
pub const STATUSES_MAX: usize = 100_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxStatus {
    Pending { chain: ChainId },
    Committed { chain: ChainId, height: Height },
    Rejected { chain: ChainId, reason: String },
}

#[derive(Debug, Default)]
pub struct Statuses {
    map: HashMap<Hash, TxStatus>,
    order: VecDeque<Hash>,
}

impl Statuses {
    pub fn set(&mut self, hash: Hash, status: TxStatus) {
        if self.map.insert(hash, status).is_none() {
            self.order.push_back(hash);
        }
        while self.order.len() > STATUSES_MAX {
            if let Some(old) = self.order.pop_front() {
                self.map.remove(&old);
            }
        }
    }

    /// Forgets a transaction once it is committed (the store knows it from then on).
    pub fn forget(&mut self, hash: &Hash) {
        self.map.remove(hash);
    }

    pub fn get(&self, hash: &Hash) -> Option<&TxStatus> {
        self.map.get(hash)
    }
}
