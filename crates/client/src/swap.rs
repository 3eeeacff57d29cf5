//! Atomic swaps between two chains with escrows locked by one hash: the maker locks on the
//! chain she gives on, the taker checks that lock as committed and locks on the other chain
//! with the same hash and an earlier expiry, the maker claims there with the secret, and the
//! secret, now public, claims the maker's escrow for the taker. Whoever is left with an
//! expired escrow gets it back with a refund.

use myriad_api_types::ChainInfo;
use myriad_types::{Escrow, EscrowId, EscrowState, ParseOfferError, SwapOffer};

use crate::client::{Client, ClientError};
use crate::objects::ObjectError;

/// The least time a taker's escrow is given before it expires, and the least time left
/// between it and the maker's: a taker refuses an offer that leaves less than twice this.
pub const MARGIN_MIN_MS: u64 = 60_000;

/// Why a swap step was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum SwapError {
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error(transparent)]
    BadOffer(#[from] ParseOfferError),
    #[error(transparent)]
    Unverified(#[from] ObjectError),
    #[error("{0}")]
    Refused(String),
}

/// Checks that `escrow` is the maker's lock `offer` describes, open, and far enough from its
/// expiry at `now_ms` for a counter-lock: what a taker checks before locking.
pub fn check_escrow(offer: &SwapOffer, escrow: &Escrow, now_ms: u64) -> Result<(), SwapError> {
    let refused = |reason: String| Err(SwapError::Refused(reason));
    if escrow.id != offer.escrow {
        return refused(format!(
            "the escrow is {}, the offer names {}",
            escrow.id, offer.escrow
        ));
    }
    if escrow.state != EscrowState::Open {
        return refused(format!("escrow {} is no longer open", escrow.id));
    }
    for (what, found, offered) in [
        ("locker", escrow.locker.to_string(), offer.maker.to_string()),
        ("recipient", escrow.to.to_string(), offer.taker.to_string()),
        ("amount", escrow.amount.to_string(), offer.give.to_string()),
        (
            "hash lock",
            escrow.hash_lock.to_string(),
            offer.hash_lock.to_string(),
        ),
        (
            "expiry",
            escrow.expires_at_ms.to_string(),
            offer.expires_at_ms.to_string(),
        ),
    ] {
        if found != offered {
            return refused(format!(
                "escrow {}: its {what} is {found}, the offer says {offered}",
                escrow.id
            ));
        }
    }
    check_time_left(escrow, now_ms)
}

/// Checks that `escrow` leaves enough time at `now_ms` to lock against it safely: at least
/// twice [`MARGIN_MIN_MS`], half for the counter-lock to run, half for the claim after it.
pub fn check_time_left(escrow: &Escrow, now_ms: u64) -> Result<(), SwapError> {
    let left = escrow.expires_at_ms.saturating_sub(now_ms);
    if left < 2 * MARGIN_MIN_MS {
        return Err(SwapError::Refused(format!(
            "escrow {} expires in {} s: too soon to lock against it safely (at least {} s)",
            escrow.id,
            left / 1000,
            2 * MARGIN_MIN_MS / 1000
        )));
    }
    Ok(())
}

impl Client {
    /// Hands a swap to the host's watcher (`POST /swaps/watch`): `counter` is the taker's
    /// escrow once locked, `hosts` API URLs through which the watcher reaches both chains.
    /// Returns the account the watcher signs with.
    pub fn watch(
        &self,
        offer: &SwapOffer,
        counter: Option<&EscrowId>,
        hosts: &[String],
    ) -> Result<String, ClientError> {
        let answer: serde_json::Value = self.post(
            "/swaps/watch",
            &serde_json::json!({
                "offer": offer.to_text(),
                "counter": counter.map(ToString::to_string),
                "hosts": hosts,
            }),
        )?;
        Ok(answer["watcher"].as_str().unwrap_or_default().to_owned())
    }
}

impl Client {
    /// The taker's escrow on the offer's get chain, once committed: found among the
    /// latest transactions of its locker there (a lock for the maker with the offer's hash lock
    /// and amount), and verified as [`Client::committed_escrow`] does.
    pub fn counter_escrow(
        &self,
        info: &ChainInfo,
        offer: &SwapOffer,
    ) -> Result<Option<Escrow>, SwapError> {
        let chain = offer.get_chain;
        let history = self.history(&chain, &offer.counter_locker, None, COUNTER_SEARCH_TXS)?;
        for entry in history.txs {
            let tx = &entry.tx;
            let Some(id) = tx
                .object
                .as_deref()
                .and_then(|id| id.parse::<EscrowId>().ok())
            else {
                continue;
            };
            if tx.kind != "lock" || tx.to.as_deref() != Some(&offer.maker.to_string()) {
                continue;
            }
            let escrow = self.committed_escrow(&chain, info, &id)?;
            let matches = escrow.hash_lock == offer.hash_lock
                && escrow.amount == offer.get
                && escrow.to == offer.maker
                && escrow.locker == offer.counter_locker;
            if matches {
                return Ok(Some(escrow));
            }
        }
        Ok(None)
    }
}

/// How many of the taker's latest transactions are searched for his counter-lock.
pub const COUNTER_SEARCH_TXS: usize = 100;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use myriad_types::{Address, ChainId, Hash, Memo, Secret};

    use super::*;

    fn offer() -> (SwapOffer, Escrow) {
        let (maker, taker) = (Address([1; 32]), Address([2; 32]));
        let secret = Secret([3; 32]);
        let offer = SwapOffer {
            maker,
            taker,
            counter_locker: taker,
            give_chain: ChainId([4; 32]),
            give: 10,
            get_chain: ChainId([5; 32]),
            get: 5,
            hash_lock: secret.hash_lock(),
            escrow: EscrowId([6; 32]),
            expires_at_ms: 1_000_000,
        };
        let escrow = Escrow {
            id: offer.escrow,
            locker: maker,
            to: taker,
            amount: 10,
            hash_lock: offer.hash_lock,
            expires_at_ms: offer.expires_at_ms,
            memo: Memo::default(),
            state: EscrowState::Open,
        };
        (offer, escrow)
    }

    #[test]
    fn a_taker_refuses_a_lock_that_is_not_what_the_offer_says_or_too_close_to_expiry() {
        let (offer, escrow) = offer();
        let now = offer.expires_at_ms - 2 * MARGIN_MIN_MS;
        assert!(check_escrow(&offer, &escrow, now).is_ok());
        assert_eq!(offer.counter_expiry(now), now + MARGIN_MIN_MS);
        let refused =
            |escrow: Escrow, now| check_escrow(&offer, &escrow, now).unwrap_err().to_string();
        assert!(refused(escrow.clone(), now + 1).contains("too soon"));
        let less = Escrow {
            amount: 9,
            ..escrow.clone()
        };
        assert!(refused(less, now).contains("its amount is 9, the offer says 10"));
        let other_lock = Escrow {
            hash_lock: Hash([0; 32]),
            ..escrow.clone()
        };
        assert!(refused(other_lock, now).contains("hash lock"));
        let other_taker = Escrow {
            to: Address([9; 32]),
            ..escrow.clone()
        };
        assert!(refused(other_taker, now).contains("recipient"));
        let claimed = Escrow {
            state: EscrowState::Refunded { at_ms: 1 },
            ..escrow
        };
        assert!(refused(claimed, now).contains("no longer open"));
    }
}
