//! One chain's pending transactions, bounded by count and bytes (per chain here, per host
//! by the caller's totals) and by sender.
//!
//! Myriad charges no fees, so admission is what keeps a mempool for those who can pay. A
//! transaction is admitted only if, against the chain's committed state and its sender's
//! transactions already pending here:
//! - its nonce is neither used nor held by a pending one, and at most [`NONCE_AHEAD_MAX`]
//!   past the sender's next. A nonce past the next (a gap) is held until the nonces before
//!   it arrive and commit, or until it expires;
//! - its sender holds fewer than [`SENDER_TXS_MAX`] pending transactions here;
//! - the ledger would accept it after the sender's pending transactions of lower nonces:
//!   they are applied in nonce order on a [`Scratch`] view of the state, then it, each as if
//!   its nonce came next (so a gap is taken to spend nothing, and a pending one that would
//!   fail is taken to change nothing). Pending ones of higher nonces do not count: a
//!   transaction that fills a gap comes first, as it will in a block, and those after it
//!   that it leaves unpaid are dropped when a block is built. A transfer or burn must be paid from what the pending ones leave; a
//!   mint, validator change or ownership transfer must come from the owner. What other
//!   senders' pending transactions would give the sender does not count until committed.
//!
//! Whether a proposed block is valid stays the ledger's rule alone (`check_block`): a
//! block may carry transactions this pool would not have admitted.

use std::collections::{BTreeMap, HashMap};

use myriad_ledger::{ChainState, Scratch, TxError};
use myriad_types::{encode, Account, Address, Amount, Hash, SignedTransaction};

/// How far past its sender's next nonce a transaction's nonce may be. Enough for a wallet
/// that sends a few transactions in a row, arriving in any order through different hosts;
/// a nonce further ahead could only wait (and hold a place) for transactions not yet sent.
pub const NONCE_AHEAD_MAX: u64 = 16;

/// The most transactions one sender holds pending in one chain's mempool: a funded sender
/// with a burst to send gets this many places, and the default pool of 1024 places is
/// shared by at least 64 senders. No larger than [`NONCE_AHEAD_MAX`], so a sender whose
/// nonces come in order meets this bound first, with the reason to wait for its commits.
pub const SENDER_TXS_MAX: usize = 16;

const _: () = assert!(SENDER_TXS_MAX as u64 <= NONCE_AHEAD_MAX);

/// Why a transaction is not admitted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdmitError {
    #[error("transaction {0} is already pending")]
    Duplicate(Hash),
    #[error("nonce {got} is already used: the sender's next nonce is {next}")]
    StaleNonce { got: u64, next: u64 },
    #[error("nonce {nonce} is already taken by pending transaction {pending}: use the next one")]
    NoncePending { nonce: u64, pending: Hash },
    #[error(
        "nonce {got} is too far ahead: the sender's next nonce is {next}, and a nonce may be \
         at most {NONCE_AHEAD_MAX} past it"
    )]
    NonceTooFar { got: u64, next: u64 },
    #[error(
        "sender {sender} already has {SENDER_TXS_MAX} transactions pending on this chain, the \
         most one sender may: wait for them to commit"
    )]
    SenderShareFull { sender: Address },
    #[error(
        "sender {sender} has no account on this chain (it holds nothing and has sent nothing): \
         it cannot {action} before it receives currency"
    )]
    UnknownSender {
        sender: Address,
        action: &'static str,
    },
    #[error(
        "insufficient balance: {sender} holds {balance}, its {pending} pending transactions \
         leave {available}, and this one needs {need}"
    )]
    InsufficientBalance {
        sender: Address,
        balance: Amount,
        pending: usize,
        available: Amount,
        need: Amount,
    },
    #[error("the ledger would reject it after its sender's pending transactions: {0}")]
    WouldFail(TxError),
    #[error("busy: {0} is full, retry later")]
    Busy(&'static str),
}

