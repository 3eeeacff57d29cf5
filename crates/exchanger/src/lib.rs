//! An automated exchanger (`myriad exchanger run`).
//!
//! It publishes signed quotes for its pairs, priced by a rule (a fixed rate, or the hosts'
//! reference rate of the others' quotes less a spread) and sized by its inventory (it
//! stops quoting a pair whose payout chain is spent down to its reserve). A holder takes a
//! quote by locking on the give chain for the exchanger with the quote's hash as the lock's
//! memo. The exchanger, acting only on escrows it has verified as committed, checks the lock
//! against the quote, locks the payout on the get chain under the same hash lock with an
//! earlier expiry, claims the holder's escrow once the holder's claim reveals the secret,
//! and refunds its own lock if it expires unclaimed.
//!
//! Everything it publishes or does is in its journal first (fsynced): a quote before a host
//! sees it, a lock before it is first sent. After a crash it resumes every swap from the
//! journal, sending a swap's one recorded lock again rather than a new one, so it never
//! locks twice for one swap.
#![forbid(unsafe_code)]

pub mod config;
mod journal;
mod status;

use std::collections::btree_map::Entry as BTreeEntry;
use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::{anyhow, bail, Context as _, Result};
use myriad_api_types::ChainInfo;
use myriad_client::client::{Client, ClientError};
use myriad_client::genesis::now_ms;
use myriad_client::network::Network;
use myriad_client::objects::ObjectError;
use myriad_client::swap::check_time_left;
use myriad_client::transaction::SendOptions;
use myriad_types::{
    counter_expiry, decode, parse_amount, Address, Amount, ChainId, Escrow, EscrowId, EscrowState,
    Hash, Memo, Quote, Rate, ReferenceRate, SecretKey, SignedQuote, SignedTransaction, Transaction,
    TxKind,
};

pub use config::{ExchangerConfig, InventoryConfig, PairConfig};
pub use journal::{Journal, Record, Taken};
pub use status::{router, ExchangerStatus, InventoryStatus, QuoteStatus, SwapStatus};

/// How many of its account's latest transactions on a give chain it looks through for new
/// locks each pass.
pub const SCAN_TXS: usize = 100;
/// The most escrows it remembers as settled (done or refused), so as not to look at them
/// again.
pub const SETTLED_MAX: usize = 100_000;
/// The most pages of [`SCAN_TXS`] read back on a give chain in one pass.
pub const SCAN_PAGES: usize = 10;
/// Records appended after which the journal is rewritten with only what is live.
pub const COMPACT_AFTER: usize = 10_000;
/// How long after a quote expires it is kept, to honour a lock committed before its
/// expiry but seen after it.
pub const QUOTE_KEPT_MS: u64 = 600_000;

/// What the exchanger has done since it started, for `/metrics`.
#[derive(Debug, Default)]
pub struct Stats {
    pub quotes_published: AtomicU64,
    /// Quotes a host did not take.
    pub quotes_refused: AtomicU64,
    /// Pairs not quoted in a round: no reference rate, or inventory spent.
    pub pairs_skipped: AtomicU64,
    pub swaps_taken: AtomicU64,
    pub swaps_refused: AtomicU64,
    pub swaps_done: AtomicU64,
    pub locks: AtomicU64,
    pub claims: AtomicU64,
    pub refunds: AtomicU64,
    /// Steps that failed and are retried next pass (a host unreachable, a proof refused).
    pub failures: AtomicU64,
}

#[derive(Debug, Clone)]
struct Swap {
    taken: Taken,
    lock: Option<SignedTransaction>,
}

#[derive(Debug, Default)]
struct State {
    /// Its quotes, by hash, until they expire.
    quotes: HashMap<Hash, SignedQuote>,
    last_sequence: u64,
    swaps: BTreeMap<EscrowId, Swap>,
    settled: HashSet<EscrowId>,
    settled_order: VecDeque<EscrowId>,
    /// Each payout chain's balance above its reserve, as last seen.
    available: BTreeMap<ChainId, Amount>,
    next_refresh_ms: u64,
}

