//! Swaps between chains in the workload: a maker locks on one chain, a taker locks on
//! another with the same hash lock and an earlier expiry, the maker claims with her secret
//! (or does not), the taker claims with the secret revealed (or does not), and whoever is
//! left with an open escrow refunds it once it has expired — claims and refunds racing the
//! expiries. Some makers come back to claim only once the taker's lock has expired: the
//! ledger must refuse them, or the secret comes out when the taker may have no time left to
//! use it. Each swap has its own two traders, funded by the chains' owners, so that a
//! claim or refund the ledger rejects (it lost a race) leaves no nonce gap behind for the
//! other clients. A trader has at most one transaction in flight.

use myriad_types::{
    Address, Amount, ChainId, EscrowId, Memo, SecretKey, SignedTransaction, TxKind,
};

use crate::rng::Rng;

/// A swap's step, and what its trader sends for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The maker's lock on the maker's chain.
    Lock,
    /// The taker's lock on the taker's chain.
    CounterLock,
    /// The maker's claim of the taker's escrow, revealing the secret.
    MakerClaim,
    /// The taker's claim of the maker's escrow, with the revealed secret.
    TakerClaim,
    MakerRefund,
    TakerRefund,
}

/// A transaction of a swap, sent and not yet seen committed or rejected.
#[derive(Debug, Clone)]
pub struct InFlight {
    pub step: Step,
    pub chain: ChainId,
    pub tx: SignedTransaction,
}

/// One swap and where it stands.
#[derive(Debug)]
pub struct Swap {
    pub maker_chain: ChainId,
    pub taker_chain: ChainId,
    pub maker: SecretKey,
    pub taker: SecretKey,
    secret: myriad_types::Secret,
    pub give: Amount,
    pub get: Amount,
    /// Whether each party finishes its part; one that does not leaves it to a refund.
    maker_claims: bool,
    taker_claims: bool,
    /// Whether the maker claims only once the taker's lock has expired.
    maker_late: bool,
    pub maker_expiry: u64,
    pub taker_expiry: u64,
    /// The nonce of each trader's last committed transaction, on its own chain.
    maker_nonce: u64,
    taker_nonce: u64,
    /// The escrows, once their locks committed.
    pub maker_escrow: Option<EscrowId>,
    pub taker_escrow: Option<EscrowId>,
    /// Steps done (committed) and given up (rejected: a race lost).
    pub done: Vec<Step>,
    pub given_up: Vec<Step>,
    pub in_flight: Option<InFlight>,
    /// The owners' mints that fund the traders, until committed.
    pub funding: Vec<myriad_types::Hash>,
}

impl Swap {
    /// A swap of `give` on `maker_chain` for `get` on `taker_chain`, its traders drawn from
    /// `rng`; the maker's lock lasts `lock_ms` from `now`.
    pub fn new(
        rng: &mut Rng,
        maker_chain: ChainId,
        taker_chain: ChainId,
        now: u64,
        lock_ms: u64,
    ) -> Swap {
        Swap {
            maker_chain,
            taker_chain,
            maker: SecretKey::from_seed(rng.seed32()),
            taker: SecretKey::from_seed(rng.seed32()),
            secret: myriad_types::Secret(rng.seed32()),
            give: rng.between(1, 100) as Amount,
            get: rng.between(1, 100) as Amount,
            maker_claims: rng.chance(0.8),
            taker_claims: rng.chance(0.8),
            maker_late: rng.chance(0.2),
            maker_expiry: now + lock_ms,
            taker_expiry: now + lock_ms / 2,
            maker_nonce: 0,
            taker_nonce: 0,
            maker_escrow: None,
            taker_escrow: None,
            done: Vec::new(),
            given_up: Vec::new(),
            in_flight: None,
            funding: Vec::new(),
        }
    }

    /// The traders' addresses, to fund: the maker on the maker's chain, the taker on the
    /// taker's.
    pub fn traders(&self) -> [(ChainId, Address, Amount); 2] {
        [
            (self.maker_chain, self.maker.address(), self.give),
            (self.taker_chain, self.taker.address(), self.get),
        ]
    }

    fn is(&self, step: Step) -> bool {
        self.done.contains(&step)
    }

    fn settled(&self, step: Step) -> bool {
        self.done.contains(&step) || self.given_up.contains(&step)
    }