impl AdmitError {
    /// A short name of the reason, for metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            AdmitError::Duplicate(_) => "duplicate",
            AdmitError::StaleNonce { .. } => "stale_nonce",
            AdmitError::NoncePending { .. } => "nonce_pending",
            AdmitError::NonceTooFar { .. } => "nonce_too_far",
            AdmitError::SenderShareFull { .. } => "sender_share_full",
            AdmitError::UnknownSender { .. } => "unknown_sender",
            AdmitError::InsufficientBalance { .. } => "insufficient_balance",
            AdmitError::WouldFail(_) => "would_fail",
            AdmitError::Busy(_) => "busy",
        }
    }
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
    /// Each sender's pending transactions by nonce. Only looked up, never iterated whole.
    senders: HashMap<Address, BTreeMap<u64, Hash>>,
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
        self.check(&tx, state, now_ms)?;
        let bytes = encode(&tx).len();
        if self.txs.len() >= room.chain_txs || self.bytes + bytes > room.chain_bytes {
            return Err(AdmitError::Busy("this chain's mempool"));
        }
        if room.host_txs_left == 0 || bytes > room.host_bytes_left {
            return Err(AdmitError::Busy("this host's mempool"));
        }
        let hash = tx.hash();
        self.bytes += bytes;
        self.senders
            .entry(tx.tx.sender)
            .or_default()
            .insert(tx.tx.nonce, hash);
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

    /// Every check of admission but the room left: whether `tx` would be admitted at
    /// `now_ms` if there were room (see the module's documentation). Cheap enough to run
    /// before the transaction's signature is verified.
    pub fn check(
        &self,
        tx: &SignedTransaction,
        state: &ChainState,
        now_ms: u64,
    ) -> Result<(), AdmitError> {
        let hash = tx.hash();
        if self.txs.contains_key(&hash) {
            return Err(AdmitError::Duplicate(hash));
        }
        let (sender, nonce) = (tx.tx.sender, tx.tx.nonce);
        let pending = self.senders.get(&sender);
        if let Some(held) = pending.and_then(|p| p.get(&nonce)) {
            return Err(AdmitError::NoncePending {
                nonce,
                pending: *held,
            });
        }
        let next = state.account(&sender).nonce.saturating_add(1);
        if nonce < next {
            return Err(AdmitError::StaleNonce { got: nonce, next });
        }
        if nonce - next > NONCE_AHEAD_MAX {
            return Err(AdmitError::NonceTooFar { got: nonce, next });
        }
        if pending.map_or(0, BTreeMap::len) >= SENDER_TXS_MAX {
            return Err(AdmitError::SenderShareFull { sender });
        }
        let earlier: Vec<&SignedTransaction> = pending
            .into_iter()
            .flat_map(|p| p.range(..nonce).map(|(_, hash)| hash))
            .filter_map(|hash| self.txs.get(hash).map(|p| &p.tx))
            .collect();
        check_funds(tx, &earlier, state, now_ms)
    }

    /// Up to `max` transactions that could go in the next block as it stands: each the next
    /// nonce of its sender.
    pub fn ready(&self, state: &ChainState, max: usize) -> Vec<SignedTransaction> {
        self.ready_txs(state).take(max).cloned().collect()
    }

    /// Whether some transaction could go in the next block as it stands: whether there is
    /// anything to start a height for. Transactions that wait behind a nonce gap cannot.
    pub fn has_ready(&self, state: &ChainState) -> bool {
        self.ready_txs(state).next().is_some()
    }

    fn ready_txs<'a>(
        &'a self,
        state: &'a ChainState,
    ) -> impl Iterator<Item = &'a SignedTransaction> + 'a {
        self.txs
            .values()
            .map(|p| &p.tx)
            .filter(|tx| tx.tx.nonce == state.account(&tx.tx.sender).nonce.saturating_add(1))
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
            let sender = &tx.tx.sender;
            if let Some(nonces) = self.senders.get_mut(sender) {
                nonces.remove(&tx.tx.nonce);
                if nonces.is_empty() {
                    self.senders.remove(sender);
                }
            }
        }
        removed
    }
}