impl State {
    fn apply(&mut self, record: Record) {
        match record {
            Record::Quote(quote) => {
                self.last_sequence = self.last_sequence.max(quote.quote.sequence);
                self.quotes.insert(quote.hash(), quote);
            }
            Record::Taken(taken) => {
                self.swaps.insert(taken.escrow, Swap { taken, lock: None });
            }
            Record::Lock { escrow, tx } => {
                if let Some(swap) = self.swaps.get_mut(&escrow) {
                    swap.lock = Some(tx);
                }
            }
            Record::Refused { escrow, .. } | Record::Done { escrow } => {
                self.swaps.remove(&escrow);
                self.settle(escrow);
            }
        }
    }

    fn settle(&mut self, escrow: EscrowId) {
        if self.settled.insert(escrow) {
            self.settled_order.push_back(escrow);
            if self.settled_order.len() > SETTLED_MAX {
                if let Some(oldest) = self.settled_order.pop_front() {
                    self.settled.remove(&oldest);
                }
            }
        }
    }

    /// What the journal must hold to rebuild this state: live quotes, open swaps, and the
    /// escrows settled.
    fn records(&self, now_ms: u64) -> Vec<Record> {
        let mut records: Vec<Record> = self
            .quotes
            .values()
            .filter(|q| q.quote.expires_at_ms + QUOTE_KEPT_MS > now_ms)
            .cloned()
            .map(Record::Quote)
            .collect();
        for (escrow, swap) in &self.swaps {
            records.push(Record::Taken(swap.taken.clone()));
            if let Some(tx) = &swap.lock {
                records.push(Record::Lock {
                    escrow: *escrow,
                    tx: tx.clone(),
                });
            }
        }
        records.extend(
            self.settled_order
                .iter()
                .map(|escrow| Record::Done { escrow: *escrow }),
        );
        records
    }
}

/// The journal could not be written: the exchanger stops rather than act on what it does
/// not hold.
#[derive(Debug, thiserror::Error)]
#[error("the journal cannot be written: {0}")]
pub struct JournalFailed(String);

/// Whether `escrow` is what `lock` (a recorded lock transaction) opens.
fn is_recorded_lock(escrow: &Escrow, lock: &SignedTransaction) -> bool {
    match &lock.tx.kind {
        TxKind::Lock {
            to,
            amount,
            hash_lock,
            expires_at_ms,
            ..
        } => {
            escrow.locker == lock.tx.sender
                && escrow.to == *to
                && escrow.amount == *amount
                && escrow.hash_lock == *hash_lock
                && escrow.expires_at_ms == *expires_at_ms
        }
        _ => false,
    }
}

/// A running exchanger, shared by its loop and its status API.
#[derive(Debug, Clone)]
pub struct Exchanger {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: ExchangerConfig,
    key: SecretKey,
    network: Network,
    journal: Mutex<Journal>,
    state: Mutex<State>,
    stats: Stats,
    stop: AtomicBool,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Whole units (a decimal) of a chain's currency, in base units.
fn base_units(text: &str, info: &ChainInfo) -> Result<Amount> {
    parse_amount(text, info.decimals).map_err(|e| anyhow!("`{text}` of {}: {e}", info.symbol))
}

impl Exchanger {
    /// Opens the exchanger: its journal replayed, signing with `key`.
    pub fn open(config: ExchangerConfig, key: SecretKey) -> Result<Exchanger> {
        let (journal, records) = Journal::open(&config.journal)?;
        let mut state = State::default();
        for record in records {
            state.apply(record);
        }
        tracing::info!(
            swaps = state.swaps.len(),
            quotes = state.quotes.len(),
            "exchanger journal replayed"
        );
        Ok(Exchanger {
            inner: Arc::new(Inner {
                network: Network::new(&config.hosts),
                config,
                key,
                journal: Mutex::new(journal),
                state: Mutex::new(state),
                stats: Stats::default(),
                stop: AtomicBool::new(false),
            }),
        })
    }

