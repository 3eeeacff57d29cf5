//! An exchanger's quote: a firm, signed offer to exchange one chain's currency for another's
//! at an exact rate, within amount bounds, until it expires.
//!
//! A holder takes a quote by locking her side in an escrow for the quote's `give_account`
//! with the quote's hash as the lock's memo; the exchanger then locks its side on the get
//! chain under the same hash lock (see `docs/exchange.md`).

use std::cmp::Ordering;

use borsh::{BorshDeserialize, BorshSerialize};

use crate::crypto::{verify, Domain, Signable, Signature, SignatureCheck, SignatureError};
use crate::ids::{Address, Amount, ChainId, Hash};
use crate::SecretKey;

/// The furthest ahead of its receiver's clock a quote may expire.
pub const QUOTE_LIFETIME_MAX_MS: u64 = 5 * 60_000;

/// An exact exchange rate: `give` base units of the give chain's currency buy `get` base
/// units of the get chain's. Both are positive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, BorshSerialize, BorshDeserialize)]
pub struct Rate {
    pub give: u64,
    pub get: u64,
}

/// The fractional digits a rate given as a decimal may have.
pub const RATE_DECIMALS: u8 = 12;

fn gcd(mut a: u128, mut b: u128) -> u128 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

impl Rate {
    /// The rate `get : give` in lowest terms, or the nearest below it (for the holder) that
    /// fits `u64`; `None` if a side is zero.
    pub fn reduced(give: u128, get: u128) -> Option<Rate> {
        if give == 0 || get == 0 {
            return None;
        }
        let divisor = gcd(give, get);
        let (mut give, mut get) = (give / divisor, get / divisor);
        while give > u128::from(u64::MAX) || get > u128::from(u64::MAX) {
            give = give.div_ceil(2);
            get /= 2;
            if get == 0 {
                return None;
            }
        }
        Some(Rate {
            give: u64::try_from(give).ok()?,
            get: u64::try_from(get).ok()?,
        })
    }

    /// The rate at which one whole unit of a currency with `give_decimals` buys `text` (a
    /// decimal such as `2.5`, at most [`RATE_DECIMALS`] fractional digits) whole units of one
    /// with `get_decimals`, in base units.
    pub fn from_decimal(text: &str, give_decimals: u8, get_decimals: u8) -> Result<Rate, String> {
        let scaled = crate::parse_amount(text, RATE_DECIMALS).map_err(|e| format!("rate: {e}"))?;
        let power = |digits: u8| 10u128.checked_pow(u32::from(digits));
        let (Some(unit), Some(give_unit), Some(get_unit)) = (
            power(RATE_DECIMALS),
            power(give_decimals),
            power(get_decimals),
        ) else {
            return Err("rate: too many decimals".to_owned());
        };
        let give = unit.checked_mul(give_unit);
        let get = scaled.checked_mul(get_unit);
        match (give, get) {
            (Some(give), Some(get)) => {
                Rate::reduced(give, get).ok_or_else(|| format!("rate `{text}` is zero"))
            }
            _ => Err(format!("rate `{text}` is too large")),
        }
    }

    /// What `amount` of the give currency buys, rounded down; `None` for a zero rate or a
    /// result past the largest amount.
    pub fn convert(&self, amount: Amount) -> Option<Amount> {
        if self.give == 0 {
            return None;
        }
        let (give, get) = (u128::from(self.give), u128::from(self.get));
        // floor(amount · get / give), without the product overflowing.
        let whole = (amount / give).checked_mul(get)?;
        whole.checked_add(amount % give * get / give)
    }

    /// What may be given at this rate for a payout within `payout` (rounded down, so never
    /// more than it pays for).
    pub fn give_within(&self, payout: Amount) -> Amount {
        if self.get == 0 {
            return 0;
        }
        let (give, get) = (u128::from(self.give), u128::from(self.get));
        (payout / get)
            .saturating_mul(give)
            .saturating_add(payout % get * give / get)
    }

    /// Orders rates by what they give a holder per unit given: `Greater` is better for her.
    pub fn cmp_for_holder(&self, other: &Rate) -> Ordering {
        let mine = u128::from(self.get) * u128::from(other.give);
        let theirs = u128::from(other.get) * u128::from(self.give);
        mine.cmp(&theirs)
    }

