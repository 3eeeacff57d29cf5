//! The order book: the live quotes of exchangers for pairs of chains, best first.
//!
//! Bounded three ways: quotes in all, quotes of one exchanger, and quotes of one pair (a
//! full pair keeps its best, so a flood of poor quotes displaces nothing). A newer quote of
//! an exchanger for a pair replaces its older one; expired quotes leave at the next sweep
//! and are never served meanwhile.

use std::cmp::Ordering;
use std::collections::{BTreeSet, HashMap};

use myriad_types::{Address, ChainId, Quote, QuoteError, ReferenceRate, SignedQuote};

/// The most quotes kept for one pair: its best.
pub const QUOTES_PER_PAIR_MAX: usize = 32;

/// A pair of chains: what a holder gives, and what she gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Pair {
    pub give: ChainId,
    pub get: ChainId,
}

impl Pair {
    pub fn of(quote: &Quote) -> Pair {
        Pair {
            give: quote.give_chain,
            get: quote.get_chain,
        }
    }
}

/// Why the book does not take a quote.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BookError {
    #[error("{0}")]
    Invalid(QuoteError),
    #[error("the book holds this exchanger's quote {held} for the pair, not older than {got}")]
    NotNewer { held: u64, got: u64 },
    #[error("the exchanger has {0} live quotes here, the most allowed")]
    ExchangerFull(usize),
    #[error("the pair holds its most quotes ({QUOTES_PER_PAIR_MAX}), each better than this one")]
    PairFull,
    #[error("the book holds {0} quotes, the most allowed")]
    Full(usize),
}

impl BookError {
    /// A short name for metrics.
    pub fn name(&self) -> &'static str {
        match self {
            BookError::Invalid(QuoteError::Expired { .. }) => "expired",
            BookError::Invalid(_) => "invalid",
            BookError::NotNewer { .. } => "not_newer",
            BookError::ExchangerFull(_) => "exchanger_full",
            BookError::PairFull => "pair_full",
            BookError::Full(_) => "full",
        }
    }

    /// Whether only a sender that checked nothing would send such a quote: one whose form
    /// is wrong, whatever the time.
    pub fn is_malformed(&self) -> bool {
        matches!(
            self,
            BookError::Invalid(
                QuoteError::SameChain
                    | QuoteError::ZeroRate { .. }
                    | QuoteError::Bounds { .. }
                    | QuoteError::Overflow(_)
            )
        )
    }
}

/// What taking a quote did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    Added,
    /// It replaced the exchanger's older quote for the pair.
    Replaced,
}

#[derive(Debug)]
struct Quotes {
    /// Best first.
    live: Vec<SignedQuote>,
    /// The earliest expiry among them, as filed in `OrderBook::expiries`.
    earliest_ms: u64,
}

/// Live quotes by pair, within the limits it was made with.
#[derive(Debug)]
pub struct OrderBook {
    pairs: HashMap<Pair, Quotes>,
    /// Each pair's earliest expiry: the sweep's work list.
    expiries: BTreeSet<(u64, Pair)>,
    /// The pairs each exchanger quotes.
    by_exchanger: HashMap<Address, BTreeSet<Pair>>,
    /// Exchangers by how many quotes they hold: a full book makes room in the largest.
    sizes: BTreeSet<(usize, Address)>,
    len: usize,
    quotes_max: usize,
    per_exchanger_max: usize,
}

impl OrderBook {
    pub fn new(quotes_max: usize, per_exchanger_max: usize) -> OrderBook {
        OrderBook {
            pairs: HashMap::new(),
            expiries: BTreeSet::new(),
            by_exchanger: HashMap::new(),
            sizes: BTreeSet::new(),
            len: 0,
            quotes_max,
            per_exchanger_max,
        }
    }

    /// Quotes held (an expired one until the next sweep).
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Pairs with at least one quote.
    pub fn pairs(&self) -> usize {
        self.pairs.len()
    }

