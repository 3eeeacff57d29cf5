//! The host's core: every hosted chain, and the tick that moves them all.
//!
//! One tick: take the inbound messages and client commands → verify every signature in one
//! batch (bisecting to find bad ones) → feed consensus instances, build and check blocks
//! with the ledger → ONE store write with one fsync → sign what the guard approved → one
//! envelope per peer → acknowledge clients. Nothing is signed, sent or acknowledged before
//! the write that records it is durable.
//!
//! Each phase of the tick is a module with its own state: `intake` (the checks that need no
//! signature, and the tick's one signature batch), `driver` (consensus instances, blocks),
//! `sync` (blocks for whoever is behind), `mempools`, `genesis` (chains starting),
//! `outbox` (signing and sending) and `replies` (what clients hear); `table` holds the chains.

mod driver;
mod genesis;
mod intake;
mod load;
mod mempools;
mod outbox;
mod quotes;
mod replies;
mod root;
mod sync;
mod table;

use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;
use std::hash::{BuildHasherDefault, DefaultHasher};
use std::io::Write;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};

use myriad_consensus::{Equivocation, Input};
use myriad_ledger::TxError;
use myriad_net::{Inbound, Msg, Transport};
use myriad_store::{HostStore, StoreError, WriteBatch};
use myriad_types::{
    ChainId, Hash, Height, HostId, SecretKey, SignedGenesis, SignedQuote, SignedTransaction,
    SignedVote,
};
use rand_core::CryptoRngCore;
use tokio::sync::{broadcast, oneshot};

use crate::book::{Admission, BookError, OrderBook, Pair};
use crate::config::HostConfig;
use crate::mempool::AdmitError;
use crate::metrics::Metrics;
use crate::status::{Statuses, TxStatus};
use crate::timers::Timers;
use intake::{Item, Source};
use load::Load;
pub use load::HOST_BUSY;
use mempools::{Mempools, Origin};
use outbox::Outbox;
use replies::Replies;
use root::RootDuty;
pub use root::{RootView, SharedRootView};
pub use root::{
    ANCHOR_BACKLOG_MAX, ANCHOR_LOOKS_PER_TICK, ANCHOR_SCAN_PAGE, BACKUP_INTERVALS,
    EVIDENCE_QUEUE_MAX, IN_FLIGHT_MS, ROOT_POLL_MS,
};
use sync::BlockSync;
use table::ChainTable;

/// The most messages for later heights one chain keeps while it catches up.
pub const FUTURE_MSGS_MAX: usize = 256;
/// The most blocks one answer to a `Need` carries.
pub const SYNC_BLOCKS_MAX: u64 = 64;
/// The most peers one tick asks for the genesis of a chain this host does not hold.
pub const GENESIS_ASKS_MAX: usize = 64;
/// The most quotes one tick sends on to peers (each to every peer sharing its pair's
/// chains); the rest are kept but not gossiped, and counted.
pub const QUOTES_GOSSIPED_PER_TICK: usize = 4096;
/// How many changes of the order book's pairs a subscriber (a pair's event stream) may fall
/// behind by before it misses some (and is then sent the pair's book again).
pub const QUOTE_CHANGES_MAX: usize = 4096;
/// How far from this host's clock, in milliseconds, a client's new genesis may say it was
/// created. A chain's first block must come after its genesis, and validators take a block
/// only if its time is near their clocks, so a genesis from the future would stall its chain
/// until then; one from the past would claim a history its chain never had. A genesis a peer
/// relays is not held to it: a host that joins a chain's validators later gets an old one.
pub const GENESIS_CLOCK_SKEW_MS: u64 = 10 * 60_000;
/// The longest an idle host goes between ticks.
const IDLE_TICK_MS: u64 = 1000;
/// How often the gauges that count over every loaded chain are updated.
const GAUGES_EVERY_MS: u64 = 1000;

/// Why a transaction submitted by a client was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubmitError {
    #[error("chain {0} is not hosted here")]
    UnknownChain(ChainId),
    #[error("{0}")]
    Invalid(TxError),
    #[error("{0}")]
    Admit(AdmitError),
    #[error("the host is shutting down")]
    ShuttingDown,
}

/// Why a quote posted by a client was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuoteRefused {
    #[error("neither chain of the quote ({give}, {get}) is hosted here")]
    NotHosted { give: ChainId, get: ChainId },
    #[error("{0}")]
    Book(BookError),
    #[error("the exchanger's signature does not verify")]
    BadSignature,
    #[error("{0}")]
    Busy(&'static str),
    #[error("the host is shutting down")]
    ShuttingDown,
}

impl QuoteRefused {
    /// A short name for metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            QuoteRefused::NotHosted { .. } => "not_hosted",
            QuoteRefused::Book(error) => error.name(),
            QuoteRefused::BadSignature => "signature",
            QuoteRefused::Busy(_) => "busy",
            QuoteRefused::ShuttingDown => "shutting_down",
        }
    }
}

