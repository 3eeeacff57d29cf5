//! Atomic swaps between two chains with escrows locked by one hash: the maker locks on the
//! chain she gives on, the taker checks that lock as committed and locks on the other chain
//! with the same hash and an earlier expiry, the maker claims there with the secret, and the
//! secret, now public, claims the maker's escrow for the taker. Whoever is left with an
//! expired escrow gets it back with a refund.

use std::str::FromStr;

use borsh::{BorshDeserialize, BorshSerialize};
use myriad_api_types::ChainInfo;
use myriad_types::{decode, encode, Address, Amount, ChainId, Escrow, EscrowId, EscrowState, Hash};

use crate::client::{Client, ClientError};
use crate::objects::ObjectError;

/// The text an offer starts with.
pub const OFFER_PREFIX: &str = "myriad-swap-1:";
/// The least time a taker's escrow is given before it expires, and the least time left
/// between it and the maker's: a taker refuses an offer that leaves less than twice this.
pub const MARGIN_MIN_MS: u64 = 60_000;

/// What a maker offers: `give` of chain `give_chain`, locked in `escrow` for `taker` until
/// `expires_at_ms`, for `get` of `get_chain` locked for her by the taker with the same hash
/// lock. An account's address is the same on every chain.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Offer {
    pub maker: Address,
    pub taker: Address,
    pub give_chain: ChainId,
    pub give: Amount,
    pub get_chain: ChainId,
    pub get: Amount,
    /// SHA-256 of the maker's secret.
    pub hash_lock: Hash,
    /// The maker's escrow on `give_chain`: it names the swap.
    pub escrow: EscrowId,
    pub expires_at_ms: u64,
}

/// Why a swap step was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum SwapError {
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error("not a swap offer: {0}")]
    BadOffer(String),
    #[error(transparent)]
    Unverified(#[from] ObjectError),
    #[error("{0}")]
    Refused(String),
}

impl Offer {
    /// The offer as one line of text to hand to the taker.
    pub fn to_text(&self) -> String {
        format!("{OFFER_PREFIX}{}", hex::encode(encode(self)))
    }

    /// The expiry a taker gives his escrow, accepting at `now_ms`: halfway to the maker's,
    /// so that the maker must reveal the secret while he still has half the time to use it.
    pub fn counter_expiry(&self, now_ms: u64) -> u64 {
        now_ms + self.expires_at_ms.saturating_sub(now_ms) / 2
    }

    /// Checks that `escrow` is the maker's lock this offer describes, open, and far enough
    /// from its expiry at `now_ms` for a counter-lock: what a taker checks before locking.
    pub fn check_escrow(&self, escrow: &Escrow, now_ms: u64) -> Result<(), SwapError> {
        let refused = |reason: String| Err(SwapError::Refused(reason));
        if escrow.id != self.escrow {
            return refused(format!(
                "the escrow is {}, the offer names {}",
                escrow.id, self.escrow
            ));
        }
        if escrow.state != EscrowState::Open {
            return refused(format!("escrow {} is no longer open", escrow.id));
        }
        for (what, found, offered) in [
            ("locker", escrow.locker.to_string(), self.maker.to_string()),
            ("recipient", escrow.to.to_string(), self.taker.to_string()),
            ("amount", escrow.amount.to_string(), self.give.to_string()),
            (
                "hash lock",
                escrow.hash_lock.to_string(),
                self.hash_lock.to_string(),
            ),
            (
                "expiry",
                escrow.expires_at_ms.to_string(),
                self.expires_at_ms.to_string(),
            ),
        ] {
            if found != offered {
                return refused(format!(
                    "escrow {}: its {what} is {found}, the offer says {offered}",
                    escrow.id
                ));
            }
        }
        let left = escrow.expires_at_ms.saturating_sub(now_ms);
        if left < 2 * MARGIN_MIN_MS {
            return refused(format!(
                "escrow {} expires in {} s: too soon to lock against it safely (at least {} s)",
                escrow.id,
                left / 1000,
                2 * MARGIN_MIN_MS / 1000
            ));
        }
        Ok(())
    }
}

impl FromStr for Offer {
    type Err = SwapError;
    fn from_str(text: &str) -> Result<Offer, SwapError> {
        let hex_part = text
            .trim()
            .strip_prefix(OFFER_PREFIX)
            .ok_or_else(|| SwapError::BadOffer(format!("it does not start with {OFFER_PREFIX}")))?;
        let bytes =
            hex::decode(hex_part).map_err(|e| SwapError::BadOffer(format!("not hex: {e}")))?;
        decode("swap offer", &bytes).map_err(|e| SwapError::BadOffer(e.to_string()))
    }
}

impl Client {
    /// Hands a swap to the host's watcher (`POST /swaps/watch`): `counter` is the taker's
    /// escrow once locked, `hosts` API URLs through which the watcher reaches both chains.
    /// Returns the account the watcher signs with.
    pub fn watch(
        &self,
        offer: &Offer,
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
    /// taker's latest transactions there (a lock for the maker with the offer's hash lock
    /// and amount), and verified as [`Client::committed_escrow`] does.
    pub fn counter_escrow(
        &self,
        info: &ChainInfo,
        offer: &Offer,
    ) -> Result<Option<Escrow>, SwapError> {
        let chain = offer.get_chain;
        let history = self.history(&chain, &offer.taker, None, COUNTER_SEARCH_TXS)?;
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
                && escrow.locker == offer.taker;
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
    use myriad_types::Secret;

    use super::*;

    fn offer() -> (Offer, Escrow) {
        let (maker, taker) = (Address([1; 32]), Address([2; 32]));
        let secret = Secret([3; 32]);
        let offer = Offer {
            maker,
            taker,
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
            state: EscrowState::Open,
        };
        (offer, escrow)
    }

    #[test]
    fn an_offer_reads_back_from_its_text_and_nothing_else_does() {
        let (offer, _) = offer();
        assert_eq!(offer.to_text().parse::<Offer>().unwrap(), offer);
        assert!("myriad-swap-1:zz".parse::<Offer>().is_err());
        assert!(hex::encode(encode(&offer)).parse::<Offer>().is_err());
        let mut text = offer.to_text();
        text.push_str("00");
        assert!(text.parse::<Offer>().is_err(), "trailing bytes");
    }

    #[test]
    fn a_taker_refuses_a_lock_that_is_not_what_the_offer_says_or_too_close_to_expiry() {
        let (offer, escrow) = offer();
        let now = offer.expires_at_ms - 2 * MARGIN_MIN_MS;
        assert!(offer.check_escrow(&escrow, now).is_ok());
        assert_eq!(offer.counter_expiry(now), now + MARGIN_MIN_MS);
        let refused =
            |escrow: Escrow, now| offer.check_escrow(&escrow, now).unwrap_err().to_string();
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
