//! The host's core: every hosted chain, and the tick that moves them all.
//!
//! One tick: take the inbound messages and client commands → verify every signature in one
//! batch (bisecting to find bad ones) → feed consensus instances, build and check blocks
//! with the ledger → ONE store write with one fsync → sign what the guard approved → one
//! envelope per peer → acknowledge clients. Nothing is signed, sent or acknowledged before
//! the write that records it is durable.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::fmt;
use std::hash::{BuildHasherDefault, DefaultHasher};
use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError, Weak};

use myriad_consensus::{Approval, Effect, Equivocation, Input, Instance, SignerGuard};
use myriad_ledger::{
    apply, build_block, check_block, check_form, BlockTemplate, ChainState, TxError,
};
use myriad_net::{ChainMsg, EnvelopeBuilder, Inbound, Msg, SendError, Transport};
use myriad_store::{HostStore, StoreError, WriteBatch};
use myriad_types::{
    Block, Certificate, ChainId, Hash, Height, HostId, LockProof, Proposal, SecretKey,
    SignatureCheck, SignedGenesis, SignedProposal, SignedTransaction, SignedVote, SignerState,
    ValidatorSet, Vote,
};
use rand_core::CryptoRngCore;
use tokio::sync::{broadcast, oneshot};

use crate::config::HostConfig;
use crate::mempool::{AdmitError, Mempool, Room};
use crate::metrics::Metrics;
use crate::status::{Statuses, TxStatus};
use crate::timers::Timers;
use crate::verify::verify_groups;

/// The most messages for later heights one chain keeps while it catches up.
pub const FUTURE_MSGS_MAX: usize = 256;
/// The most blocks one answer to a `Need` carries.
pub const SYNC_BLOCKS_MAX: u64 = 64;
/// How long a transaction may wait in a mempool (for a nonce gap to fill) before it is dropped.
pub const MEMPOOL_TTL_MS: u64 = 120_000;
/// The most peers one tick asks for the genesis of a chain this host does not hold.
pub const GENESIS_ASKS_MAX: usize = 64;
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

/// One chain as the host holds it in memory.
#[derive(Debug)]
struct Slot {
    state: ChainState,
    head_hash: Hash,
    instance: Option<Instance>,
    guard: SignerGuard,
    lock_proof: Option<LockProof>,
    mempool: Mempool,
    /// Messages for heights above the instance's, with their senders.
    future: VecDeque<(HostId, Height, Msg)>,
    /// Post-states of blocks checked at the current height, by block hash.
    checked: HashMap<Hash, ChainState>,
}

impl Slot {
    /// A chain as stored: its state after block `head_hash`, and what its signer guard and
    /// lock last recorded.
    fn new(
        state: ChainState,
        head_hash: Hash,
        signer: Option<SignerState>,
        lock_proof: Option<LockProof>,
    ) -> Slot {
        Slot {
            state,
            head_hash,
            instance: None,
            guard: SignerGuard::recover(signer),
            lock_proof,
            mempool: Mempool::default(),
            future: VecDeque::new(),
            checked: HashMap::new(),
        }
    }

    fn is_idle(&self) -> bool {
        self.instance.is_none() && self.mempool.is_empty() && self.future.is_empty()
    }

    /// The hosts this chain's messages go to: its validators now and next, but this one.
    fn peers(&self, me: &HostId) -> Vec<HostId> {
        let meta = self.state.meta();
        let mut peers: Vec<HostId> = meta
            .validators
            .validators()
            .iter()
            .chain(meta.next_validators.iter().flat_map(|s| s.validators()))
            .map(|v| v.host)
            .filter(|h| h != me)
            .collect();
        peers.sort();
        peers.dedup();
        peers
    }

    /// Checks a block at the chain's next height (signatures aside, checked in the batch)
    /// and remembers the state after it.
    fn check(&mut self, block: &Block) -> Result<(), String> {
        let hash = block.hash();
        if self.checked.contains_key(&hash) {
            return Ok(());
        }
        let after = check_block(&self.state, &self.head_hash, block).map_err(|e| e.to_string())?;
        self.checked.insert(hash, after);
        Ok(())
    }
}

/// Something signed once the tick's writes are durable.
#[derive(Debug)]
enum Out {
    Vote(ChainId, Approval<Vote>),
    Proposal(ChainId, Approval<Proposal>, Block),
    /// A message to the chain's peers, or to one host.
    Send(ChainId, Msg, Option<HostId>),
}

/// Where an item of the tick came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Peer(HostId),
    /// This host's own signed message, fed back to its instance.
    Own,
}

#[derive(Debug)]
struct Item {
    source: Source,
    chain: ChainId,
    msg: Msg,
}