/// Why a genesis posted by a client was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CreateError {
    #[error("genesis is invalid: {0}")]
    Invalid(String),
    #[error("this host ({0}) is not among the genesis validators")]
    NotNamed(HostId),
    #[error("this host's policy refuses chains owned by {0}")]
    OwnerRefused(String),
    #[error("this host already holds its maximum of {0} chains")]
    Full(u64),
    #[error("genesis says it was created at {created_at_ms} ms, {} s {} this host's clock ({now_ms} ms); a new chain's genesis must be within {} s of it: build it again with the current time", created_at_ms.abs_diff(*now_ms) / 1000, if created_at_ms > now_ms { "after" } else { "before" }, GENESIS_CLOCK_SKEW_MS / 1000)]
    Clock { created_at_ms: u64, now_ms: u64 },
    #[error("the host is shutting down")]
    ShuttingDown,
}

/// A request from a client (the API) for the tick loop.
#[derive(Debug)]
pub enum Command {
    /// Admit a transaction. The reply comes once it is admitted, or, with `wait`, once it is
    /// committed durably or rejected.
    Submit {
        tx: SignedTransaction,
        wait: bool,
        reply: oneshot::Sender<Result<TxStatus, SubmitError>>,
    },
    /// Start hosting a chain. The reply comes once its genesis is durable.
    CreateChain {
        genesis: SignedGenesis,
        reply: oneshot::Sender<Result<ChainId, CreateError>>,
    },
    /// Put an exchanger's quote in the order book and gossip it.
    Quote {
        quote: SignedQuote,
        reply: oneshot::Sender<Result<Admission, QuoteRefused>>,
    },
}

/// What the host tells subscribers (the API's event stream).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostEvent {
    Head {
        chain: ChainId,
        height: Height,
        block_hash: Hash,
        txs: usize,
    },
    Tx {
        hash: Hash,
        status: TxStatus,
    },
    /// A validator signed two conflicting votes: the two are the evidence.
    Evidence {
        chain: ChainId,
        evidence: Box<Equivocation>,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum HostError {
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("vote log: {0}")]
    VoteLog(std::io::Error),
    #[error("cannot start the host's thread: {0}")]
    Thread(std::io::Error),
}

/// What one tick did, for the runner's metrics and logs.
#[derive(Debug, Default, Clone, Copy)]
pub struct TickReport {
    pub messages: usize,
    pub signatures: usize,
    pub batches: u64,
    pub blocks: usize,
    pub txs: usize,
}

type Work = VecDeque<(ChainId, Height, Input)>;

/// A map whose iteration order is the same in every run (its hasher has fixed keys), for
/// tables whose order reaches what the host sends or writes.
type FixedMap<K, V> = HashMap<K, V, BuildHasherDefault<DefaultHasher>>;

/// What a host's caller gives it of the outside world: where statuses, events, metrics and
/// received votes go, and the randomness that blinds batch verification. The host itself
/// reads no clock, file or OS random source.
pub struct HostIo {
    pub statuses: Arc<Mutex<Statuses>>,
    pub events: broadcast::Sender<HostEvent>,
    pub metrics: Arc<Metrics>,
    /// Where the votes received from peers are logged, one line each.
    pub vote_log: Option<Box<dyn Write + Send>>,
    pub rng: Box<dyn CryptoRngCore + Send>,
}

impl fmt::Debug for HostIo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HostIo")
            .field("vote_log", &self.vote_log.is_some())
            .finish_non_exhaustive()
    }
}

/// A host: its key, its store, and every chain it validates.
pub struct Host<S> {
    key: SecretKey,
    me: HostId,
    config: HostConfig,
    store: Arc<S>,
    /// The chains loaded in memory.
    table: ChainTable,
    timers: Timers,
    load: Load,
    mempools: Mempools,
    replies: Replies,
    metrics: Arc<Metrics>,
    vote_log: Option<Box<dyn Write + Send>>,
    rng: Box<dyn CryptoRngCore + Send>,
    // The tick in progress.
    now_ms: u64,
    /// When the gauges were last reported.
    gauges_at_ms: u64,
    batch: WriteBatch,
    outbox: Outbox,
    sync: BlockSync,
    /// Peers penalized this tick: once each.
    penalized: HashSet<HostId>,
    /// Exchangers' quotes, shared with the API.
    book: Arc<Mutex<OrderBook>>,
    /// Pairs whose quotes changed, for the API's event streams.
    quote_changes: broadcast::Sender<Pair>,
    /// Quotes sent on this tick.
    quotes_gossiped: usize,
    /// Following the root, registering and anchoring, when a root is configured.
    root: Option<RootDuty>,
    /// What readers see of the root.
    root_view: SharedRootView,
}