    /// How many quotes `exchanger` holds.
    pub fn quotes_of(&self, exchanger: &Address) -> usize {
        self.by_exchanger.get(exchanger).map_or(0, BTreeSet::len)
    }

    /// Whether the book would take `quote` at `now_ms`, but for its signature: the checks to
    /// make before a signature costs anything. [`insert`](Self::insert) makes them again.
    /// A full book still takes a quote of an exchanger holding fewer than the largest
    /// holder but one: it makes room in the largest.
    pub fn check(&self, quote: &Quote, now_ms: u64) -> Result<(), BookError> {
        quote.check(now_ms).map_err(BookError::Invalid)?;
        let live = self.pairs.get(&Pair::of(quote)).map(|q| &q.live[..]);
        let held = live.and_then(|live| live.iter().find(|q| q.quote.exchanger == quote.exchanger));
        if let Some(held) = held {
            if held.quote.sequence >= quote.sequence {
                return Err(BookError::NotNewer {
                    held: held.quote.sequence,
                    got: quote.sequence,
                });
            }
            return Ok(());
        }
        let count = self.quotes_of(&quote.exchanger);
        if count >= self.per_exchanger_max {
            return Err(BookError::ExchangerFull(count));
        }
        if let Some(live) = live.filter(|live| live.len() >= QUOTES_PER_PAIR_MAX) {
            let worst = live.last().map(|q| &q.quote);
            if worst.is_some_and(|worst| quote.cmp_best_first(worst) != Ordering::Less) {
                return Err(BookError::PairFull);
            }
            return Ok(());
        }
        let room_in_largest = self.sizes.last().is_some_and(|(n, _)| *n > count + 1);
        if self.len >= self.quotes_max && !room_in_largest {
            return Err(BookError::Full(self.len));
        }
        Ok(())
    }

    /// Takes a quote whose signature has been verified.
    pub fn insert(&mut self, signed: SignedQuote, now_ms: u64) -> Result<Admission, BookError> {
        self.check(&signed.quote, now_ms)?;
        let pair = Pair::of(&signed.quote);
        let exchanger = signed.quote.exchanger;
        let held = self
            .pairs
            .get(&pair)
            .is_some_and(|q| q.live.iter().any(|q| q.quote.exchanger == exchanger));
        let admission = if held {
            self.remove(&pair, &exchanger);
            Admission::Replaced
        } else {
            let worst = self
                .pairs
                .get(&pair)
                .filter(|q| q.live.len() >= QUOTES_PER_PAIR_MAX)
                .and_then(|q| q.live.last())
                .map(|q| q.quote.exchanger);
            if let Some(worst) = worst {
                self.remove(&pair, &worst);
            } else if self.len >= self.quotes_max {
                let largest = self.sizes.last().map(|(_, largest)| *largest);
                let room = largest.and_then(|largest| {
                    let first = self.by_exchanger.get(&largest)?.first().copied()?;
                    Some((first, largest))
                });
                if let Some((their_pair, largest)) = room {
                    self.remove(&their_pair, &largest);
                }
            }
            Admission::Added
        };
        let quotes = self.pairs.entry(pair).or_insert_with(|| Quotes {
            live: Vec::new(),
            earliest_ms: u64::MAX,
        });
        let at = quotes
            .live
            .partition_point(|q| q.quote.cmp_best_first(&signed.quote) == Ordering::Less);
        quotes.live.insert(at, signed);
        self.count(exchanger, pair, true);
        self.refile(pair);
        Ok(admission)
    }

    /// Removes `exchanger`'s quote for `pair`.
    fn remove(&mut self, pair: &Pair, exchanger: &Address) {
        let Some(quotes) = self.pairs.get_mut(pair) else {
            return;
        };
        let before = quotes.live.len();
        quotes.live.retain(|q| q.quote.exchanger != *exchanger);
        if quotes.live.len() < before {
            self.count(*exchanger, *pair, false);
        }
        self.refile(*pair);
    }

