//! The clients: random mints, transfers and burns on random chains, validator changes by
//! the owners, re-sent until committed; and strangers' unfunded transfers, which no host may
//! admit.

use std::collections::BTreeSet;

use myriad_types::{
    Address, Amount, BoundedVec, ChainId, Hash, Memo, SecretKey, SignedTransaction, Transaction,
    TxKind, Validator,
};

use crate::rng::Rng;

const USERS: usize = 3;

/// The clients of one chain: its owner and a few users, with the balances they expect once
/// everything they sent has committed.
#[derive(Debug)]
pub struct Clients {
    owner: SecretKey,
    users: Vec<SecretKey>,
    nonces: Vec<u64>,
    balances: Vec<Amount>,
    /// Sent and not yet seen committed.
    pub pending: Vec<SignedTransaction>,
    committed: BTreeSet<Hash>,
}

impl Clients {
    pub fn new(owner: SecretKey, rng: &mut Rng) -> Clients {
        Clients {
            owner,
            users: (0..USERS)
                .map(|_| SecretKey::from_seed(rng.seed32()))
                .collect(),
            nonces: vec![0; USERS + 1],
            balances: vec![0; USERS],
            pending: Vec::new(),
            committed: BTreeSet::new(),
        }
    }

    /// A new transaction: a mint when the users are poor, else a transfer or a burn that
    /// the sender can afford once its earlier transactions have committed.
    pub fn next(&mut self, chain_id: ChainId, rng: &mut Rng) -> SignedTransaction {
        let from = rng.below(USERS as u64) as usize;
        let amount = rng.between(1, 50) as Amount;
        let (slot, kind) = if self.balances[from] < amount || rng.chance(0.2) {
            let to = rng.below(USERS as u64) as usize;
            let amount = rng.between(50, 500) as Amount;
            self.balances[to] += amount;
            let to = self.users[to].address();
            (USERS, TxKind::Mint { to, amount })
        } else if rng.chance(0.15) {
            self.balances[from] -= amount;
            (from, TxKind::Burn { amount })
        } else {
            let to = rng.below(USERS as u64) as usize;
            self.balances[from] -= amount;
            self.balances[to] += amount;
            let kind = TxKind::Transfer {
                to: self.users[to].address(),
                amount,
                memo: Memo::default(),
            };
            (from, kind)
        };
        self.sign(chain_id, slot, kind)
    }

    /// A transfer no host may admit: from a fresh key that holds nothing, of more than
    /// exists, with a nonce either next or far ahead. Not pending: it is never sent again.
    pub fn stranger(&self, chain_id: ChainId, rng: &mut Rng) -> SignedTransaction {
        let stranger = SecretKey::from_seed(rng.seed32());
        let nonce = if rng.chance(0.5) {
            1
        } else {
            1_000_000_000_000
        };
        let tx = Transaction {
            chain_id,
            sender: stranger.address(),
            nonce,
            kind: TxKind::Transfer {
                to: self.users[0].address(),
                amount: 1_000_000_000_000_000,
                memo: Memo::default(),
            },
        };
        SignedTransaction::sign(tx, &stranger)
    }

    /// The owner's change of the chain's validators.
    pub fn set_validators(
        &mut self,
        chain_id: ChainId,
        validators: Vec<Validator>,
    ) -> SignedTransaction {
        let validators = BoundedVec::new(validators).unwrap_or_default();
        self.sign(chain_id, USERS, TxKind::SetValidators { validators })
    }

    /// The owner's mint to a swap's trader, pending like the clients' own.
    pub fn fund(&mut self, chain_id: ChainId, to: Address, amount: Amount) -> SignedTransaction {
        self.sign(chain_id, USERS, TxKind::Mint { to, amount })
    }

    /// Signs the next transaction of one client (`USERS` is the owner), pending from now on.
    fn sign(&mut self, chain_id: ChainId, slot: usize, kind: TxKind) -> SignedTransaction {
        let signer = if slot == USERS {
            &self.owner
        } else {
            &self.users[slot]
        };
        self.nonces[slot] += 1;
        let tx = Transaction {
            chain_id,
            sender: signer.address(),
            nonce: self.nonces[slot],
            kind,
        };
        let signed = SignedTransaction::sign(tx, signer);
        self.pending.push(signed.clone());
        signed
    }

    pub fn committed(&mut self, hash: Hash) {
        if self.committed.insert(hash) {
            self.pending.retain(|tx| tx.hash() != hash);
        }
    }
}