    /// The account it quotes and trades with, on every chain.
    pub fn address(&self) -> Address {
        self.inner.key.address()
    }

    pub fn stats(&self) -> &Stats {
        &self.inner.stats
    }

    pub fn stop(&self) {
        self.inner.stop.store(true, Ordering::Relaxed);
    }

    /// Runs passes until [`Exchanger::stop`], on the calling thread; a journal that cannot
    /// be written stops it, with the error.
    pub fn run(&self) -> Result<()> {
        let poll = Duration::from_millis(self.inner.config.poll_ms);
        while !self.inner.stop.load(Ordering::Relaxed) {
            if let Err(error) = self.pass() {
                if error.downcast_ref::<JournalFailed>().is_some() {
                    self.stop();
                    return Err(error);
                }
                self.inner.stats.failures.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(%error, "exchanger pass failed; retrying");
            }
            std::thread::sleep(poll);
        }
        Ok(())
    }

    /// Appends `records` to the journal and applies them. A journal that cannot be written
    /// stops the exchanger ([`JournalFailed`]): nothing may be done that it does not hold.
    fn record(&self, records: Vec<Record>) -> Result<()> {
        let mut journal = lock(&self.inner.journal);
        journal
            .append(&records)
            .map_err(|e| anyhow::Error::new(JournalFailed(e.to_string())))?;
        let mut state = lock(&self.inner.state);
        for record in records {
            state.apply(record);
        }
        if journal.appended > COMPACT_AFTER {
            let now = now_ms();
            state
                .quotes
                .retain(|_, q| q.quote.expires_at_ms + QUOTE_KEPT_MS > now);
            journal
                .rewrite(&state.records(now))
                .map_err(|e| anyhow::Error::new(JournalFailed(e.to_string())))?;
        }
        Ok(())
    }

    /// One pass: every open swap moved on (those with a recorded lock first, in nonce
    /// order, so that claims and refunds never wait behind a lock not yet sent), new locks
    /// taken or refused, then quotes published afresh when due. A step that fails is
    /// counted and retried next pass; only a journal failure ends the pass.
    pub fn pass(&self) -> Result<()> {
        let mut swaps: Vec<Swap> = lock(&self.inner.state).swaps.values().cloned().collect();
        swaps.sort_by_key(|s| s.lock.as_ref().map_or(u64::MAX, |tx| tx.tx.nonce));
        for swap in swaps {
            self.step(self.advance(&swap), "move a swap on")?;
        }
        let give_chains: BTreeSet<ChainId> =
            self.inner.config.pairs.iter().map(|p| p.give).collect();
        for chain in give_chains {
            self.step(self.scan(chain), "look for new locks")?;
        }
        let due = lock(&self.inner.state).next_refresh_ms <= now_ms();
        if due {
            self.step(self.publish(), "publish quotes")?;
        }
        Ok(())
    }

    /// A step's outcome: a journal failure goes up; any other is counted and logged.
    fn step(&self, outcome: Result<()>, what: &str) -> Result<()> {
        match outcome {
            Err(error) if error.downcast_ref::<JournalFailed>().is_some() => Err(error),
            Err(error) => {
                self.inner.stats.failures.fetch_add(1, Ordering::Relaxed);
                tracing::info!(%error, "exchanger could not {what}");
                Ok(())
            }
            Ok(()) => Ok(()),
        }
    }

    /// The nonce for the account's next transaction on `chain`: past the committed one and
    /// past every recorded lock, committed or not.
    fn next_nonce(&self, client: &Client, chain: &ChainId) -> Result<u64> {
        let committed = client.account(chain, &self.address())?.nonce;
        let recorded = lock(&self.inner.state)
            .swaps
            .values()
            .filter_map(|s| s.lock.as_ref())
            .filter(|tx| tx.tx.chain_id == *chain)
            .map(|tx| tx.tx.nonce)
            .max()
            .unwrap_or(0);
        Ok(committed.max(recorded) + 1)
    }