    /// Counts a quote of `exchanger` for `pair` in (or out).
    fn count(&mut self, exchanger: Address, pair: Pair, added: bool) {
        let pairs = self.by_exchanger.entry(exchanger).or_default();
        let before = pairs.len();
        let changed = if added {
            pairs.insert(pair)
        } else {
            pairs.remove(&pair)
        };
        if !changed {
            return;
        }
        let after = pairs.len();
        if after == 0 {
            self.by_exchanger.remove(&exchanger);
        }
        self.sizes.remove(&(before, exchanger));
        if after > 0 {
            self.sizes.insert((after, exchanger));
        }
        if added {
            self.len += 1;
        } else {
            self.len -= 1;
        }
    }

    /// Files a pair's earliest expiry again after its quotes changed; forgets an empty pair.
    fn refile(&mut self, pair: Pair) {
        let Some(quotes) = self.pairs.get_mut(&pair) else {
            return;
        };
        let before = quotes.earliest_ms;
        let earliest = quotes.live.iter().map(|q| q.quote.expires_at_ms).min();
        self.expiries.remove(&(before, pair));
        match earliest {
            Some(earliest) => {
                quotes.earliest_ms = earliest;
                self.expiries.insert((earliest, pair));
            }
            None => {
                self.pairs.remove(&pair);
            }
        }
    }

    /// Drops every quote expired at `now_ms`; returns the pairs that changed.
    pub fn expire(&mut self, now_ms: u64) -> Vec<Pair> {
        let mut changed = Vec::new();
        while let Some(&(earliest, pair)) = self.expiries.first() {
            if earliest > now_ms {
                break;
            }
            let expired: Vec<Address> = self
                .pairs
                .get(&pair)
                .map(|q| {
                    q.live
                        .iter()
                        .filter(|q| q.quote.expires_at_ms <= now_ms)
                        .map(|q| q.quote.exchanger)
                        .collect()
                })
                .unwrap_or_default();
            if expired.is_empty() {
                // Filed for a pair no longer held: nothing to drop.
                self.expiries.remove(&(earliest, pair));
                continue;
            }
            for exchanger in expired {
                self.remove(&pair, &exchanger);
            }
            changed.push(pair);
        }
        changed
    }

    /// The pair's quotes live at `now_ms`, best first: at most `depth`, and how many are
    /// live in all.
    pub fn best(&self, pair: &Pair, now_ms: u64, depth: usize) -> (Vec<SignedQuote>, usize) {
        let Some(quotes) = self.pairs.get(pair) else {
            return (Vec::new(), 0);
        };
        let live = quotes
            .live
            .iter()
            .filter(|q| q.quote.expires_at_ms > now_ms);
        let total = live.clone().count();
        (live.take(depth).cloned().collect(), total)
    }