impl<S> fmt::Debug for Host<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Host")
            .field("me", &self.me)
            .field("chains_loaded", &self.table.len())
            .field("chain_count", &self.table.hosted())
            .finish_non_exhaustive()
    }
}

impl<S: HostStore> Host<S> {
    pub fn new(
        config: HostConfig,
        key: SecretKey,
        store: Arc<S>,
        io: HostIo,
    ) -> Result<Host<S>, HostError> {
        let chain_count = store.chain_count()?;
        let HostIo {
            statuses,
            events,
            metrics,
            vote_log,
            rng,
        } = io;
        metrics.chains_hosted.set(chain_count as i64);
        let root = config.root.clone().map(RootDuty::new);
        let book = Arc::new(Mutex::new(OrderBook::new(
            config.limits.book_quotes,
            config.limits.book_quotes_per_exchanger,
        )));
        Ok(Host {
            me: key.host_id(),
            key,
            table: ChainTable::new(
                config.limits.hot_chains,
                chain_count,
                config.root.as_ref().map(|root| root.chain),
            ),
            config,
            store,
            timers: Timers::default(),
            load: Load::default(),
            mempools: Mempools::default(),
            replies: Replies::new(statuses, events),
            metrics,
            vote_log,
            rng,
            now_ms: 0,
            gauges_at_ms: 0,
            batch: WriteBatch::new(),
            outbox: Outbox::default(),
            sync: BlockSync::default(),
            penalized: HashSet::new(),
            book,
            quote_changes: broadcast::channel(QUOTE_CHANGES_MAX).0,
            quotes_gossiped: 0,
            root,
            root_view: SharedRootView::default(),
        })
    }

    pub fn id(&self) -> HostId {
        self.me
    }

    /// The order book, for readers (the API).
    pub fn book(&self) -> Arc<Mutex<OrderBook>> {
        self.book.clone()
    }

    /// What readers see of the root chain, once the host holds it.
    pub fn root_view(&self) -> SharedRootView {
        self.root_view.clone()
    }

    /// Where the pairs whose quotes changed are told.
    pub fn quote_changes(&self) -> broadcast::Sender<Pair> {
        self.quote_changes.clone()
    }

    /// Chains loaded in memory now.
    pub fn loaded_chains(&self) -> usize {
        self.table.len()
    }

    // ---- the tick ----

    /// When the next tick is due, asked at `now_ms` after the tick that `report` describes:
    /// at the usual pace (`tick_ms`) while there is work, else at the host's own next need
    /// (its messages to handle, an anchor pass under way, its earliest timeout), and at
    /// least every `IDLE_TICK_MS`
    /// (mempool expiry, eviction and gauges run in ticks). An idle host then costs next to
    /// nothing; its caller brings the tick forward when something arrives meanwhile.
    pub fn next_tick_ms(&self, report: &TickReport, now_ms: u64) -> u64 {
        let pace = now_ms + self.config.tick_ms;
        if report.messages > 0 || report.blocks > 0 {
            return pace;
        }
        let looking = self.root.as_ref().is_some_and(RootDuty::looking);
        let wake = if self.outbox.has_loopback() || looking {
            Some(self.now_ms)
        } else {
            self.timers.next_at_ms()
        };
        let idle = now_ms + IDLE_TICK_MS;
        wake.unwrap_or(idle).clamp(pace, idle.max(pace))
    }

    /// Runs one tick at `now_ms`.
    pub fn tick(
        &mut self,
        now_ms: u64,
        inbound: Vec<Inbound>,
        commands: Vec<Command>,
        transport: &dyn Transport,
    ) -> Result<TickReport, HostError> {
        self.now_ms = now_ms;
        self.load
            .start_tick(now_ms, self.config.tick_ms, &self.config.limits);
        let mut report = TickReport::default();
        let inputs = self.take_inputs(inbound, commands);
        report.messages = inputs.len();
        let checked = self.intake(inputs, &mut report);
        let mut work = Work::new();
        self.handle_items(checked.items, transport, &mut work);
        self.handle_submissions(checked.submissions, &mut work);
        self.handle_creations(checked.creations);
        self.handle_quote_submissions(checked.quotes);
        self.expire_timers(&mut work);
        self.feed(&mut work);
        self.root_phase(&mut work);
        self.feed(&mut work);
        self.expire_mempools();
        self.expire_quotes();

        // One durable write, then sign, send and acknowledge.
        report.blocks = self.replies.blocks_decided();
        #[cfg(feature = "canary")]
        if self.config.canary_ack_before_durable {
            report.txs = self.acknowledge();
        }
        self.write()?;
        self.publish_root_view(transport);
        let root = self.root.as_ref().map(RootDuty::chain);
        self.outbox.release(
            &self.key,
            (self.me, root),
            &self.table,
            &self.metrics,
            transport,
        );
        report.txs += self.acknowledge();
        self.end_tick(transport);
        self.load.end_tick(report.messages > 0 || report.blocks > 0);
        Ok(report)
    }