    fn chain(&self, chain: &ChainId) -> Result<(Client, ChainInfo)> {
        self.inner
            .network
            .chain(chain)
            .map_err(|e| anyhow!("chain {chain}: {e}"))
    }

    /// What the account holds on `chain` above the chain's reserve.
    fn available(&self, client: &Client, info: &ChainInfo, chain: &ChainId) -> Result<Amount> {
        let balance: Amount = client
            .account(chain, &self.address())?
            .balance
            .parse()
            .context("a balance that is not a number")?;
        let reserve = match self
            .inner
            .config
            .inventory
            .iter()
            .find(|i| i.chain == *chain)
        {
            Some(inventory) => base_units(&inventory.reserve, info)?,
            None => 0,
        };
        Ok(balance.saturating_sub(reserve))
    }

    /// The rate of a pair now: its fixed rate, or the reference rate of the others' quotes
    /// less the spread.
    fn rate(&self, pair: &PairConfig, give: &ChainInfo, get: &ChainInfo) -> Result<Rate> {
        if let Some(rate) = &pair.rate {
            return Rate::from_decimal(rate, give.decimals, get.decimals).map_err(|e| anyhow!(e));
        }
        let spread = u128::from(pair.spread_bps.unwrap_or(0));
        let (client, _) = self.chain(&pair.give)?;
        let answer = client.reference_rate(&pair.give, &pair.get, Some(&self.address()))?;
        // The median taken again from the quotes themselves, each checked: a host's word
        // sets no price.
        let now = now_ms();
        let (mut sells, mut buys) = (Vec::new(), Vec::new());
        for info in &answer.quotes {
            let signed: SignedQuote = hex::decode(&info.quote)
                .ok()
                .and_then(|bytes| decode("quote", &bytes).ok())
                .context("the host served a quote that does not decode")?;
            signed
                .verify_signature()
                .map_err(|e| anyhow!("the host served a quote whose {e}"))?;
            let q = &signed.quote;
            if q.exchanger == self.address() || q.expires_at_ms <= now {
                continue;
            }
            match (q.give_chain, q.get_chain) {
                (give, get) if (give, get) == (pair.give, pair.get) => sells.push(signed),
                (give, get) if (give, get) == (pair.get, pair.give) => buys.push(signed),
                _ => bail!("the host served a quote of another pair"),
            }
        }
        sells.sort_by(|a, b| a.quote.cmp_best_first(&b.quote));
        buys.sort_by(|a, b| a.quote.cmp_best_first(&b.quote));
        let median = ReferenceRate::of(sells, buys)
            .context("no quote of another exchanger to take a reference rate from")?
            .median;
        let scaled = |side: u64, by: u128| u128::from(side).checked_mul(by);
        match (
            scaled(median.give, 10_000),
            scaled(median.get, 10_000 - spread),
        ) {
            (Some(give), Some(get)) => Rate::reduced(give, get)
                .context("the reference rate less the spread is too small to quote"),
            _ => bail!("the reference rate is too large to quote"),
        }
    }