/// A decided block, acknowledged once durable.
#[derive(Debug)]
struct Decided {
    chain: ChainId,
    height: Height,
    block_hash: Hash,
    txs: Vec<Hash>,
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

/// The shared copy of `set`: validator sets are interned by hash, so chains with the same
/// validators hold one copy between them.
fn intern(
    sets: &mut HashMap<Hash, Weak<ValidatorSet>>,
    set: &Arc<ValidatorSet>,
) -> Arc<ValidatorSet> {
    let hash = set.hash();
    if let Some(shared) = sets.get(&hash).and_then(Weak::upgrade) {
        return shared;
    }
    sets.insert(hash, Arc::downgrade(set));
    set.clone()
}

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
    chains: FixedMap<ChainId, Slot>,
    /// One shared copy of each validator set, by hash.
    sets: HashMap<Hash, Weak<ValidatorSet>>,
    timers: Timers,
    chain_count: u64,
    mempool_txs: usize,
    mempool_bytes: usize,
    statuses: Arc<Mutex<Statuses>>,
    events: broadcast::Sender<HostEvent>,
    metrics: Arc<Metrics>,
    vote_log: Option<Box<dyn Write + Send>>,
    rng: Box<dyn CryptoRngCore + Send>,
    // The tick in progress.
    now_ms: u64,
    /// When the gauges were last reported.
    gauges_at_ms: u64,
    batch: WriteBatch,
    outbox: Vec<Out>,
    loopback: Vec<(ChainId, Msg)>,
    decided: Vec<Decided>,
    created: Vec<(ChainId, oneshot::Sender<Result<ChainId, CreateError>>)>,
    waiters: FixedMap<Hash, Vec<oneshot::Sender<Result<TxStatus, SubmitError>>>>,
    rejected: Vec<(Hash, ChainId, String)>,
    needs_sent: HashSet<(ChainId, HostId)>,
    genesis_asks: usize,
    synced_from: HashMap<(ChainId, HostId), u64>,
    penalized: HashSet<HostId>,
}

