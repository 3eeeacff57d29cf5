//! A swap offer: what the maker of an atomic swap between two chains hands the taker, as
//! one line of text.

use std::str::FromStr;

use borsh::{BorshDeserialize, BorshSerialize};

use crate::encoding::{decode, encode, from_hex, hex};
use crate::{Address, Amount, ChainId, EscrowId, Hash};

/// The text an offer starts with (`-2`: the offer names who locks its other side; offers
/// of the first form, without it, are not read).
pub const SWAP_OFFER_PREFIX: &str = "myriad-swap-2:";

/// What a maker offers: `give` of chain `give_chain`, locked in `escrow` for `taker` until
/// `expires_at_ms`, for `get` of `get_chain` locked for her by `counter_locker` (the taker's
/// account there: the taker himself between two people, an exchanger's other account in a
/// swap at a quote) with the same hash lock. An account's address is the same on every
/// chain.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct SwapOffer {
    pub maker: Address,
    pub taker: Address,
    pub counter_locker: Address,
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

impl SwapOffer {
    /// The offer as one line of text to hand to the taker: the prefix, then the offer's
    /// encoding in hex.
    pub fn to_text(&self) -> String {
        format!("{SWAP_OFFER_PREFIX}{}", hex(&encode(self)))
    }

    /// The expiry a taker gives his escrow, accepting at `now_ms`
    /// ([`counter_expiry`]).
    pub fn counter_expiry(&self, now_ms: u64) -> u64 {
        counter_expiry(self.expires_at_ms, now_ms)
    }
}

/// The expiry of a lock against one that expires at `maker_expires_at_ms`, made at
/// `now_ms`: halfway there, so that the maker must reveal the secret while the taker still
/// has half the time to use it.
pub fn counter_expiry(maker_expires_at_ms: u64, now_ms: u64) -> u64 {
    now_ms + maker_expires_at_ms.saturating_sub(now_ms) / 2
}

/// A text that is not a swap offer, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a swap offer: {0}")]
pub struct ParseOfferError(String);

impl FromStr for SwapOffer {
    type Err = ParseOfferError;
    fn from_str(text: &str) -> Result<SwapOffer, ParseOfferError> {
        let digits = text.trim().strip_prefix(SWAP_OFFER_PREFIX).ok_or_else(|| {
            ParseOfferError(format!("it does not start with {SWAP_OFFER_PREFIX}"))
        })?;
        let bytes = from_hex(digits).ok_or_else(|| {
            ParseOfferError("after the prefix, an even number of hexadecimal digits".to_owned())
        })?;
        decode("swap offer", &bytes).map_err(|e| ParseOfferError(e.to_string()))
    }
}