    /// Publishes a quote for every pair it can quote now: recorded, then posted to every
    /// host.
    fn publish(&self) -> Result<()> {
        let config = &self.inner.config;
        let now = now_ms();
        let mut infos: HashMap<ChainId, (Client, ChainInfo)> = HashMap::new();
        let mut available: BTreeMap<ChainId, Amount> = BTreeMap::new();
        let mut quotes = Vec::new();
        let owed: HashMap<ChainId, Amount> = {
            let state = lock(&self.inner.state);
            let mut owed = HashMap::new();
            for swap in state.swaps.values().filter(|s| s.lock.is_none()) {
                *owed.entry(swap.taken.get_chain).or_default() += swap.taken.payout;
            }
            owed
        };
        for pair in &config.pairs {
            let quoted = (|| -> Result<Option<Quote>> {
                for chain in [pair.give, pair.get] {
                    if let Entry::Vacant(vacant) = infos.entry(chain) {
                        vacant.insert(self.chain(&chain)?);
                    }
                }
                let (Some((_, give)), Some((get_client, get))) =
                    (infos.get(&pair.give), infos.get(&pair.get))
                else {
                    return Ok(None);
                };
                let left = match available.entry(pair.get) {
                    BTreeEntry::Occupied(left) => *left.get(),
                    BTreeEntry::Vacant(vacant) => {
                        let above = self.available(get_client, get, &pair.get)?;
                        let owed = owed.get(&pair.get).copied().unwrap_or(0);
                        *vacant.insert(above.saturating_sub(owed))
                    }
                };
                let rate = self.rate(pair, give, get)?;
                let min = base_units(&pair.min, give)?;
                let max = base_units(&pair.max, give)?.min(rate.give_within(left));
                if rate.convert(min).unwrap_or(0) == 0 {
                    bail!("its least swap buys nothing at {}", rate.to_decimal(12));
                }
                if max < min {
                    return Ok(None);
                }
                let mut state = lock(&self.inner.state);
                state.last_sequence = state.last_sequence.max(now).saturating_add(1);
                Ok(Some(Quote {
                    exchanger: self.address(),
                    give_chain: pair.give,
                    get_chain: pair.get,
                    rate,
                    min_give: min,
                    max_give: max,
                    expires_at_ms: now + config.quote_lifetime_ms,
                    give_account: self.address(),
                    get_account: self.address(),
                    sequence: state.last_sequence,
                }))
            })();
            match quoted {
                Ok(Some(quote)) => quotes.push(SignedQuote::sign(quote, &self.inner.key)),
                Ok(None) => {
                    self.inner
                        .stats
                        .pairs_skipped
                        .fetch_add(1, Ordering::Relaxed);
                    tracing::info!(give = %pair.give, get = %pair.get, "not quoting a pair: its payout chain's inventory is spent");
                }
                Err(error) => {
                    self.inner
                        .stats
                        .pairs_skipped
                        .fetch_add(1, Ordering::Relaxed);
                    tracing::info!(give = %pair.give, get = %pair.get, %error, "not quoting a pair");
                }
            }
        }
        self.record(quotes.iter().cloned().map(Record::Quote).collect())?;
        {
            let mut state = lock(&self.inner.state);
            state.available = available;
            state.next_refresh_ms = now + config.refresh_ms;
            state
                .quotes
                .retain(|_, q| q.quote.expires_at_ms + QUOTE_KEPT_MS > now);
        }
        if quotes.is_empty() {
            return Ok(());
        }
        let mut taken = false;
        for client in &self.inner.network.clients {
            match client.post_quotes(&quotes) {
                Ok(results) => {
                    let refused = results.iter().filter(|r| r.code != 200).count();
                    taken |= refused < results.len();
                    self.inner
                        .stats
                        .quotes_refused
                        .fetch_add(refused as u64, Ordering::Relaxed);
                }
                Err(error) => {
                    tracing::info!(host = client.url(), %error, "a host did not take the quotes")
                }
            }
        }
        if taken {
            self.inner
                .stats
                .quotes_published
                .fetch_add(quotes.len() as u64, Ordering::Relaxed);
        }
        Ok(())
    }