impl<S> fmt::Debug for Host<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Host")
            .field("me", &self.me)
            .field("chains_loaded", &self.chains.len())
            .field("chain_count", &self.chain_count)
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
        Ok(Host {
            me: key.host_id(),
            key,
            config,
            store,
            chains: FixedMap::default(),
            sets: HashMap::new(),
            timers: Timers::default(),
            chain_count,
            mempool_txs: 0,
            mempool_bytes: 0,
            statuses,
            events,
            metrics,
            vote_log,
            rng,
            now_ms: 0,
            gauges_at_ms: 0,
            batch: WriteBatch::new(),
            outbox: Vec::new(),
            loopback: Vec::new(),
            decided: Vec::new(),
            created: Vec::new(),
            waiters: FixedMap::default(),
            rejected: Vec::new(),
            needs_sent: HashSet::new(),
            genesis_asks: 0,
            synced_from: HashMap::new(),
            penalized: HashSet::new(),
        })
    }

    pub fn id(&self) -> HostId {
        self.me
    }

    /// Chains loaded in memory now.
    pub fn loaded_chains(&self) -> usize {
        self.chains.len()
    }

    // ---- the chain table ----

    /// Loads a chain from the store if it is not in memory. `false` if it is not hosted
    /// (or its stored state is unreadable, which is logged and leaves other chains alone).
    fn load(&mut self, chain: &ChainId) -> bool {
        if self.chains.contains_key(chain) {
            return true;
        }
        let loaded = (|| -> Result<Option<Slot>, StoreError> {
            let Some(mut state) = self.store.chain_state(chain)? else {
                return Ok(None);
            };
            let head = self.store.chain_head(chain)?;
            let signer = self.store.signer_state(chain)?;
            let lock_proof = self.store.lock_proof(chain)?;
            state.share_validators(|set| intern(&mut self.sets, set));
            let head_hash = head.map(|h| h.block_hash).unwrap_or(Hash::ZERO);
            Ok(Some(Slot::new(state, head_hash, signer, lock_proof)))
        })();
        match loaded {
            Ok(Some(slot)) => {
                self.chains.insert(*chain, slot);
                true
            }
            Ok(None) => false,
            Err(error) => {
                tracing::error!(%chain, %error, "cannot load chain");
                false
            }
        }
    }

    /// Unloads idle chains while more than the configured number are in memory.
    fn evict(&mut self) {
        let hot = self.config.limits.hot_chains;
        if self.chains.len() <= hot {
            return;
        }
        let target = hot - hot / 10;
        let idle: Vec<ChainId> = self
            .chains
            .iter()
            .filter(|(_, slot)| slot.is_idle())
            .map(|(chain, _)| *chain)
            .take(self.chains.len().saturating_sub(target))
            .collect();
        for chain in idle {
            self.chains.remove(&chain);
        }
        self.sets.retain(|_, set| set.strong_count() > 0);
    }

    // ---- the tick ----

    /// When the host next has something to do on its own: its own messages to handle (now),
    /// or its earliest timeout. `None`: nothing until a message or a command arrives.
    pub fn next_wake_ms(&self) -> Option<u64> {
        if self.loopback.is_empty() {
            self.timers.next_at_ms()
        } else {
            Some(self.now_ms)
        }
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
        let mut report = TickReport::default();
        let mut items: Vec<Item> = std::mem::take(&mut self.loopback)
            .into_iter()
            .map(|(chain, msg)| Item {
                source: Source::Own,
                chain,
                msg,
            })
            .collect();
        for Inbound { from, envelope } in inbound {
            items.extend(
                envelope
                    .items
                    .into_inner()
                    .into_iter()
                    .map(|ChainMsg { chain, msg }| Item {
                        source: Source::Peer(from),
                        chain,
                        msg,
                    }),
            );
        }
        report.messages = items.len() + commands.len();
        let mut submissions = Vec::new();
        let mut creations = Vec::new();
        for command in commands {
            match command {
                Command::Submit { tx, wait, reply } => submissions.push((tx, wait, reply)),
                Command::CreateChain { genesis, reply } => creations.push((genesis, reply)),
            }
        }

        // Every signature of the tick, grouped by the message carrying it, in one batch.
        let mut groups: Vec<Vec<SignatureCheck>> = Vec::with_capacity(items.len());
        let mut keep = Vec::with_capacity(items.len());
        for item in &items {
            let checks = self.signature_checks(item);
            keep.push(checks.is_ok());
            groups.push(checks.unwrap_or_default());
        }
        let mut admissions = Vec::new();
        for (tx, wait, reply) in submissions {
            match self.precheck(&tx) {
                Ok(()) => {
                    groups.push(vec![tx.signature_check()]);
                    admissions.push((tx, wait, reply));
                }
                Err(error) => {
                    let _ = reply.send(Err(error));
                }
            }
        }
        groups.extend(
            creations
                .iter()
                .map(|(genesis, _)| vec![genesis.signature_check()]),
        );
        report.signatures = groups.iter().map(Vec::len).sum();
        let verdicts = verify_groups(&groups, &mut *self.rng, &mut report.batches);
        self.metrics
            .signatures_verified
            .inc_by(report.signatures as u64);

        let mut work = Work::new();
        let mut verdicts = verdicts.into_iter();
        for (item, kept) in items.into_iter().zip(keep) {
            let valid = verdicts.next().unwrap_or(false);
            if !kept {
                continue;
            }
            if !valid {
                if let Source::Peer(peer) = item.source {
                    self.penalize(
                        transport,
                        peer,
                        &format!("sent a {} with a bad signature", item.msg.name()),
                    );
                }
                continue;
            }
            self.handle(item, &mut work);
        }
        for ((tx, wait, reply), valid) in admissions.into_iter().zip(verdicts.by_ref()) {
            if !valid {
                let error = SubmitError::Invalid(TxError::BadSignature(
                    myriad_types::SignatureError::Invalid(tx.tx.sender.to_string()),
                ));
                let _ = reply.send(Err(error));
                continue;
            }
            self.submit(tx, wait, reply, &mut work);
        }
        for ((genesis, reply), valid) in creations.into_iter().zip(verdicts) {
            if valid {
                self.create_chain(genesis, reply);
            } else {
                let error = myriad_types::GenesisError::Signature(
                    myriad_types::SignatureError::Invalid(genesis.genesis.owner.to_string()),
                );
                let _ = reply.send(Err(CreateError::Invalid(error.to_string())));
            }
        }
        for (chain, timeout) in self.timers.expired(now_ms) {
            if self.chains.contains_key(&chain) {
                work.push_back((chain, timeout.height, Input::Timeout(timeout)));
            }
        }
        self.feed(&mut work);
        self.expire_mempools();

        // One durable write, then sign, send and acknowledge.
        report.blocks = self.decided.len();
        #[cfg(feature = "canary")]
        if self.config.canary_ack_before_durable {
            report.txs = self.acknowledge();
        }
        let batch = std::mem::take(&mut self.batch);
        if !batch.is_empty() {
            self.store.commit(batch)?;
        }
        if let Some(log) = &mut self.vote_log {
            log.flush().map_err(HostError::VoteLog)?;
        }
        self.release(transport);
        report.txs += self.acknowledge();
        self.needs_sent.clear();
        self.genesis_asks = 0;
        self.synced_from.clear();
        self.penalized.clear();
        self.evict();
        if now_ms.saturating_sub(self.gauges_at_ms) >= GAUGES_EVERY_MS {
            self.gauges_at_ms = now_ms;
            self.report_gauges(transport);
        }
        Ok(report)
    }

    fn penalize(&mut self, transport: &dyn Transport, peer: HostId, reason: &str) {
        if self.penalized.insert(peer) {
            tracing::warn!(%peer, reason, "peer misbehaved");
            self.metrics.peers_penalized.inc();
            transport.penalize(peer, reason);
        }
    }

    /// The signatures an item carries, after the checks that need none; `Err` drops it.
    fn signature_checks(&mut self, item: &Item) -> Result<Vec<SignatureCheck>, ()> {
        // Own messages are trusted; a genesis needs no chain loaded, only its owner's signature.
        if item.source == Source::Own {
            return Ok(Vec::new());
        }
        if let Msg::Genesis(genesis) = &item.msg {
            return Ok(vec![genesis.signature_check()]);
        }
        if !self.load(&item.chain) {
            if let (Source::Peer(peer), Msg::Proposal(_) | Msg::Vote(_)) = (item.source, &item.msg)
            {
                self.ask_genesis(item.chain, peer);
            }
            return Err(());
        }
        let Some(slot) = self.chains.get(&item.chain) else {
            return Err(());
        };
        let unknown_txs = |txs: &[SignedTransaction]| -> Vec<SignatureCheck> {
            txs.iter()
                .filter(|tx| !slot.mempool.contains(&tx.hash()))
                .map(SignedTransaction::signature_check)
                .collect()
        };
        match &item.msg {
            Msg::Tx(tx) => {
                if slot.mempool.contains(&tx.hash()) || check_form(&item.chain, tx).is_err() {
                    return Err(());
                }
                Ok(vec![tx.signature_check()])
            }
            Msg::Proposal(signed) => {
                signed.check_block().map_err(drop)?;
                let mut checks = vec![signed.signature_check()];
                checks.extend(unknown_txs(&signed.block.txs));
                Ok(checks)
            }
            Msg::Vote(signed) => Ok(vec![signed.signature_check()]),
            Msg::Commit(block, certificate) => {
                // Only the next block can be checked against a known validator set.
                if block.header.height != slot.state.next_height()
                    || certificate.block_hash != block.hash()
                    || certificate.height != block.header.height
                    || certificate.chain_id != item.chain
                {
                    return Err(());
                }
                certificate
                    .check_signers(&slot.state.meta().validators)
                    .map_err(drop)?;
                let mut checks: Vec<SignatureCheck> = certificate.signature_checks().collect();
                checks.extend(unknown_txs(&block.txs));
                Ok(checks)
            }
            Msg::Need(_) | Msg::Genesis(_) => Ok(Vec::new()),
        }
    }

    /// The checks of a client's transaction that need no signature.
    fn precheck(&mut self, tx: &SignedTransaction) -> Result<(), SubmitError> {
        let chain = tx.tx.chain_id;
        if !self.load(&chain) {
            return Err(SubmitError::UnknownChain(chain));
        }
        check_form(&chain, tx).map_err(SubmitError::Invalid)
    }

    fn room(&self) -> Room {
        let limits = &self.config.limits;
        Room {
            chain_txs: limits.mempool_txs_per_chain,
            chain_bytes: limits.mempool_bytes_per_chain,
            host_txs_left: limits.mempool_txs_total.saturating_sub(self.mempool_txs),
            host_bytes_left: limits
                .mempool_bytes_total
                .saturating_sub(self.mempool_bytes),
        }
    }

    /// Admits a transaction to its chain's mempool; starts the chain's instance if idle.
    fn admit(&mut self, tx: SignedTransaction, work: &mut Work) -> Result<(), AdmitError> {
        let room = self.room();
        let now = self.now_ms;
        let chain = tx.tx.chain_id;
        let Some(slot) = self.chains.get_mut(&chain) else {
            return Ok(());
        };
        let bytes = slot.mempool.admit(tx, &slot.state, room, now)?;
        self.mempool_txs += 1;
        self.mempool_bytes += bytes;
        if slot.instance.is_none() {
            work.push_back((chain, slot.state.next_height(), Input::Start));
        }
        Ok(())
    }

    fn submit(
        &mut self,
        tx: SignedTransaction,
        wait: bool,
        reply: oneshot::Sender<Result<TxStatus, SubmitError>>,
        work: &mut Work,
    ) {
        let chain = tx.tx.chain_id;
        let hash = tx.hash();
        match self.admit(tx.clone(), work) {
            Err(error) => {
                let _ = reply.send(Err(SubmitError::Admit(error)));
            }
            Ok(()) => {
                let status = TxStatus::Pending { chain };
                self.set_status(hash, status.clone());
                self.outbox.push(Out::Send(chain, Msg::Tx(tx), None));
                if wait {
                    self.waiters.entry(hash).or_default().push(reply);
                } else {
                    let _ = reply.send(Ok(status));
                }
            }
        }
    }

    fn set_status(&self, hash: Hash, status: TxStatus) {
        self.statuses
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .set(hash, status.clone());
        let _ = self.events.send(HostEvent::Tx { hash, status });
    }

    /// Checks a genesis, whose owner's signature the tick's batch verified, against the rules
    /// and the host's policy, and starts hosting its chain.
    fn accept_genesis(
        &mut self,
        genesis: &SignedGenesis,
        named_only: bool,
    ) -> Result<ChainId, CreateError> {
        let set = genesis
            .genesis
            .validator_set()
            .map_err(|e| CreateError::Invalid(e.to_string()))?;
        let chain = genesis.genesis.chain_id();
        if self.load(&chain) {
            return Ok(chain);
        }
        if named_only && set.power_of(&self.me).is_none() {
            return Err(CreateError::NotNamed(self.me));
        }
        let policy = &self.config.policy;
        if let Some(owners) = &policy.owners {
            if !owners.contains(&genesis.genesis.owner) {
                return Err(CreateError::OwnerRefused(genesis.genesis.owner.to_string()));
            }
        }
        if let Some(max) = policy.chains_max {
            if self.chain_count >= max {
                return Err(CreateError::Full(max));
            }
        }
        let mut state = ChainState::from_verified_genesis(&genesis.genesis, set);
        state.share_validators(|set| intern(&mut self.sets, set));
        self.batch.put_genesis(genesis);
        self.batch.put_chain_state(&state, Hash::ZERO);
        state.clear_changed();
        let slot = Slot::new(state, Hash::ZERO, None, None);
        let peers = slot.peers(&self.me);
        self.chains.insert(chain, slot);
        self.chain_count += 1;
        for peer in peers {
            self.outbox
                .push(Out::Send(chain, Msg::Genesis(genesis.clone()), Some(peer)));
        }
        Ok(chain)
    }

    fn create_chain(
        &mut self,
        genesis: SignedGenesis,
        reply: oneshot::Sender<Result<ChainId, CreateError>>,
    ) {
        match self.accept_genesis(&genesis, true) {
            Ok(chain) => self.created.push((chain, reply)),
            Err(error) => {
                let _ = reply.send(Err(error));
            }
        }
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
                // A peer's copy: admitted quietly, never sent on again.
                let _ = self.admit(tx, work);
            }
            Msg::Proposal(signed) => {
                let height = signed.proposal.height;
                self.route(from, chain, height, Input::Proposal(signed), work);
            }
            Msg::Vote(signed) => {
                if from.is_some() {
                    self.log_vote(&signed);
                }
                let height = signed.vote.height;
                self.route(from, chain, height, Input::Vote(signed), work);
            }
            Msg::Commit(block, certificate) => {
                if let Some(peer) = from {
                    *self.synced_from.entry((chain, peer)).or_default() += 1;
                }
                self.commit(chain, block, certificate, work);
                if let Some(peer) = from {
                    if self.synced_from.get(&(chain, peer)) == Some(&SYNC_BLOCKS_MAX) {
                        // A full answer: there may be more.
                        self.need(chain, peer);
                    }
                }
            }
            Msg::Need(height) => {
                if let Some(peer) = from {
                    self.serve(chain, peer, height);
                }
            }
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

    /// Asks a peer for the blocks this host misses, once per tick.
    fn need(&mut self, chain: ChainId, peer: HostId) {
        let Some(slot) = self.chains.get(&chain) else {
            return;
        };
        if self.needs_sent.insert((chain, peer)) {
            let next = slot.state.next_height();
            self.outbox
                .push(Out::Send(chain, Msg::Need(next), Some(peer)));
        }
    }

    /// A peer runs consensus on a chain this host does not hold: perhaps the genesis sent
    /// to this host was lost. Asks the peer for everything from height 0, the genesis.
    fn ask_genesis(&mut self, chain: ChainId, peer: HostId) {
        if self.genesis_asks < GENESIS_ASKS_MAX && self.needs_sent.insert((chain, peer)) {
            self.genesis_asks += 1;
            self.outbox
                .push(Out::Send(chain, Msg::Need(Height(0)), Some(peer)));
        }
    }

    /// Sends a peer the durable blocks it misses, from `height` on; from height 0, a peer
    /// that validates the chain gets its genesis first.
    fn serve(&mut self, chain: ChainId, peer: HostId, height: Height) {
        let Some(slot) = self.chains.get(&chain) else {
            return;
        };
        if height == Height(0) && slot.peers(&self.me).contains(&peer) {
            match self.store.genesis(&chain) {
                Ok(Some(genesis)) => {
                    self.outbox
                        .push(Out::Send(chain, Msg::Genesis(genesis), Some(peer)));
                }
                Ok(None) => {}
                Err(error) => tracing::error!(%chain, %error, "cannot read a genesis"),
            }
        }
        let durable_top = slot.state.meta().height.0;
        let mut at = height.0.max(1);
        let end = durable_top.min(at.saturating_add(SYNC_BLOCKS_MAX - 1));
        while at <= end {
            let h = Height(at);
            let stored = self
                .store
                .block(&chain, h)
                .and_then(|block| Ok(block.zip(self.store.certificate(&chain, h)?)));
            match stored {
                Ok(Some((block, certificate))) => self.outbox.push(Out::Send(
                    chain,
                    Msg::Commit(block, certificate),
                    Some(peer),
                )),
                // Decided this tick and not yet durable: served next time.
                Ok(None) => return,
                Err(error) => {
                    tracing::error!(%chain, %error, "cannot read a block to serve");
                    return;
                }
            }
            at += 1;
        }
    }

    /// Hands a consensus message to the instance of its height; answers a peer that is
    /// behind, and buffers (and asks for what is missing) when this host is behind.
    fn route(
        &mut self,
        from: Option<HostId>,
        chain: ChainId,
        height: Height,
        input: Input,
        work: &mut Work,
    ) {
        let Some(slot) = self.chains.get_mut(&chain) else {
            return;
        };
        let next = slot.state.next_height();
        if height < next {
            if let Some(peer) = from {
                if self.needs_sent.insert((chain, peer)) {
                    self.serve(chain, peer, height);
                }
            }
        } else if height > next {
            let Some(peer) = from else { return };
            let msg = match input {
                Input::Proposal(p) => Msg::Proposal(p),
                Input::Vote(v) => Msg::Vote(v),
                _ => return,
            };
            if slot.future.len() >= FUTURE_MSGS_MAX {
                slot.future.pop_front();
            }
            slot.future.push_back((peer, height, msg));
            self.need(chain, peer);
        } else {
            work.push_back((chain, height, input));
        }
    }

    /// Runs inputs through instances until no work is left.
    fn feed(&mut self, work: &mut Work) {
        while let Some((chain, height, input)) = work.pop_front() {
            self.ensure_instance(chain, height, work);
            let consensus = &self.config.consensus;
            let Some(slot) = self.chains.get_mut(&chain) else {
                continue;
            };
            let Some(instance) = slot.instance.as_mut().filter(|i| i.height() == height) else {
                continue;
            };
            let effects = instance.handle(consensus, input);
            for effect in effects {
                self.effect(chain, height, effect, work);
            }
        }
    }

    /// Creates the instance of `height` if there is none: fresh, or resumed from the signer
    /// state and lock proof this host stored before a restart.
    fn ensure_instance(&mut self, chain: ChainId, height: Height, work: &mut Work) {
        let me = self.me;
        let consensus = &self.config.consensus;
        let Some(slot) = self.chains.get_mut(&chain) else {
            return;
        };
        if slot.instance.is_some() || slot.state.next_height() != height {
            return;
        }
        let validators = slot.state.meta().validators.clone();
        let effects = match slot.guard.last().filter(|state| state.height == height) {
            Some(state) => {
                let proof = slot.lock_proof.clone();
                let (instance, effects) =
                    Instance::recover(consensus, chain, me, validators, state, proof);
                slot.instance = Some(instance);
                effects
            }
            None => {
                slot.instance = Some(Instance::new(chain, height, me, validators));
                Vec::new()
            }
        };
        for effect in effects {
            self.effect(chain, height, effect, work);
        }
    }

    fn effect(&mut self, chain: ChainId, height: Height, effect: Effect, work: &mut Work) {
        let now = self.now_ms;
        let me = self.me;
        let block_txs = self.config.limits.block_txs;
        let Some(slot) = self.chains.get_mut(&chain) else {
            return;
        };
        match effect {
            Effect::SignVote(vote) => {
                if let Ok(approval) = slot.guard.approve_vote(vote) {
                    self.batch.put_signer_state(chain, approval.state());
                    self.outbox.push(Out::Vote(chain, approval));
                }
            }
            Effect::SignProposal { proposal, block } => {
                if let Ok(approval) = slot.guard.approve_proposal(proposal) {
                    self.batch.put_signer_state(chain, approval.state());
                    self.outbox.push(Out::Proposal(chain, approval, block));
                }
            }
            Effect::PersistLock(proof) => {
                self.batch.put_lock_proof(chain, &proof);
                slot.lock_proof = Some(proof);
            }
            Effect::Rebroadcast { proposal, votes } => {
                self.outbox
                    .extend(proposal.map(|p| Out::Send(chain, Msg::Proposal(p), None)));
                self.outbox.extend(
                    votes
                        .into_iter()
                        .map(|v| Out::Send(chain, Msg::Vote(v), None)),
                );
            }
            Effect::ScheduleTimeout { timeout, after_ms } => {
                self.timers.schedule(now + after_ms, chain, timeout);
            }
            Effect::BuildProposal { round } => {
                let block = self.build(chain, me, now, block_txs);
                work.push_back((chain, height, Input::ProposalBuilt { round, block }));
            }
            Effect::VerifyBlock(block) => {
                let block_hash = block.hash();
                let valid = match slot.check(&block) {
                    Ok(()) => true,
                    Err(error) => {
                        tracing::info!(%chain, %height, %error, "refusing a proposed block");
                        false
                    }
                };
                work.push_back((chain, height, Input::BlockVerdict { block_hash, valid }));
            }
            Effect::Decided { block, certificate } => self.decide(chain, block, certificate, work),
            Effect::Evidence(evidence) => {
                tracing::warn!(%chain, ?evidence, "a validator signed two conflicting messages");
                self.metrics.evidence.inc();
                let evidence = Box::new(evidence);
                let _ = self.events.send(HostEvent::Evidence { chain, evidence });
            }
        }
    }

    /// Builds the next block from the mempool. When nothing applies, the transactions that
    /// can never apply (their nonce is next, yet they fail) are rejected and dropped.
    fn build(&mut self, chain: ChainId, me: HostId, now: u64, block_txs: usize) -> Option<Block> {
        let slot = self.chains.get_mut(&chain)?;
        let template = BlockTemplate {
            prev_hash: slot.head_hash,
            timestamp_ms: now,
            proposer: me,
        };
        let candidates = slot.mempool.candidates();
        if let Some((block, after)) = build_block(&slot.state, &candidates, template, block_txs) {
            slot.checked.insert(block.hash(), after);
            return Some(block);
        }
        let state = &slot.state;
        let mut reasons = HashMap::new();
        let removed = slot.mempool.retain(|tx, _| {
            let next = state.account(&tx.tx.sender).nonce.saturating_add(1);
            if tx.tx.nonce != next {
                return true;
            }
            let mut scratch = state.clone();
            match apply(&mut scratch, tx) {
                Ok(_) => true,
                Err(error) => {
                    reasons.insert(tx.hash(), error.to_string());
                    false
                }
            }
        });
        self.removed_from_mempool(chain, removed, |hash| {
            Some(reasons.remove(hash).unwrap_or_default())
        });
        None
    }

    /// Accounts for transactions taken out of a chain's mempool; those `reason` names are
    /// rejected with it.
    fn removed_from_mempool(
        &mut self,
        chain: ChainId,
        removed: Vec<(SignedTransaction, usize)>,
        mut reason: impl FnMut(&Hash) -> Option<String>,
    ) {
        for (tx, bytes) in removed {
            self.mempool_txs -= 1;
            self.mempool_bytes -= bytes;
            let hash = tx.hash();
            if let Some(reason) = reason(&hash) {
                self.rejected.push((hash, chain, reason));
            }
        }
    }

    /// A catch-up block from a peer, its certificate verified in the batch: checked, then
    /// decided.
    fn commit(&mut self, chain: ChainId, block: Block, certificate: Certificate, work: &mut Work) {
        let Some(slot) = self.chains.get_mut(&chain) else {
            return;
        };
        // The batch checked the signatures against the set of the next height; an earlier
        // catch-up block of this tick may have changed it.
        if block.header.height != slot.state.next_height()
            || certificate
                .check_signers(&slot.state.meta().validators)
                .is_err()
        {
            return;
        }
        if let Err(error) = slot.check(&block) {
            tracing::warn!(%chain, %error, "refusing a certified block from a peer");
            return;
        }
        self.decide(chain, block, certificate, work);
    }

    fn decide(&mut self, chain: ChainId, block: Block, certificate: Certificate, work: &mut Work) {
        let Some(slot) = self.chains.get_mut(&chain) else {
            return;
        };
        if let Err(error) = slot.check(&block) {
            tracing::error!(%chain, %error, "consensus decided a block this host finds invalid");
            return;
        }
        let block_hash = block.hash();
        let Some(mut post) = slot.checked.remove(&block_hash) else {
            return;
        };
        let before: HashSet<HostId> = slot
            .state
            .meta()
            .validators
            .validators()
            .iter()
            .map(|v| v.host)
            .collect();
        post.share_validators(|set| intern(&mut self.sets, set));
        self.batch.put_block(&block, &certificate);
        self.batch.put_chain_state(&post, block_hash);
        post.clear_changed();
        slot.state = post;
        slot.head_hash = block_hash;
        slot.instance = None;
        slot.checked.clear();
        let state = &slot.state;
        let removed = slot
            .mempool
            .retain(|tx, _| tx.tx.nonce > state.account(&tx.tx.sender).nonce);
        let txs: Vec<Hash> = block.txs.iter().map(SignedTransaction::hash).collect();
        let height = block.header.height;
        // Hosts that join the validators get the genesis; they sync the blocks themselves.
        let joining: Vec<HostId> = slot
            .peers(&self.me)
            .into_iter()
            .filter(|h| !before.contains(h))
            .collect();
        let next = slot.state.next_height();
        let start = !slot.mempool.is_empty();
        let buffered: Vec<(HostId, Height, Msg)> = slot.future.drain(..).collect();
        let in_block: HashSet<Hash> = txs.iter().copied().collect();
        self.removed_from_mempool(chain, removed, |hash| {
            (!in_block.contains(hash))
                .then(|| "another transaction with the same nonce was committed".to_owned())
        });
        self.decided.push(Decided {
            chain,
            height,
            block_hash,
            txs,
        });
        if !joining.is_empty() {
            match self.store.genesis(&chain) {
                Ok(Some(genesis)) => {
                    for host in joining {
                        self.outbox.push(Out::Send(
                            chain,
                            Msg::Genesis(genesis.clone()),
                            Some(host),
                        ));
                    }
                }
                Ok(None) => {}
                Err(error) => tracing::error!(%chain, %error, "cannot read a genesis"),
            }
        }
        for (peer, at, msg) in buffered {
            let input = match msg {
                Msg::Proposal(p) => Input::Proposal(p),
                Msg::Vote(v) => Input::Vote(v),
                _ => continue,
            };
            self.route(Some(peer), chain, at, input, work);
        }
        if start {
            work.push_back((chain, next, Input::Start));
        }
    }

    /// Drops transactions that waited too long for a nonce gap to fill.
    fn expire_mempools(&mut self) {
        if self.mempool_txs == 0 {
            return;
        }
        let now = self.now_ms;
        let mut expired = Vec::new();
        for (chain, slot) in &mut self.chains {
            if slot.mempool.is_empty() {
                continue;
            }
            let removed = slot
                .mempool
                .retain(|_, admitted| now.saturating_sub(admitted) < MEMPOOL_TTL_MS);
            if !removed.is_empty() {
                expired.push((*chain, removed));
            }
        }
        let reason = format!(
            "expired after {} s in the mempool: its nonce never came next",
            MEMPOOL_TTL_MS / 1000
        );
        for (chain, removed) in expired {
            self.removed_from_mempool(chain, removed, |_| Some(reason.clone()));
        }
    }

    /// Signs what the guard approved (its state is durable now) and sends everything.
    fn release(&mut self, transport: &dyn Transport) {
        let mut envelopes: BTreeMap<HostId, EnvelopeBuilder> = BTreeMap::new();
        let mut peers_of: HashMap<ChainId, Vec<HostId>> = HashMap::new();
        for out in std::mem::take(&mut self.outbox) {
            let (chain, msg, to) = match out {
                Out::Vote(chain, approval) => {
                    let (vote, signature) = approval.sign(&self.key);
                    let signed = SignedVote {
                        vote,
                        voter: self.me,
                        signature,
                    };
                    self.loopback.push((chain, Msg::Vote(signed.clone())));
                    (chain, Msg::Vote(signed), None)
                }
                Out::Proposal(chain, approval, block) => {
                    let (proposal, signature) = approval.sign(&self.key);
                    let signed = SignedProposal {
                        proposal,
                        proposer: self.me,
                        signature,
                        block,
                    };
                    self.loopback.push((chain, Msg::Proposal(signed.clone())));
                    (chain, Msg::Proposal(signed), None)
                }
                Out::Send(chain, msg, to) => (chain, msg, to),
            };
            let recipients = match to {
                Some(host) => vec![host],
                None => peers_of
                    .entry(chain)
                    .or_insert_with(|| {
                        self.chains
                            .get(&chain)
                            .map(|slot| slot.peers(&self.me))
                            .unwrap_or_default()
                    })
                    .clone(),
            };
            for host in recipients {
                envelopes.entry(host).or_default().push(ChainMsg {
                    chain,
                    msg: msg.clone(),
                });
            }
        }
        for (host, builder) in envelopes {
            for envelope in builder.finish() {
                match transport.send(host, envelope) {
                    Ok(()) => {}
                    Err(SendError::Busy(_)) => {
                        self.metrics.sends_dropped.inc();
                    }
                    Err(error) => {
                        self.metrics.sends_dropped.inc();
                        tracing::debug!(%host, %error, "cannot send");
                    }
                }
            }
        }
    }

    /// Tells clients what became durable this tick. Returns the transactions committed.
    fn acknowledge(&mut self) -> usize {
        for (chain, reply) in std::mem::take(&mut self.created) {
            let _ = reply.send(Ok(chain));
        }
        self.metrics.chains_hosted.set(self.chain_count as i64);
        let mut txs = 0;
        for decided in std::mem::take(&mut self.decided) {
            self.metrics.blocks_committed.inc();
            self.metrics.txs_committed.inc_by(decided.txs.len() as u64);
            txs += decided.txs.len();
            for hash in &decided.txs {
                let status = TxStatus::Committed {
                    chain: decided.chain,
                    height: decided.height,
                };
                self.statuses
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .forget(hash);
                for waiter in self.waiters.remove(hash).into_iter().flatten() {
                    let _ = waiter.send(Ok(status.clone()));
                }
                let _ = self.events.send(HostEvent::Tx {
                    hash: *hash,
                    status,
                });
            }
            let _ = self.events.send(HostEvent::Head {
                chain: decided.chain,
                height: decided.height,
                block_hash: decided.block_hash,
                txs: decided.txs.len(),
            });
        }
        for (hash, chain, reason) in std::mem::take(&mut self.rejected) {
            let status = TxStatus::Rejected { chain, reason };
            self.set_status(hash, status.clone());
            for waiter in self.waiters.remove(&hash).into_iter().flatten() {
                let _ = waiter.send(Ok(status.clone()));
            }
        }
        txs
    }

    fn report_gauges(&self, transport: &dyn Transport) {
        let m = &self.metrics;
        m.chains_loaded.set(self.chains.len() as i64);
        let active = self
            .chains
            .values()
            .filter(|s| s.instance.is_some())
            .count();
        m.active_heights.set(active as i64);
        m.mempool_txs.set(self.mempool_txs as i64);
        m.mempool_bytes.set(self.mempool_bytes as i64);
        m.peers.set(transport.connected_peers() as i64);
    }

    /// Fails every client still waiting: the host is stopping.
    pub fn shut_down(&mut self) {
        for (_, waiters) in self.waiters.drain() {
            for waiter in waiters {
                let _ = waiter.send(Err(SubmitError::ShuttingDown));
            }
        }
    }
}