    /// Handles one verified item.
    fn handle(&mut self, item: Item, work: &mut Work) {
        let Item { source, chain, msg } = item;
        let from = match source {
            Source::Peer(peer) => Some(peer),
            Source::Own => None,
        };
        match msg {
            Msg::Tx(tx) => {
                // A peer's copy: admitted by the same rules as a client's, quietly (the
                // refusal is counted), never sent on again.
                let _ = self.admit(tx, Origin::Peer, work);
            }
            Msg::Proposal(signed) => {
                let height = signed.proposal.height;
                let received_ms = self.now_ms;
                let input = Input::Proposal {
                    signed,
                    received_ms,
                };
                self.route(from, chain, height, input, work);
            }
            Msg::Vote(signed) => {
                if from.is_some() {
                    self.log_vote(&signed);
                }
                let height = signed.vote.height;
                self.route(from, chain, height, Input::Vote(signed), work);
            }
            Msg::Commit(block, certificate) => {
                self.apply_answer(from, chain, block, certificate, work);
            }
            Msg::Need(height) => {
                if let Some(peer) = from {
                    self.serve(chain, peer, height);
                }
            }
            // Handled with the transport, in `handle_items`.
            Msg::Quote(_) => {}
            Msg::Genesis(genesis) => {
                if genesis.genesis.chain_id() != chain {
                    return;
                }
                if let Err(error) = self.accept_genesis(&genesis, false) {
                    tracing::info!(%chain, %error, "not hosting a chain a peer offered");
                }
            }
        }
    }

    fn log_vote(&mut self, signed: &SignedVote) {
        let Some(log) = &mut self.vote_log else {
            return;
        };
        let v = &signed.vote;
        let block = v
            .block_hash
            .map(|h| h.to_string())
            .unwrap_or_else(|| "nil".to_owned());
        // A failed write shows at the tick's flush.
        let _ = writeln!(
            log,
            "{} {} {} {:?} {} {}",
            v.chain_id, v.height, v.round, v.step, signed.voter, block
        );
    }

    /// The tick's one store write (one fsync), with the vote log flushed: what the tick
    /// signs, sends and acknowledges next is durable from here on.
    fn write(&mut self) -> Result<(), HostError> {
        let batch = std::mem::take(&mut self.batch);
        if !batch.is_empty() {
            self.store.commit(batch)?;
        }
        if let Some(log) = &mut self.vote_log {
            log.flush().map_err(HostError::VoteLog)?;
        }
        Ok(())
    }

    /// Tells clients what became durable this tick. Returns the transactions committed.
    fn acknowledge(&mut self) -> usize {
        self.replies.acknowledge(&self.metrics, self.table.hosted())
    }

    /// Forgets the tick's own state, unloads idle chains, and now and then reports the
    /// gauges.
    fn end_tick(&mut self, transport: &dyn Transport) {
        self.sync.end_tick();
        self.penalized.clear();
        self.quotes_gossiped = 0;
        self.table.evict();
        if self.now_ms.saturating_sub(self.gauges_at_ms) >= GAUGES_EVERY_MS {
            self.gauges_at_ms = self.now_ms;
            self.report_gauges(transport);
        }
    }

    fn report_gauges(&self, transport: &dyn Transport) {
        let m = &self.metrics;
        m.chains_loaded.set(self.table.len() as i64);
        let active = self.table.slots().filter(|s| s.instance.is_some()).count();
        m.active_heights.set(active as i64);
        m.mempool_txs.set(self.mempools.txs() as i64);
        m.mempool_bytes.set(self.mempools.bytes() as i64);
        {
            let book = self.book.lock().unwrap_or_else(PoisonError::into_inner);
            m.book_quotes.set(book.len() as i64);
            m.book_pairs.set(book.pairs() as i64);
        }
        m.peers.set(transport.connected_peers() as i64);
        m.tick_smoothed_ms.set(self.load.tick_ms() as i64);
        // The transport counts its refusals; the counter follows its total.
        m.p2p_connections_refused
            .inner()
            .store(transport.connections_refused(), Ordering::Relaxed);
        let journal = self.store.journal_stats();
        m.store_checkpoints
            .inner()
            .store(journal.checkpoints, Ordering::Relaxed);
        m.store_stalls
            .inner()
            .store(journal.stalls, Ordering::Relaxed);
        m.store_journaled_bytes.set(journal.journaled_bytes as i64);
    }

    /// Fails every client still waiting: the host is stopping.
    pub fn shut_down(&mut self) {
        self.replies.shut_down();
    }
}