    /// Looks for new locks for this exchanger on `chain` and takes or refuses each: its
    /// account's history read back, page by page, to the newest lock already known (at most
    /// [`SCAN_PAGES`] pages), then looked at oldest first. A lock that cannot be looked at
    /// now is counted and looked at next pass.
    fn scan(&self, chain: ChainId) -> Result<()> {
        let (client, info) = self.chain(&chain)?;
        let me = self.address();
        let mut new = Vec::new();
        let mut before: Option<String> = None;
        'pages: for _ in 0..SCAN_PAGES {
            let page = client.history(&chain, &me, before.as_deref(), SCAN_TXS)?;
            for entry in &page.txs {
                let tx = &entry.tx;
                if tx.kind != "lock" || tx.to.as_deref() != Some(&me.to_string()) {
                    continue;
                }
                let Some(id) = tx
                    .object
                    .as_deref()
                    .and_then(|o| o.parse::<EscrowId>().ok())
                else {
                    continue;
                };
                let state = lock(&self.inner.state);
                if state.swaps.contains_key(&id) || state.settled.contains(&id) {
                    break 'pages;
                }
                new.push((id, entry.timestamp_ms));
            }
            match page.next {
                Some(next) => before = Some(next),
                None => break,
            }
        }
        for (id, locked_at_ms) in new.into_iter().rev() {
            let escrow = match client.committed_escrow(&chain, &info, &id) {
                Ok(escrow) => escrow,
                Err(error) => {
                    self.inner.stats.failures.fetch_add(1, Ordering::Relaxed);
                    tracing::info!(escrow = %id, %error, "exchanger could not check a lock");
                    continue;
                }
            };
            let record = match self.take(&chain, &escrow, locked_at_ms) {
                Ok(taken) => {
                    self.inner.stats.swaps_taken.fetch_add(1, Ordering::Relaxed);
                    tracing::info!(escrow = %id, payout = %taken.payout, "exchanger took a swap");
                    Record::Taken(taken)
                }
                Err(reason) => {
                    self.inner
                        .stats
                        .swaps_refused
                        .fetch_add(1, Ordering::Relaxed);
                    tracing::info!(escrow = %id, %reason, "exchanger refused a lock");
                    Record::Refused { escrow: id, reason }
                }
            };
            self.record(vec![record])?;
        }
        Ok(())
    }

    /// Whether a holder's committed escrow on `chain`, locked by a block of time
    /// `locked_at_ms`, takes one of this exchanger's quotes safely; if so, the swap.
    fn take(&self, chain: &ChainId, escrow: &Escrow, locked_at_ms: u64) -> Result<Taken, String> {
        if escrow.state != EscrowState::Open {
            return Err("the escrow is closed already".into());
        }
        if escrow.to != self.address() {
            return Err(format!("the escrow pays {}, not this exchanger", escrow.to));
        }
        let quote = <[u8; 32]>::try_from(&*escrow.memo)
            .ok()
            .and_then(|hash| lock(&self.inner.state).quotes.get(&Hash(hash)).cloned())
            .ok_or("its memo names no quote of this exchanger")?
            .quote;
        if quote.give_chain != *chain {
            return Err(format!("the quote is for a lock on {}", quote.give_chain));
        }
        if locked_at_ms >= quote.expires_at_ms {
            return Err(format!(
                "locked at {locked_at_ms} ms, once the quote had expired at {} ms",
                quote.expires_at_ms
            ));
        }
        let payout = quote.get_for(escrow.amount).ok_or_else(|| {
            format!(
                "{} is outside the quote's bounds ({} to {})",
                escrow.amount, quote.min_give, quote.max_give
            )
        })?;
        let now = now_ms();
        check_time_left(escrow, now).map_err(|e| e.to_string())?;
        let left = escrow.expires_at_ms.saturating_sub(now);
        if left > self.inner.config.swap_ms_max {
            return Err(format!(
                "the escrow runs {} s, longer than this exchanger locks for ({} s)",
                left / 1000,
                self.inner.config.swap_ms_max / 1000
            ));
        }
        Ok(Taken {
            escrow: escrow.id,
            give_chain: quote.give_chain,
            get_chain: quote.get_chain,
            quote: quote.hash(),
            holder: escrow.locker,
            amount: escrow.amount,
            payout,
            hash_lock: escrow.hash_lock,
            holder_expires_at_ms: escrow.expires_at_ms,
        })
    }