    /// The rate the other way round: `get` of the get currency buys `give` of the give one.
    pub fn inverse(&self) -> Rate {
        Rate {
            give: self.get,
            get: self.give,
        }
    }

    /// The rate as a decimal (get per give, in base units) with `digits` after the point,
    /// rounded down; for display only.
    pub fn to_decimal(&self, digits: u32) -> String {
        if self.give == 0 {
            return "∞".to_owned();
        }
        let scale = 10u128.pow(digits);
        let scaled = u128::from(self.get) * scale / u128::from(self.give);
        let (whole, fraction) = (scaled / scale, scaled % scale);
        if digits == 0 {
            return whole.to_string();
        }
        format!("{whole}.{fraction:0width$}", width = digits as usize)
    }
}

/// An exchanger's offer: a holder who gives between `min_give` and `max_give` of
/// `give_chain`'s currency gets `rate.convert` of it in `get_chain`'s.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Quote {
    /// The key that signs the exchanger's quotes.
    pub exchanger: Address,
    pub give_chain: ChainId,
    pub get_chain: ChainId,
    pub rate: Rate,
    pub min_give: Amount,
    pub max_give: Amount,
    pub expires_at_ms: u64,
    /// The exchanger's account on the give chain: the holder's escrow pays it.
    pub give_account: Address,
    /// The exchanger's account on the get chain: it locks the holder's side.
    pub get_account: Address,
    /// A newer quote of the same exchanger and pair has a higher sequence, and replaces it.
    pub sequence: u64,
}

impl Signable for Quote {
    const DOMAIN: Domain = Domain::Quote;
    fn chain_id(&self) -> ChainId {
        self.give_chain
    }
}

/// Why a quote is refused, before or without its signature.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuoteError {
    #[error("the quote gives and gets the same chain")]
    SameChain,
    #[error("the rate {give}:{get} has a zero side")]
    ZeroRate { give: u64, get: u64 },
    #[error("the minimum amount {min} is zero or above the maximum {max}")]
    Bounds { min: Amount, max: Amount },
    #[error("the maximum amount {0} buys more than the largest amount")]
    Overflow(Amount),
    #[error("the quote expired at {expires_at_ms} ms, before now ({now_ms} ms)")]
    Expired { expires_at_ms: u64, now_ms: u64 },
    #[error(
        "the quote expires at {expires_at_ms} ms, more than {QUOTE_LIFETIME_MAX_MS} ms after \
         now ({now_ms} ms)"
    )]
    TooLong { expires_at_ms: u64, now_ms: u64 },
}

impl Quote {
    /// Orders quotes best first for a holder (`Less`: `self` first): the better rate, then
    /// the larger maximum, the later expiry, the exchanger's key, the higher sequence. Every
    /// host and client orders a book the same way.
    pub fn cmp_best_first(&self, other: &Quote) -> Ordering {
        other
            .rate
            .cmp_for_holder(&self.rate)
            .then(other.max_give.cmp(&self.max_give))
            .then(other.expires_at_ms.cmp(&self.expires_at_ms))
            .then(self.exchanger.cmp(&other.exchanger))
            .then(other.sequence.cmp(&self.sequence))
    }

    /// The quote's id: the hash of everything it says (a holder's lock names it).
    pub fn hash(&self) -> Hash {
        Hash::tagged(Domain::Quote.tag(), self)
    }

    /// What a holder who gives `amount` gets, if the quote covers that amount.
    pub fn get_for(&self, amount: Amount) -> Option<Amount> {
        if amount < self.min_give || amount > self.max_give {
            return None;
        }
        self.rate.convert(amount)
    }

    /// The checks a quote's receiver makes at `now_ms`, but for its signature: a
    /// well-formed quote that is live and does not run too far ahead.
    pub fn check(&self, now_ms: u64) -> Result<(), QuoteError> {
        self.check_form()?;
        if self.expires_at_ms <= now_ms {
            return Err(QuoteError::Expired {
                expires_at_ms: self.expires_at_ms,
                now_ms,
            });
        }
        if self.expires_at_ms - now_ms > QUOTE_LIFETIME_MAX_MS {
            return Err(QuoteError::TooLong {
                expires_at_ms: self.expires_at_ms,
                now_ms,
            });
        }
        Ok(())
    }