    /// The next transaction to send at `now`, if any: the swap moves on only on committed
    /// steps, and each trader has one transaction in flight at most.
    pub fn next(&mut self, now: u64) -> Option<InFlight> {
        if self.in_flight.is_some() || !self.funding.is_empty() {
            return None;
        }
        let step = if !self.settled(Step::Lock) {
            Step::Lock
        } else if !self.is(Step::Lock) {
            return None;
        } else if !self.settled(Step::CounterLock) {
            Step::CounterLock
        } else if self.is(Step::CounterLock)
            && self.maker_claims
            && (!self.maker_late || now >= self.taker_expiry)
            && !self.settled(Step::MakerClaim)
            && !self.settled(Step::TakerRefund)
        {
            Step::MakerClaim
        } else if self.is(Step::MakerClaim)
            && self.taker_claims
            && !self.settled(Step::TakerClaim)
            && !self.settled(Step::MakerRefund)
        {
            Step::TakerClaim
        } else if self.is(Step::CounterLock)
            && !self.is(Step::MakerClaim)
            && !self.settled(Step::TakerRefund)
            && now >= self.taker_expiry
        {
            Step::TakerRefund
        } else if !self.is(Step::TakerClaim)
            && !self.settled(Step::MakerRefund)
            && now >= self.maker_expiry
        {
            Step::MakerRefund
        } else {
            return None;
        };
        let (chain, sender, kind) = match step {
            Step::Lock => (
                self.maker_chain,
                &self.maker,
                TxKind::Lock {
                    to: self.taker.address(),
                    amount: self.give,
                    hash_lock: self.secret.hash_lock(),
                    expires_at_ms: self.maker_expiry,
                    memo: Memo::default(),
                },
            ),
            Step::CounterLock => (
                self.taker_chain,
                &self.taker,
                TxKind::Lock {
                    to: self.maker.address(),
                    amount: self.get,
                    hash_lock: self.secret.hash_lock(),
                    expires_at_ms: self.taker_expiry,
                    memo: Memo::default(),
                },
            ),
            Step::MakerClaim => (
                self.taker_chain,
                &self.maker,
                TxKind::Claim {
                    escrow: self.taker_escrow?,
                    secret: self.secret,
                },
            ),
            Step::TakerClaim => (
                self.maker_chain,
                &self.taker,
                TxKind::Claim {
                    escrow: self.maker_escrow?,
                    secret: self.secret,
                },
            ),
            Step::MakerRefund => (
                self.maker_chain,
                &self.maker,
                TxKind::Refund {
                    escrow: self.maker_escrow?,
                },
            ),
            Step::TakerRefund => (
                self.taker_chain,
                &self.taker,
                TxKind::Refund {
                    escrow: self.taker_escrow?,
                },
            ),
        };
        let nonce = self.nonce_of(&sender.address(), chain) + 1;
        let tx = myriad_testing::tx(chain, sender, nonce, kind);
        let in_flight = InFlight { step, chain, tx };
        self.in_flight = Some(in_flight.clone());
        Some(in_flight)
    }

    /// The nonce of a trader's last committed transaction on `chain`.
    fn nonce_of(&self, trader: &Address, chain: ChainId) -> u64 {
        match (*trader == self.maker.address(), chain == self.maker_chain) {
            (true, true) | (false, false) => {
                if *trader == self.maker.address() {
                    self.maker_nonce
                } else {
                    self.taker_nonce
                }
            }
            // A trader's first transaction on the other chain: a claim.
            _ => 0,
        }
    }
}

impl Swap {
    /// Notes that `hash` was committed; returns whether it was this swap's transaction.
    pub fn committed(&mut self, hash: &myriad_types::Hash) -> bool {
        self.funding.retain(|funding| funding != hash);
        let Some(in_flight) = self.in_flight.take_if(|f| f.tx.hash() == *hash) else {
            return false;
        };
        let tx = &in_flight.tx.tx;
        match in_flight.step {
            Step::Lock => {
                self.maker_escrow = Some(EscrowId::derive(&tx.chain_id, &tx.sender, tx.nonce));
            }
            Step::CounterLock => {
                self.taker_escrow = Some(EscrowId::derive(&tx.chain_id, &tx.sender, tx.nonce));
            }
            _ => {}
        }
        if tx.chain_id == self.maker_chain && tx.sender == self.maker.address() {
            self.maker_nonce = tx.nonce;
        }
        if tx.chain_id == self.taker_chain && tx.sender == self.taker.address() {
            self.taker_nonce = tx.nonce;
        }
        self.done.push(in_flight.step);
        true
    }

    /// Notes that the ledger rejected `hash` (a race lost): its step is given up.
    pub fn rejected(&mut self, hash: &myriad_types::Hash) -> bool {
        let Some(in_flight) = self.in_flight.take_if(|f| f.tx.hash() == *hash) else {
            return false;
        };
        self.given_up.push(in_flight.step);
        true
    }
}