    /// Records a swap given up, and why.
    fn give_up(&self, taken: &Taken, reason: String) -> Result<()> {
        self.inner
            .stats
            .swaps_refused
            .fetch_add(1, Ordering::Relaxed);
        tracing::warn!(escrow = %taken.escrow, %reason, "exchanger gave up a swap");
        self.record(vec![Record::Refused {
            escrow: taken.escrow,
            reason,
        }])
    }

    /// Moves one swap on as far as committed state allows.
    fn advance(&self, swap: &Swap) -> Result<()> {
        let taken = &swap.taken;
        let (give, give_info) = self.chain(&taken.give_chain)?;
        let (get, get_info) = self.chain(&taken.get_chain)?;
        let holder_escrow = give.committed_escrow(&taken.give_chain, &give_info, &taken.escrow)?;
        let Some(lock_tx) = &swap.lock else {
            return self.lock(taken, &holder_escrow, &get, &get_info);
        };
        let counter_id = EscrowId::derive(&taken.get_chain, &self.address(), lock_tx.tx.nonce);
        let not_found =
            |e: &ObjectError| matches!(e, ObjectError::Client(ClientError::NotFound { .. }));
        let counter = match get.committed_escrow(&taken.get_chain, &get_info, &counter_id) {
            Ok(counter) => counter,
            Err(error) if not_found(&error) => {
                // Recorded, not committed (yet): the same lock again, never another; unless
                // its nonce went to another transaction, and then it never will commit.
                let used = get.account(&taken.get_chain, &self.address())?.nonce;
                if used < lock_tx.tx.nonce {
                    return self.after_lock(taken, get.submit(lock_tx, true));
                }
                return match get.committed_escrow(&taken.get_chain, &get_info, &counter_id) {
                    Err(error) if not_found(&error) => self.give_up(
                        taken,
                        format!(
                            "its lock's nonce {} went to another transaction",
                            lock_tx.tx.nonce
                        ),
                    ),
                    Err(error) => Err(error.into()),
                    // Committed between the two looks: the next pass goes on from there.
                    Ok(_) => Ok(()),
                };
            }
            Err(error) => return Err(error.into()),
        };
        if !is_recorded_lock(&counter, lock_tx) {
            return self.give_up(
                taken,
                format!("escrow {counter_id} is not the lock recorded for this swap"),
            );
        }
        let now = now_ms();
        match counter.state {
            EscrowState::Claimed { secret, .. }
                if holder_escrow.state == EscrowState::Open
                    && now < holder_escrow.expires_at_ms =>
            {
                let claim = TxKind::Claim {
                    escrow: taken.escrow,
                    secret,
                };
                self.send(&give, &taken.give_chain, claim, &self.inner.stats.claims)?;
            }
            EscrowState::Open if now >= counter.expires_at_ms => {
                let refund = TxKind::Refund { escrow: counter.id };
                self.send(&get, &taken.get_chain, refund, &self.inner.stats.refunds)?;
            }
            _ => {}
        }
        let holder_escrow = give.committed_escrow(&taken.give_chain, &give_info, &taken.escrow)?;
        let counter = get.committed_escrow(&taken.get_chain, &get_info, &counter_id)?;
        let closed = |e: &Escrow| e.state != EscrowState::Open;
        // The holder's escrow open past its expiry is hers to refund (or a watcher's).
        let refunded = matches!(counter.state, EscrowState::Refunded { .. });
        if closed(&counter) && (closed(&holder_escrow) || refunded) {
            self.inner.stats.swaps_done.fetch_add(1, Ordering::Relaxed);
            tracing::info!(escrow = %taken.escrow, "exchanger swap over");
            self.record(vec![Record::Done {
                escrow: taken.escrow,
            }])?;
        }
        Ok(())
    }