    /// The checks that need no clock: a quote that fails them was never worth sending.
    pub fn check_form(&self) -> Result<(), QuoteError> {
        if self.give_chain == self.get_chain {
            return Err(QuoteError::SameChain);
        }
        if self.rate.give == 0 || self.rate.get == 0 {
            return Err(QuoteError::ZeroRate {
                give: self.rate.give,
                get: self.rate.get,
            });
        }
        if self.min_give == 0 || self.min_give > self.max_give {
            return Err(QuoteError::Bounds {
                min: self.min_give,
                max: self.max_give,
            });
        }
        if self.rate.convert(self.max_give).is_none() {
            return Err(QuoteError::Overflow(self.max_give));
        }
        Ok(())
    }
}

/// A quote with its exchanger's signature. Its encoding has a fixed size,
/// [`SIGNED_QUOTE_BYTES`].
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct SignedQuote {
    pub quote: Quote,
    pub signature: Signature,
}

/// The size of a signed quote's encoding, in bytes.
pub const SIGNED_QUOTE_BYTES: usize = 32 * 3 + 16 + 16 * 2 + 8 + 32 * 2 + 8 + 64;

impl SignedQuote {
    pub fn sign(quote: Quote, exchanger: &SecretKey) -> SignedQuote {
        SignedQuote {
            signature: exchanger.sign(&quote),
            quote,
        }
    }

    pub fn hash(&self) -> Hash {
        self.quote.hash()
    }

    pub fn verify_signature(&self) -> Result<(), SignatureError> {
        verify(&self.quote.exchanger.0, &self.quote, &self.signature)
    }

    /// The exchanger's signature, to check in a batch.
    pub fn signature_check(&self) -> SignatureCheck {
        SignatureCheck::new(&self.quote.exchanger.0, &self.quote, &self.signature)
    }
}

/// A reference rate of one chain's currency in another's, from live quotes both ways.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferenceRate {
    /// The volume-weighted median: `give` units of the chain buy `get` units of the other.
    pub median: Rate,
    /// The best rate at which a holder sells the chain's currency (quotes giving it).
    pub bid: Option<Rate>,
    /// The best rate at which a holder buys it (quotes getting it), inverted to read like
    /// `bid`.
    pub ask: Option<Rate>,
    /// The quotes it came from: `sells`, then `buys`.
    pub quotes: Vec<SignedQuote>,
}

impl ReferenceRate {
    /// The reference rate of a chain's currency from `sells` (quotes giving it for the
    /// other's) and `buys` (quotes giving the other's for it), each best first: the
    /// volume-weighted median of their rates, each weighed by the most of the chain's
    /// currency it moves. `None` without quotes.
    pub fn of(sells: Vec<SignedQuote>, buys: Vec<SignedQuote>) -> Option<ReferenceRate> {
        // Every rate as the chain's units for the other's, with its volume in the chain's.
        let mut points: Vec<(Rate, Amount)> = sells
            .iter()
            .map(|q| (q.quote.rate, q.quote.max_give))
            .chain(buys.iter().map(|q| {
                let volume = q.quote.rate.convert(q.quote.max_give).unwrap_or(0);
                (q.quote.rate.inverse(), volume)
            }))
            .collect();
        points.sort_by(|a, b| a.0.cmp_for_holder(&b.0));
        let total: Amount = points.iter().map(|p| p.1).fold(0, Amount::saturating_add);
        let mut seen: Amount = 0;
        let median = points.iter().find_map(|(rate, volume)| {
            seen = seen.saturating_add(*volume);
            (seen >= total.div_ceil(2)).then_some(*rate)
        })?;
        Some(ReferenceRate {
            median,
            bid: sells.first().map(|q| q.quote.rate),
            ask: buys.first().map(|q| q.quote.rate.inverse()),
            quotes: sells.into_iter().chain(buys).collect(),
        })
    }
}