/// Whether the ledger would accept `tx` in a block built at `now_ms` after its sender's
/// `pending` transactions (in nonce order), each applied to a scratch view of `state` as if
/// its nonce came next.
fn check_funds(
    tx: &SignedTransaction,
    pending: &[&SignedTransaction],
    state: &ChainState,
    now_ms: u64,
) -> Result<(), AdmitError> {
    let mut scratch = Scratch::new(state, state.next_block_time(now_ms));
    for earlier in pending {
        // One that would fail changes nothing: it spends nothing.
        let _ = scratch.apply_as_next(earlier);
    }
    let sender = tx.tx.sender;
    scratch.apply_as_next(tx).map_err(|error| match error {
        TxError::InsufficientBalance { have, need } => {
            let account = state.account(&sender);
            if account == Account::default() && pending.is_empty() {
                AdmitError::UnknownSender {
                    sender,
                    action: tx.tx.kind.name(),
                }
            } else {
                AdmitError::InsufficientBalance {
                    sender,
                    balance: account.balance,
                    pending: pending.len(),
                    available: have,
                    need,
                }
            }
        }
        error => AdmitError::WouldFail(error),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use myriad_ledger::apply;
    use myriad_testing::{burn, genesis, key, mint, transfer, tx};
    use myriad_types::{SecretKey, TxKind};

    use super::*;

    fn room(chain_txs: usize) -> Room {
        Room {
            chain_txs,
            chain_bytes: 1 << 20,
            host_txs_left: 1 << 16,
            host_bytes_left: 1 << 24,
        }
    }

    /// A chain of key 1's where key 2 holds 100, committed.
    fn funded() -> (ChainState, SecretKey, SecretKey) {
        let (owner, holder) = (key(1), key(2));
        let mut state =
            ChainState::from_genesis(&genesis(&owner, &[(key(9).host_id(), 1)], 0)).unwrap();
        let chain = state.chain_id();
        apply(&mut state, 1, &mint(chain, &owner, 1, &holder, 100)).unwrap();
        (state, owner, holder)
    }

    #[test]
    fn a_pending_nonce_is_taken_until_its_transaction_leaves() {
        let (state, _, holder) = funded();
        let pay =
            |nonce: u64, amount: u128| transfer(state.chain_id(), &holder, nonce, &holder, amount);
        let mut pool = Mempool::default();
        let first = pay(1, 5);
        pool.admit(first.clone(), &state, room(16), 0).unwrap();
        assert_eq!(
            pool.admit(first.clone(), &state, room(16), 0),
            Err(AdmitError::Duplicate(first.hash()))
        );
        // Another transaction with the same nonce is refused, naming the one pending.
        assert_eq!(
            pool.admit(pay(1, 6), &state, room(16), 0),
            Err(AdmitError::NoncePending {
                nonce: 1,
                pending: first.hash()
            })
        );
        pool.admit(pay(2, 6), &state, room(16), 0).unwrap();
        // Once the first leaves the pool, its nonce is free again.
        let removed = pool.retain(|tx, _| tx.tx.nonce != 1);
        assert_eq!(removed.len(), 1);
        pool.admit(pay(1, 6), &state, room(16), 0).unwrap();
        assert_eq!(pool.candidates().len(), 2);
    }

    #[test]
    fn a_stranger_is_refused_unless_the_kind_needs_no_balance() {
        let (state, owner, holder) = funded();
        let chain = state.chain_id();
        let stranger = key(3);
        let mut pool = Mempool::default();
        for (offered, action) in [
            (transfer(chain, &stranger, 1, &holder, 1), "transfer"),
            (burn(chain, &stranger, 1, 1), "burn"),
        ] {
            let refused = pool.admit(offered, &state, room(16), 0).unwrap_err();
            assert_eq!(
                refused,
                AdmitError::UnknownSender {
                    sender: stranger.address(),
                    action
                }
            );
            assert!(refused.to_string().contains("no account on this chain"));
        }
        // Owner only: the stranger is not the owner; the owner needs no account.
        let refused = pool
            .admit(mint(chain, &stranger, 1, &stranger, 5), &state, room(16), 0)
            .unwrap_err();
        assert!(
            matches!(refused, AdmitError::WouldFail(TxError::NotOwner { .. })),
            "{refused}"
        );
        let handover = TxKind::TransferOwnership {
            new_owner: holder.address(),
        };
        pool.admit(tx(chain, &owner, 2, handover), &state, room(16), 0)
            .unwrap();
        // After its own pending handover, the owner mints no more.
        let refused = pool
            .admit(mint(chain, &owner, 3, &owner, 5), &state, room(16), 0)
            .unwrap_err();
        assert!(
            matches!(refused, AdmitError::WouldFail(TxError::NotOwner { .. })),
            "{refused}"
        );
        assert_eq!(pool.candidates().len(), 1);
    }

    #[test]
    fn what_is_pending_before_counts_against_the_balance() {
        let (state, _, holder) = funded();
        let chain = state.chain_id();
        let other = key(4);
        let mut pool = Mempool::default();
        pool.admit(transfer(chain, &holder, 1, &other, 60), &state, room(16), 0)
            .unwrap();
        // A gap: nonce 3 is checked after nonce 1, nonce 2 taken to spend nothing.
        pool.admit(burn(chain, &holder, 3, 30), &state, room(16), 0)
            .unwrap();
        // Nonce 2 fills the gap: it comes before nonce 3, as it will in a block, so only
        // nonce 1 counts against it — even though nonce 3 is left unpaid.
        pool.admit(transfer(chain, &holder, 2, &other, 20), &state, room(16), 0)
            .unwrap();
        // Nonce 4 comes after all three; the burn that cannot be paid changes nothing.
        let refused = pool
            .admit(transfer(chain, &holder, 4, &other, 25), &state, room(16), 0)
            .unwrap_err();
        assert_eq!(
            refused,
            AdmitError::InsufficientBalance {
                sender: holder.address(),
                balance: 100,
                pending: 3,
                available: 20,
                need: 25
            }
        );
        assert!(
            refused.to_string().contains("holds 100")
                && refused.to_string().contains("leave 20")
                && refused.to_string().contains("needs 25"),
            "{refused}"
        );
        pool.admit(transfer(chain, &holder, 4, &other, 20), &state, room(16), 0)
            .unwrap();
    }

    #[test]
    fn only_a_senders_next_nonce_is_ready() {
        let (state, _, holder) = funded();
        let chain = state.chain_id();
        let mut pool = Mempool::default();
        pool.admit(burn(chain, &holder, 2, 1), &state, room(16), 0)
            .unwrap();
        assert!(!pool.has_ready(&state), "nonce 2 waits for nonce 1");
        assert!(pool.ready(&state, 16).is_empty());
        let next = burn(chain, &holder, 1, 1);
        pool.admit(next.clone(), &state, room(16), 0).unwrap();
        assert!(pool.has_ready(&state));
        assert_eq!(pool.ready(&state, 16), vec![next]);
    }

    #[test]
    fn a_nonce_may_run_only_so_far_ahead() {
        let (state, _, holder) = funded();
        let chain = state.chain_id();
        let mut pool = Mempool::default();
        let furthest = 1 + NONCE_AHEAD_MAX;
        pool.admit(burn(chain, &holder, furthest, 1), &state, room(16), 0)
            .unwrap();
        let refused = pool
            .admit(burn(chain, &holder, furthest + 1, 1), &state, room(16), 0)
            .unwrap_err();
        assert_eq!(
            refused,
            AdmitError::NonceTooFar {
                got: furthest + 1,
                next: 1
            }
        );
        assert!(refused.to_string().contains(&format!(
            "nonce {} is too far ahead: the sender's next nonce is 1",
            furthest + 1
        )));
        assert_eq!(
            pool.admit(burn(chain, &holder, 0, 1), &state, room(16), 0),
            Err(AdmitError::StaleNonce { got: 0, next: 1 })
        );
    }

    #[test]
    fn a_sender_holds_at_most_its_share() {
        let (state, _, holder) = funded();
        let chain = state.chain_id();
        let mut pool = Mempool::default();
        for nonce in 1..=SENDER_TXS_MAX as u64 {
            pool.admit(burn(chain, &holder, nonce, 1), &state, room(1024), 0)
                .unwrap();
        }
        let next = SENDER_TXS_MAX as u64 + 1;
        assert_eq!(
            pool.admit(burn(chain, &holder, next, 1), &state, room(1024), 0),
            Err(AdmitError::SenderShareFull {
                sender: holder.address()
            })
        );
        // As its transactions leave, the sender gets places again.
        pool.retain(|tx, _| tx.tx.nonce != 1);
        pool.admit(burn(chain, &holder, next, 1), &state, room(1024), 0)
            .unwrap();
    }

    /// Strangers' transactions (unfunded, nonces far ahead) cannot take the places of a
    /// funded holder, nor one holder's burst those of another.
    #[test]
    fn a_flood_leaves_room_for_those_who_can_pay() {
        let (mut state, owner, holder) = funded();
        let chain = state.chain_id();
        let second = key(5);
        apply(&mut state, 1, &mint(chain, &owner, 2, &second, 100)).unwrap();
        let places = 2 * SENDER_TXS_MAX;
        let mut pool = Mempool::default();
        for i in 0..4 * places as u64 {
            let mut seed = [0xee; 32];
            seed[..8].copy_from_slice(&i.to_le_bytes());
            let stranger = SecretKey::from_seed(seed);
            let nonce = if i % 2 == 0 { 1 } else { 1_000_000_000_000 };
            let flood = transfer(chain, &stranger, nonce, &holder, 1_000_000_000_000_000);
            assert!(matches!(
                pool.admit(flood, &state, room(places), 0),
                Err(AdmitError::UnknownSender { .. } | AdmitError::NonceTooFar { .. })
            ));
        }
        assert!(pool.is_empty());
        // The holder's own burst takes its share, no more.
        let admitted = (1..=places as u64)
            .filter(|nonce| {
                pool.admit(burn(chain, &holder, *nonce, 1), &state, room(places), 0)
                    .is_ok()
            })
            .count();
        assert_eq!(admitted, SENDER_TXS_MAX);
        pool.admit(
            transfer(chain, &second, 1, &holder, 5),
            &state,
            room(places),
            0,
        )
        .unwrap();
    }
}