    /// Locks the payout of a swap taken: recorded before it is sent, so that it is the only
    /// lock ever sent for this swap.
    fn lock(
        &self,
        taken: &Taken,
        holder_escrow: &Escrow,
        get: &Client,
        get_info: &ChainInfo,
    ) -> Result<()> {
        let now = now_ms();
        if holder_escrow.state != EscrowState::Open {
            return self.give_up(
                taken,
                "the holder's escrow closed before the exchanger locked".into(),
            );
        }
        if let Err(error) = check_time_left(holder_escrow, now) {
            return self.give_up(taken, error.to_string());
        }
        let available = self.available(get, get_info, &taken.get_chain)?;
        if available < taken.payout {
            return self.give_up(
                taken,
                format!(
                    "{} above the reserve on {}, the payout is {}",
                    available, taken.get_chain, taken.payout
                ),
            );
        }
        let lock = SignedTransaction::sign(
            Transaction {
                chain_id: taken.get_chain,
                sender: self.address(),
                nonce: self.next_nonce(get, &taken.get_chain)?,
                kind: TxKind::Lock {
                    to: taken.holder,
                    amount: taken.payout,
                    hash_lock: taken.hash_lock,
                    expires_at_ms: counter_expiry(holder_escrow.expires_at_ms, now),
                    memo: Memo::default(),
                },
            },
            &self.inner.key,
        );
        self.record(vec![Record::Lock {
            escrow: taken.escrow,
            tx: lock.clone(),
        }])?;
        self.after_lock(taken, get.submit(&lock, true))
    }

    fn after_lock(
        &self,
        taken: &Taken,
        answer: Result<myriad_api_types::TxStatusBody, ClientError>,
    ) -> Result<()> {
        match answer {
            Ok(status) if status.status == "committed" => {
                self.inner.stats.locks.fetch_add(1, Ordering::Relaxed);
                tracing::info!(escrow = %taken.escrow, tx = %status.hash, "exchanger locked its side");
                Ok(())
            }
            Ok(status) => {
                let reason = status.reason.unwrap_or(status.status);
                self.give_up(taken, format!("its lock was rejected: {reason}"))
            }
            // Still pending, or the host unreachable: looked at again next pass.
            Err(error) => Err(error.into()),
        }
    }

    /// Sends a claim or refund (past every recorded lock's nonce) and waits for it to commit.
    fn send(
        &self,
        client: &Client,
        chain: &ChainId,
        kind: TxKind,
        counter: &AtomicU64,
    ) -> Result<()> {
        let what = kind.name();
        let options = SendOptions {
            wait: true,
            nonce: Some(self.next_nonce(client, chain)?),
        };
        let sent = client.send(chain, &self.inner.key, kind, options)?;
        if sent.status.status == "committed" {
            counter.fetch_add(1, Ordering::Relaxed);
            tracing::info!(%chain, what, tx = %sent.status.hash, "exchanger acted on a swap");
        } else {
            tracing::info!(%chain, what, reason = ?sent.status.reason, "exchanger's transaction did not commit");
        }
        Ok(())
    }

    /// What the exchanger holds and does now.
    pub fn status(&self) -> ExchangerStatus {
        let state = lock(&self.inner.state);
        let now = now_ms();
        let mut quotes: Vec<&SignedQuote> = state
            .quotes
            .values()
            .filter(|q| q.quote.expires_at_ms > now)
            .collect();
        quotes.sort_by_key(|q| (q.quote.give_chain, q.quote.get_chain, q.quote.sequence));
        // The newest of each pair: the one the book serves.
        quotes.dedup_by(|later, earlier| {
            let same = (later.quote.give_chain, later.quote.get_chain)
                == (earlier.quote.give_chain, earlier.quote.get_chain);
            if same {
                std::mem::swap(later, earlier);
            }
            same
        });
        ExchangerStatus {
            address: self.address().to_string(),
            quotes: quotes.into_iter().map(status::quote_status).collect(),
            swaps: state
                .swaps
                .values()
                .map(|swap| status::swap_status(&swap.taken, swap.lock.as_ref()))
                .collect(),
            inventory: state
                .available
                .iter()
                .map(|(chain, available)| InventoryStatus {
                    chain: chain.to_string(),
                    available: available.to_string(),
                })
                .collect(),
        }
    }
}