    /// The reference rate of `chain`'s currency in `other`'s at `now_ms`, from the live
    /// quotes both ways ([`ReferenceRate::of`]) but those of `exclude` (an exchanger pricing
    /// from the others' quotes).
    pub fn reference_rate(
        &self,
        chain: ChainId,
        other: ChainId,
        now_ms: u64,
        exclude: Option<Address>,
    ) -> Option<ReferenceRate> {
        let quotes = |give, get| {
            let (mut live, _) = self.best(&Pair { give, get }, now_ms, usize::MAX);
            live.retain(|q| Some(q.quote.exchanger) != exclude);
            live
        };
        ReferenceRate::of(quotes(chain, other), quotes(other, chain))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use myriad_types::{Rate, SecretKey};

    use super::*;

    fn chain(n: u8) -> ChainId {
        ChainId([n; 32])
    }

    fn quote(exchanger: u8, give: u64, get: u64, sequence: u64, expires_at_ms: u64) -> SignedQuote {
        let key = SecretKey::from_seed([exchanger; 32]);
        SignedQuote::sign(
            Quote {
                exchanger: key.address(),
                give_chain: chain(1),
                get_chain: chain(2),
                rate: Rate { give, get },
                min_give: 1,
                max_give: 1_000,
                expires_at_ms,
                give_account: key.address(),
                get_account: key.address(),
                sequence,
            },
            &key,
        )
    }

    const PAIR: Pair = Pair {
        give: ChainId([1; 32]),
        get: ChainId([2; 32]),
    };

    fn rates(book: &OrderBook, now_ms: u64) -> Vec<(u64, u64)> {
        let (live, _) = book.best(&PAIR, now_ms, usize::MAX);
        live.iter()
            .map(|q| (q.quote.rate.give, q.quote.rate.get))
            .collect()
    }

    #[test]
    fn quotes_are_served_best_first_and_a_newer_one_replaces_the_older() {
        let mut book = OrderBook::new(100, 100);
        assert_eq!(
            book.insert(quote(1, 10, 20, 1, 60_000), 0),
            Ok(Admission::Added)
        );
        assert_eq!(
            book.insert(quote(2, 10, 25, 1, 60_000), 0),
            Ok(Admission::Added)
        );
        assert_eq!(
            book.insert(quote(3, 10, 15, 1, 60_000), 0),
            Ok(Admission::Added)
        );
        assert_eq!(rates(&book, 0), [(10, 25), (10, 20), (10, 15)]);
        // Exchanger 2 lowers its rate: its newer quote replaces the older.
        assert_eq!(
            book.insert(quote(2, 10, 12, 2, 60_000), 0),
            Ok(Admission::Replaced)
        );
        assert_eq!(rates(&book, 0), [(10, 20), (10, 15), (10, 12)]);
        assert_eq!(book.len(), 3);
        // An older or equal sequence is refused.
        assert_eq!(
            book.insert(quote(2, 10, 30, 2, 60_000), 0),
            Err(BookError::NotNewer { held: 2, got: 2 })
        );
        assert_eq!(
            book.insert(quote(2, 10, 30, 1, 60_000), 0),
            Err(BookError::NotNewer { held: 2, got: 1 })
        );
    }

    #[test]
    fn expired_quotes_are_never_served_and_leave_at_the_sweep() {
        let mut book = OrderBook::new(100, 100);
        book.insert(quote(1, 10, 20, 1, 1_000), 0).unwrap();
        book.insert(quote(2, 10, 15, 1, 2_000), 0).unwrap();
        assert_eq!(rates(&book, 1_000), [(10, 15)]);
        assert!(matches!(
            book.insert(quote(3, 10, 15, 1, 1_000), 1_000),
            Err(BookError::Invalid(QuoteError::Expired { .. }))
        ));
        assert_eq!(book.expire(999), Vec::<Pair>::new());
        assert_eq!(book.expire(1_000), [PAIR]);
        assert_eq!(book.len(), 1);
        assert_eq!(book.expire(2_000), [PAIR]);
        assert!(book.is_empty());
        assert_eq!(book.pairs(), 0);
        // The exchangers' counts went with their quotes.
        assert!(book.by_exchanger.is_empty() && book.sizes.is_empty());
        assert!(book.expiries.is_empty());
    }

    #[test]
    fn a_full_pair_keeps_its_best_and_a_full_book_or_exchanger_takes_only_replacements() {
        let mut book = OrderBook::new(1_000, 1_000);
        for n in 0..QUOTES_PER_PAIR_MAX as u64 {
            book.insert(quote(n as u8 + 1, 100, 100 + n, 1, 60_000), 0)
                .unwrap();
        }
        assert_eq!(
            book.insert(quote(200, 100, 100, 1, 60_000), 0),
            Err(BookError::PairFull)
        );
        // A better one displaces the worst.
        book.insert(quote(201, 100, 500, 1, 60_000), 0).unwrap();
        assert_eq!(book.len(), QUOTES_PER_PAIR_MAX);
        assert_eq!(rates(&book, 0)[0], (100, 500));
        assert!(!rates(&book, 0).contains(&(100, 100)));

        // A full book makes room in its largest holder for another exchanger.
        let mut fair = OrderBook::new(3, 10);
        for n in 0..3u8 {
            let mut q = quote(1, 10, 20, 1, 60_000);
            q.quote.get_chain = chain(10 + n);
            fair.insert(q, 0).unwrap();
        }
        assert_eq!(
            fair.insert(quote(2, 10, 20, 1, 60_000), 0),
            Ok(Admission::Added)
        );
        assert_eq!(fair.len(), 3);
        let (one, two) = (
            SecretKey::from_seed([1; 32]).address(),
            SecretKey::from_seed([2; 32]).address(),
        );
        assert_eq!((fair.quotes_of(&one), fair.quotes_of(&two)), (2, 1));
        // Now the newcomer holds one less than the largest: no more room for it.
        let mut another = quote(2, 10, 20, 1, 60_000);
        another.quote.get_chain = chain(20);
        assert_eq!(fair.insert(another, 0), Err(BookError::Full(3)));

        let mut small = OrderBook::new(2, 1);
        small.insert(quote(1, 10, 20, 1, 60_000), 0).unwrap();
        let mut other_pair = quote(1, 10, 20, 1, 60_000);
        other_pair.quote.get_chain = chain(3);
        assert_eq!(
            small.insert(other_pair, 0),
            Err(BookError::ExchangerFull(1))
        );
        small.insert(quote(2, 10, 20, 1, 60_000), 0).unwrap();
        assert_eq!(
            small.insert(quote(3, 10, 90, 1, 60_000), 0),
            Err(BookError::Full(2))
        );
        assert_eq!(
            small.insert(quote(2, 10, 90, 2, 60_000), 0),
            Ok(Admission::Replaced)
        );
    }

    #[test]
    fn the_reference_rate_is_the_volume_weighted_median_of_both_sides() {
        let mut book = OrderBook::new(100, 100);
        // Holders sell chain 1 for chain 2 at 2.0 (volume 1000) and 2.2 (volume 100).
        book.insert(quote(1, 10, 20, 1, 60_000), 0).unwrap();
        let mut small = quote(2, 10, 22, 1, 60_000);
        small.quote.max_give = 100;
        book.insert(small, 0).unwrap();
        // Holders buy chain 1 with chain 2: 25 of chain 2 for 10 of chain 1 (2.5), up to
        // 1000 of chain 2 = 400 of chain 1.
        let mut buy = quote(3, 25, 10, 1, 60_000);
        buy.quote.give_chain = chain(2);
        buy.quote.get_chain = chain(1);
        book.insert(buy, 0).unwrap();
        let rate = book.reference_rate(chain(1), chain(2), 0, None).unwrap();
        // Weights: 2.0 → 1000, 2.2 → 100, 2.5 → 400; half of 1500 is reached at 2.0.
        assert_eq!(rate.median, Rate { give: 10, get: 20 });
        assert_eq!(rate.bid, Some(Rate { give: 10, get: 22 }));
        assert_eq!(rate.ask, Some(Rate { give: 10, get: 25 }));
        assert_eq!(rate.quotes.len(), 3);
        assert!(book.reference_rate(chain(1), chain(3), 0, None).is_none());
        assert!(book
            .reference_rate(chain(1), chain(2), 60_000, None)
            .is_none());
        // Without exchanger 1's quote: 2.2 (100) and 2.5 (400).
        let exchanger_1 = SecretKey::from_seed([1; 32]).address();
        let rate = book
            .reference_rate(chain(1), chain(2), 0, Some(exchanger_1))
            .unwrap();
        assert_eq!(rate.median, Rate { give: 10, get: 25 });
        assert_eq!(rate.quotes.len(), 2);
    }
}
