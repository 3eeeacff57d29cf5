//! The root chain from a host's side (`[root]` in its configuration). The host holds the
//! root's state — as one of its validators, or as a follower that asks a root validator
//! every [`ROOT_POLL_MS`] for the blocks it misses — keeps itself registered in the root's
//! directory, and anchors the chains it validates.
//!
//! Anchoring: a chain whose head changed (a block committed, a genesis accepted) goes into
//! the backlog, and a scan of the store puts back, a page per interval, chains a restart
//! forgot. Every anchor interval (the root's `anchor_interval_ms`) the host looks through
//! the backlog, a bounded number of chains per tick, and sends one anchor transaction with
//! the geneses and certified heads the root does not have yet. Of a chain's validators,
//! one is on duty for it (picked by the chain's id); the others step in for a chain whose
//! anchor stays behind for [`BACKUP_INTERVALS`] intervals. A chain leaves the backlog once
//! the root shows its head anchored.
//!
//! Equivocations the host's consensus sees go to the root too, which slashes the bond of
//! the host that signed them.
//!
//! The host has one root transaction in flight at a time: the next waits until the root
//! state shows its nonce used, or until [`IN_FLIGHT_MS`] passed.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, PoisonError};

use myriad_ledger::{ChainState, TxError, ANCHOR_TX_BYTES_MAX};
use myriad_net::{Msg, Transport};
use myriad_store::HostStore;
use myriad_types::{
    encode, pack, AnchorEntry, AnchorPacking, AnchoredHead, BondProof, BoundedBytes, BoundedVec,
    ChainAnchor, ChainId, ChainKind, Equivocation, Hash, Height, HostAnnouncement, HostEntry,
    HostId, KnownSet, Object, ObjectKey, OwnerBond, RootParams, SignedTransaction, Transaction,
    TxKind, ANCHOR_ENTRIES_MAX, BONDS_PER_HEAD_MAX, SET_CHANGES_MAX,
};

use super::mempools::Origin;
use super::{Host, Work};
use crate::config::RootConfig;
use crate::metrics::kind;

/// How often a host that does not validate the root asks a root validator for new blocks.
pub const ROOT_POLL_MS: u64 = 1_000;
/// How long the host waits for its root transaction to commit before it sends anew.
pub const IN_FLIGHT_MS: u64 = 10_000;
/// How many anchor intervals a chain's anchor may stay behind before its validators that
/// are not on duty for it anchor it too.
pub const BACKUP_INTERVALS: u64 = 3;
/// Chains waiting to be looked at for anchoring; more are dropped (and counted), to be
/// found again by the store scan.
pub const ANCHOR_BACKLOG_MAX: usize = 2_000_000;
/// How many chains one tick looks at for anchoring.
pub const ANCHOR_LOOKS_PER_TICK: usize = 2_000;
/// How many stored chains the scan puts into the backlog per interval.
pub const ANCHOR_SCAN_PAGE: usize = 10_000;
/// Pieces of evidence waiting to go to the root; more are dropped (and counted).
pub const EVIDENCE_QUEUE_MAX: usize = 64;
/// Room kept in an anchor transaction for what wraps its entries.
const ANCHOR_TX_OVERHEAD: usize = 4_096;

/// What readers (the API) see of the root: its state as of its last durable block, and its
/// directory's hosts and validator sets by id. A copy of the state shares its trees, so a
/// view costs little to make and proofs come from it in O(log n).
#[derive(Debug, Clone)]
pub struct RootView {
    pub chain: ChainId,
    pub state: ChainState,
    pub hosts: BTreeMap<HostId, HostEntry>,
    pub sets: BTreeMap<Hash, KnownSet>,
    /// What owners bonded to each host, per chain.
    pub bonds: BTreeMap<(HostId, ChainId), OwnerBond>,
}

impl RootView {
    /// A view of `state`, its directory read from every object (once, when the root is
    /// first loaded).
    fn scan(state: &ChainState) -> RootView {
        let mut view = RootView {
            chain: state.chain_id(),
            state: state.clone(),
            hosts: BTreeMap::new(),
            sets: BTreeMap::new(),
            bonds: BTreeMap::new(),
        };
        for object in state.objects() {
            view.take(object.key(), Some(object));
        }
        view
    }

    /// The view after a block: the changed objects' entries replaced.
    fn after(&self, state: &ChainState) -> RootView {
        let mut view = RootView {
            state: state.clone(),
            ..self.clone()
        };
        for (key, object) in state.changed_objects() {
            view.take(key, object);
        }
        view
    }

    fn take(&mut self, key: ObjectKey, object: Option<&Object>) {
        match (key, object) {
            (ObjectKey::Host(host), Some(Object::Host(entry))) => {
                self.hosts.insert(host, entry.clone());
            }
            (ObjectKey::Host(host), _) => {
                self.hosts.remove(&host);
            }
            (ObjectKey::KnownSet(hash), Some(Object::KnownSet(known))) => {
                self.sets.insert(hash, known.clone());
            }
            (ObjectKey::KnownSet(hash), _) => {
                self.sets.remove(&hash);
            }
            (ObjectKey::OwnerBond(_), Some(Object::OwnerBond(bond))) => {
                self.bonds.insert((bond.host, bond.chain_id), bond.clone());
            }
            (ObjectKey::OwnerBond(key), _) => {
                self.bonds
                    .retain(|(host, chain), _| OwnerBond::key_of(host, chain) != key);
            }
            _ => {}
        }
    }

    /// What owners bonded to `host`, by chain.
    pub fn bonds_of(&self, host: &HostId) -> impl Iterator<Item = &OwnerBond> {
        let first = (*host, ChainId([0; 32]));
        let last = (*host, ChainId([0xff; 32]));
        self.bonds.range(first..=last).map(|(_, bond)| bond)
    }
}

/// The root view a host publishes for its readers; `None` until it holds the root.
pub type SharedRootView = Arc<Mutex<Option<Arc<RootView>>>>;

/// An anchor transaction being put together over several ticks.
#[derive(Debug, Default)]
struct Pass {
    /// Where the look through the backlog goes on from.
    after: Option<ChainId>,
    /// The entries so far.
    packing: AnchorPacking,
}

/// The host's root transaction waiting to commit.
#[derive(Debug, Clone, Copy)]
struct InFlight {
    nonce: u64,
    sent_ms: u64,
}

/// What the host keeps to follow the root, stay registered and anchor its chains.
#[derive(Debug)]
pub(super) struct RootDuty {
    config: RootConfig,
    backlog: BTreeSet<ChainId>,
    /// Chains touched this tick: they join the backlog once the tick's write made their
    /// heads durable (looked at before, the store's older head would take them out of the
    /// backlog).
    fresh: Vec<ChainId>,
    /// The store scan's place: chains after this one come next.
    scan_after: Option<ChainId>,
    /// Whether the store scan goes on: from the start until it has gone round the store
    /// once (what changes later is touched), and again once a chain was left out of the
    /// full backlog.
    scanning: bool,
    poll_at_ms: u64,
    polls: usize,
    /// When the registration is looked at next: once an anchor interval.
    register_at_ms: u64,
    next_pass_ms: u64,
    pass: Option<Pass>,
    /// Where the next pass starts when the last one filled its transaction: passes go
    /// round the backlog, so a busy chain early in it cannot starve the later ones.
    resume_after: Option<ChainId>,
    /// Whether the next pass goes on without waiting for the interval: the last one filled
    /// its transaction and sent it.
    go_on: bool,
    in_flight: Option<InFlight>,
    /// Equivocations seen, to submit to the root, oldest first.
    evidence: std::collections::VecDeque<Equivocation>,
    /// Chains where a validator bond changed, with the height it changed at: their next
    /// anchor carries the bonds' proofs.
    bonds_changed: BTreeMap<ChainId, Height>,
    /// The readers' view as last made, and the next one, published once its block is
    /// durable.
    view: Option<RootView>,
    staged: bool,
}

impl RootDuty {
    pub(super) fn new(config: RootConfig) -> RootDuty {
        RootDuty {
            config,
            backlog: BTreeSet::new(),
            fresh: Vec::new(),
            scan_after: None,
            scanning: true,
            poll_at_ms: 0,
            polls: 0,
            register_at_ms: 0,
            next_pass_ms: 0,
            pass: None,
            resume_after: None,
            go_on: false,
            in_flight: None,
            evidence: std::collections::VecDeque::new(),
            bonds_changed: BTreeMap::new(),
            view: None,
            staged: false,
        }
    }

    pub(super) fn chain(&self) -> ChainId {
        self.config.chain
    }

    /// Whether a pass is going through the backlog: it goes on at the next tick.
    pub(super) fn looking(&self) -> bool {
        self.pass.is_some()
    }

    pub(super) fn backlog(&self) -> usize {
        self.backlog.len() + self.fresh.len()
    }

    /// `chain`'s head changed: look at it from the next tick on. `false` if the backlog is
    /// full.
    pub(super) fn touched(&mut self, chain: ChainId) -> bool {
        if chain == self.config.chain {
            return true;
        }
        let held = self.backlog.len() + self.fresh.len();
        if held >= ANCHOR_BACKLOG_MAX && !self.backlog.contains(&chain) {
            self.scanning = true;
            return false;
        }
        self.fresh.push(chain);
        true
    }

    fn announcement(&self) -> Option<HostAnnouncement> {
        let text = |s: &str| BoundedBytes::new(s.as_bytes().to_vec()).ok();
        let announcement = HostAnnouncement {
            p2p: BoundedVec::new(vec![text(&self.config.announce_p2p)?]).ok()?,
            api_url: text(&self.config.announce_api)?,
        };
        announcement.check().ok().map(|()| announcement)
    }
}

/// The validator on duty to anchor `chain` among `hosts` (in id order).
fn on_duty(chain: &ChainId, hosts: usize) -> usize {
    let mut first = [0u8; 8];
    first.copy_from_slice(&chain.as_bytes()[..8]);
    (u64::from_le_bytes(first) % hosts.max(1) as u64) as usize
}

impl<S: HostStore> Host<S> {
    /// Queues evidence of a validator's equivocation for the root, which slashes the bond
    /// of a registered host.
    pub(super) fn root_evidence(&mut self, evidence: &Equivocation) {
        let Some(duty) = &mut self.root else {
            return;
        };
        let id = evidence.hash();
        if duty.evidence.iter().any(|queued| queued.hash() == id) {
            return;
        }
        if duty.evidence.len() >= EVIDENCE_QUEUE_MAX {
            self.metrics.evidence_dropped.inc();
            return;
        }
        duty.evidence.push_back(evidence.clone());
    }

    /// The next queued piece of evidence the root can act on: its host registered with a
    /// bond to slash, the evidence not yet taken. What it cannot act on is let go, so that
    /// a host that equivocates again and again, slashed already, does not keep this host's
    /// root transactions (and with them its anchors) busy.
    fn next_evidence(&self, duty: &mut RootDuty) -> Option<Equivocation> {
        let state = &self.table.get(&duty.chain())?.state;
        while let Some(evidence) = duty.evidence.pop_front() {
            let registered = matches!(
                state.object(&ObjectKey::Host(evidence.voter())),
                Some(Object::Host(entry)) if entry.is_registered(self.now_ms) && entry.bond > 0
            );
            let taken = state
                .object(&ObjectKey::Evidence(evidence.hash()))
                .is_some();
            if registered && !taken {
                return Some(evidence);
            }
        }
        None
    }

    /// After a block decided (its changed objects not yet cleared): a root block stages the
    /// readers' view of the root; a block of another chain that changed a validator bond
    /// has its next anchor carry the bonds' proofs.
    pub(super) fn root_decided(&mut self, chain: ChainId, state: &ChainState) {
        let Some(duty) = &mut self.root else {
            return;
        };
        if chain != duty.chain() {
            let bonds = state
                .changed_objects()
                .any(|(key, _)| matches!(key, ObjectKey::ValidatorBond(_)));
            let room = duty.bonds_changed.len() < ANCHOR_BACKLOG_MAX;
            if bonds && (room || duty.bonds_changed.contains_key(&chain)) {
                // The latest change counts: the anchor must reach it.
                duty.bonds_changed.insert(chain, state.meta().height);
            }
            return;
        }
        duty.view = Some(match &duty.view {
            Some(view) => view.after(state),
            None => RootView::scan(state),
        });
        duty.staged = true;
    }

    /// Once the tick's write is durable: hands the chains it touched to the anchor backlog,
    /// publishes the staged view of the root, and tells the transport where the hosts whose
    /// entries changed listen: how hosts find each other beyond their configured peers.
    pub(super) fn publish_root_view(&mut self, transport: &dyn Transport) {
        let Some(duty) = &mut self.root else {
            return;
        };
        let fresh = std::mem::take(&mut duty.fresh);
        duty.backlog.extend(fresh);
        if !std::mem::take(&mut duty.staged) {
            return;
        }
        let Some(view) = &duty.view else {
            return;
        };
        let mut shared = self
            .root_view
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        for (host, entry) in &view.hosts {
            let known = shared
                .as_ref()
                .is_some_and(|old| old.hosts.get(host) == Some(entry));
            if known || *host == self.me {
                continue;
            }
            for address in entry.announcement.p2p_text() {
                if let Ok(address) = address.parse::<std::net::SocketAddr>() {
                    transport.learn(*host, address);
                }
            }
        }
        *shared = Some(Arc::new(view.clone()));
    }

    /// Tells the root duty that `chain`'s head changed.
    pub(super) fn root_touched(&mut self, chain: ChainId) {
        if let Some(duty) = &mut self.root {
            if !duty.touched(chain) {
                self.metrics.anchor_backlog_dropped.inc();
            }
        }
    }

    /// The tick's root phase: follow the root, then go on with the anchor pass.
    pub(super) fn root_phase(&mut self, work: &mut Work) {
        let Some(mut duty) = self.root.take() else {
            return;
        };
        if self.now_ms >= duty.poll_at_ms {
            duty.poll_at_ms = self.now_ms + ROOT_POLL_MS;
            self.follow_root(&mut duty);
        }
        if let Some(params) = self.root_params(&mut duty) {
            self.anchor_step(&mut duty, params, work);
        }
        self.root = Some(duty);
    }

    /// The root's rules, once its genesis is here; `None` before, or if the configured
    /// chain is not a root (logged). The first time, the readers' view is made.
    fn root_params(&mut self, duty: &mut RootDuty) -> Option<RootParams> {
        let root = duty.chain();
        if !self.table.load(&*self.store, &root) {
            return None;
        }
        let state = &self.table.get(&root)?.state;
        if duty.view.is_none() {
            duty.view = Some(RootView::scan(state));
            duty.staged = true;
        }
        match state.meta().kind {
            ChainKind::Root(params) => Some(params),
            ChainKind::Personal => {
                tracing::error!(%root, "the configured root chain is not a root chain");
                None
            }
        }
    }

    /// Asks for the root's genesis if it is missing, and, when this host does not validate
    /// the root, one root validator (in turn) for the blocks it misses.
    fn follow_root(&mut self, duty: &mut RootDuty) {
        let root = duty.chain();
        duty.polls = duty.polls.wrapping_add(1);
        if !self.table.load(&*self.store, &root) {
            let peers = &self.config.peers;
            if let Some(peer) = peers.get(duty.polls % peers.len().max(1)) {
                self.sync.ask_genesis(root, peer.host, &mut self.outbox);
            }
            return;
        }
        let Some(slot) = self.table.get(&root) else {
            return;
        };
        let validators = slot.state.meta().validators.clone();
        if validators.power_of(&self.me).is_some() {
            return;
        }
        let hosts = validators.validators();
        let peer = hosts[duty.polls % hosts.len()].host;
        self.need(root, peer);
    }

    fn anchor_step(&mut self, duty: &mut RootDuty, params: RootParams, work: &mut Work) {
        let root = duty.chain();
        let Some(slot) = self.table.get(&root) else {
            return;
        };
        let me_on_root = myriad_types::Address::from(self.me);
        let nonce = slot.state.account(&me_on_root).nonce;
        if let Some(in_flight) = duty.in_flight {
            let waited = self.now_ms.saturating_sub(in_flight.sent_ms);
            if in_flight.nonce > nonce && waited < IN_FLIGHT_MS {
                return;
            }
            duty.in_flight = None;
        }
        let entry = match slot.state.object(&ObjectKey::Host(self.me)) {
            Some(Object::Host(entry)) => Some(entry.clone()),
            _ => None,
        };
        if self.now_ms >= duty.register_at_ms {
            duty.register_at_ms = self.now_ms + params.anchor_interval_ms;
            if let Some(kind) = self.registration(duty, &params, entry.as_ref(), nonce) {
                self.send_root_tx(duty, kind, nonce, work);
                return;
            }
        }
        if let Some(evidence) = self.next_evidence(duty) {
            let kind = TxKind::SubmitEvidence {
                evidence: Box::new(evidence.clone()),
            };
            if !self.send_root_tx(duty, kind, nonce, work) {
                // Refused here now (this host's mempool is full, say): tried again later.
                duty.evidence.push_back(evidence);
            }
            return;
        }
        if entry.is_none() {
            return;
        }
        if duty.pass.is_none() {
            // After a pass that filled its transaction and sent it the next goes on as soon
            // as that one committed; otherwise it waits for the interval.
            if self.now_ms < duty.next_pass_ms && !std::mem::take(&mut duty.go_on) {
                return;
            }
            duty.next_pass_ms = self.now_ms + params.anchor_interval_ms;
            self.scan_store(duty);
            duty.pass = Some(Pass {
                after: duty.resume_after.take(),
                ..Pass::default()
            });
        }
        if let Some(entries) = self.look(duty, &params) {
            let (entries, count) = self.drop_refused(duty, entries, nonce);
            self.metrics.anchored_heads_sent.inc_by(count as u64);
            // Within the bound: `look` stops at ANCHOR_ENTRIES_MAX.
            duty.go_on = match BoundedVec::new(entries) {
                Ok(entries) if !entries.is_empty() => {
                    let sent = self.send_root_tx(duty, TxKind::Anchor { entries }, nonce, work);
                    sent && duty.resume_after.is_some()
                }
                _ => false,
            };
        }
        self.metrics.anchor_backlog.set(duty.backlog() as i64);
    }

    /// The registration or renewal the host needs now, if any: none yet, a lease past its
    /// half, a bond below the minimum, or other addresses to announce. `None` too when the
    /// host's root account cannot pay the bond (logged).
    fn registration(
        &self,
        duty: &RootDuty,
        params: &RootParams,
        entry: Option<&HostEntry>,
        nonce: u64,
    ) -> Option<TxKind> {
        let announcement = duty.announcement()?;
        let half_lease = params.host_lease_ms / 2;
        let current = entry.filter(|entry| {
            entry.is_registered(self.now_ms)
                && entry.expires_at_ms.saturating_sub(self.now_ms) > half_lease
                && entry.bond >= params.host_bond_min
                && entry.announcement == announcement
        });
        if current.is_some() {
            return None;
        }
        let bond = params
            .host_bond_min
            .saturating_sub(entry.map_or(0, |entry| entry.bond));
        let root = duty.chain();
        let balance = self
            .table
            .get(&root)?
            .state
            .account(&myriad_types::Address::from(self.me))
            .balance;
        if balance < bond {
            tracing::warn!(%root, balance, bond, nonce, "cannot register in the root's directory: the host's root account cannot pay the bond");
            return None;
        }
        Some(TxKind::RegisterHost { announcement, bond })
    }

    /// Puts a page of stored chains into the backlog, while the scan goes on.
    fn scan_store(&mut self, duty: &mut RootDuty) {
        if !duty.scanning {
            return;
        }
        match self
            .store
            .chains(duty.scan_after.as_ref(), ANCHOR_SCAN_PAGE)
        {
            Ok(page) => {
                let round_done = page.len() < ANCHOR_SCAN_PAGE;
                duty.scan_after = page.last().map(|(chain, _)| *chain).filter(|_| !round_done);
                duty.scanning = !round_done;
                for (chain, _) in page {
                    if !duty.touched(chain) {
                        self.metrics.anchor_backlog_dropped.inc();
                    }
                }
            }
            Err(error) => tracing::error!(%error, "cannot list the stored chains"),
        }
    }

    /// Looks at the next chains of the backlog for this tick. Returns the pass's entries
    /// once it is done (the backlog looked through, or the transaction full) and has some.
    fn look(&mut self, duty: &mut RootDuty, params: &RootParams) -> Option<Vec<AnchorEntry>> {
        let root = duty.chain();
        let mut pass = duty.pass.take()?;
        let mut done = true;
        let start = pass.after;
        let candidates: Vec<ChainId> = match start {
            Some(after) => duty
                .backlog
                .range((std::ops::Bound::Excluded(after), std::ops::Bound::Unbounded))
                .take(ANCHOR_LOOKS_PER_TICK + 1)
                .copied()
                .collect(),
            None => duty
                .backlog
                .iter()
                .take(ANCHOR_LOOKS_PER_TICK + 1)
                .copied()
                .collect(),
        };
        for (looked, chain) in candidates.into_iter().enumerate() {
            if looked == ANCHOR_LOOKS_PER_TICK {
                done = false;
                break;
            }
            pass.after = Some(chain);
            let Some(root_slot) = self.table.get(&root) else {
                break;
            };
            let anchor = match root_slot.state.object(&ObjectKey::Anchor(chain)) {
                Some(Object::Anchor(anchor)) => Some(anchor.clone()),
                _ => None,
            };
            let bonds_since = duty.bonds_changed.get(&chain).copied();
            if let (Some(since), Some(anchor)) = (bonds_since, &anchor) {
                if anchor.height >= since {
                    duty.bonds_changed.remove(&chain);
                }
            }
            let bonds_since = duty.bonds_changed.get(&chain).copied();
            match self.entries_for(root, chain, anchor.as_ref(), params, bonds_since) {
                Ok(None) => {
                    duty.backlog.remove(&chain);
                }
                Ok(Some(entries)) => {
                    let room = ANCHOR_TX_BYTES_MAX - ANCHOR_TX_OVERHEAD;
                    if !pass.packing.fits(&entries, room, ANCHOR_ENTRIES_MAX) {
                        // Full: the next pass starts with this chain.
                        let last = pass.packing.entries().last();
                        duty.resume_after = last.and_then(AnchorEntry::chain_id);
                        break;
                    }
                    pass.packing.take(entries);
                }
                Err(()) => {}
            }
        }
        if !done {
            duty.pass = Some(pass);
            return None;
        }
        let entries = pass.packing.into_entries();
        (!entries.is_empty()).then_some(entries)
    }

    /// The entries the root would take, packed, and how many they were: the anchor
    /// transaction is first applied to a copy of the root's state (a copy shares its
    /// trees), and a chain whose entry it refuses is left out (logged, counted, and out of
    /// the backlog until its head changes again), so that one chain cannot hold up the
    /// others' anchors.
    fn drop_refused(
        &self,
        duty: &mut RootDuty,
        mut entries: Vec<AnchorEntry>,
        nonce: u64,
    ) -> (Vec<AnchorEntry>, usize) {
        let Some(slot) = self.table.get(&duty.chain()) else {
            return (Vec::new(), 0);
        };
        let time_ms = slot.state.next_block_time(self.now_ms);
        while !entries.is_empty() {
            let Ok(bounded) = BoundedVec::new(pack(entries.clone())) else {
                return (Vec::new(), 0);
            };
            let trial = SignedTransaction {
                tx: Transaction {
                    chain_id: duty.chain(),
                    sender: myriad_types::Address::from(self.me),
                    nonce: nonce + 1,
                    kind: TxKind::Anchor { entries: bounded },
                },
                // The ledger's rules do not read the signature; the batch checks it.
                signature: myriad_types::Signature([0; 64]),
            };
            if encode(&trial).len() > ANCHOR_TX_BYTES_MAX {
                // Taking a head out of a batch can grow it (its neighbours' leaves need a
                // sibling each): the last chain waits for the next pass.
                entries.pop();
                continue;
            }
            match myriad_ledger::apply(&mut slot.state.clone(), time_ms, &trial) {
                Ok(_) => {
                    let TxKind::Anchor { entries: packed } = trial.tx.kind else {
                        break;
                    };
                    return (packed.into_inner(), entries.len());
                }
                Err(TxError::Anchor { chain, error }) => {
                    tracing::warn!(%chain, %error, "the root would refuse this chain's anchor; left out");
                    self.metrics.anchors_refused.inc();
                    duty.backlog.remove(&chain);
                    entries.retain(|entry| entry.chain_id() != Some(chain));
                }
                Err(error) => {
                    tracing::warn!(%error, "the root would refuse this host's anchor transaction");
                    break;
                }
            }
        }
        (Vec::new(), 0)
    }

    /// What anchors `chain` up to its stored head, given its anchor on the root: `None`
    /// when it is anchored already (or is not hosted here); `Err` when this host is to
    /// wait (another validator is on duty, or a validator-set change it cannot prove).
    fn entries_for(
        &self,
        root: ChainId,
        chain: ChainId,
        anchor: Option<&ChainAnchor>,
        params: &RootParams,
        bonds_since: Option<Height>,
    ) -> Result<Option<Vec<AnchorEntry>>, ()> {
        let head = match self.store.chain_head(&chain) {
            Ok(Some(head)) => head,
            Ok(None) => return Ok(None),
            Err(error) => {
                tracing::error!(%chain, %error, "cannot read a chain's head to anchor it");
                return Err(());
            }
        };
        let anchored = anchor.map(|a| a.height);
        // The set changed since the root's anchor, which this head reaches: the anchored
        // head may be one the chain never decided (see `fork_evidence`).
        let maybe_forked = anchor.filter(|a| {
            a.forked_at.is_none()
                && a.height <= head.meta.height
                && head.meta.validators.hash() != a.validators_hash
        });
        if maybe_forked.is_none() && anchored.is_some_and(|height| height >= head.meta.height) {
            return Ok(None);
        }
        let genesis = match self.store.genesis(&chain) {
            Ok(Some(genesis)) => genesis,
            _ => return Err(()),
        };
        let hosts = head.meta.validators.validators();
        let duty = hosts.get(on_duty(&chain, hosts.len())).map(|v| v.host);
        if duty != Some(self.me) {
            // Another validator is on duty; step in only once the anchor has stayed behind
            // (since the last anchor, or the chain's creation) for a few intervals.
            let since = anchor.map_or(genesis.genesis.created_at_ms, |a| a.anchored_at_ms);
            let patience = params.anchor_interval_ms.saturating_mul(BACKUP_INTERVALS);
            if self.now_ms.saturating_sub(since) < patience {
                return Err(());
            }
        }
        if let Some(anchor) = maybe_forked {
            match self.fork_evidence(chain, anchor)? {
                Some(evidence) => return Ok(Some(vec![evidence])),
                None if anchor.height >= head.meta.height => return Ok(None),
                None => {}
            }
        }
        let known = match anchor {
            Some(anchor) => anchor.validators_hash,
            None => genesis.genesis.validator_set().map_err(drop)?.hash(),
        };
        let mut entries = Vec::new();
        if anchor.is_none() {
            entries.push(AnchorEntry::Genesis(Box::new(genesis)));
        }
        if head.meta.height.0 == 0 {
            return Ok(Some(entries));
        }
        // The set changes since the anchor, those below the head: the head is signed by the
        // set before a change it holds itself. Past `SET_CHANGES_MAX` of them, the chain is
        // anchored in steps: this time up to the block of the last change carried.
        let mut changes = match self.store.set_changes(&chain, anchored.unwrap_or_default()) {
            Ok(changes) => changes,
            Err(error) => {
                tracing::error!(%chain, %error, "cannot read a chain's set changes");
                return Err(());
            }
        };
        let mut height = head.meta.height;
        if changes.len() == SET_CHANGES_MAX {
            if let Some(last) = changes.pop() {
                height = last.header.height;
            }
        }
        changes.retain(|change| change.header.height < height);
        let (block, certificate) = match self.store.certified_block(&chain, height) {
            Ok(Some(found)) => found,
            _ => return Err(()),
        };
        let changes = if block.header.validators_hash == known {
            BoundedVec::default()
        } else {
            BoundedVec::new(changes).map_err(drop)?
        };
        let bonds = match bonds_since {
            Some(since) if height == head.meta.height && height >= since => {
                self.bond_proofs(root, chain, anchor, &head)?
            }
            _ => BoundedVec::default(),
        };
        entries.push(AnchorEntry::Head(Box::new(AnchoredHead {
            changes,
            header: block.header,
            certificate,
            bonds,
        })));
        Ok(Some(entries))
    }

    /// Evidence that `chain` forked at its anchored height, if the root anchored there a
    /// block other than the chain's: the chain's own header at that height, with the set
    /// changes that put in force the set certifying it. (A quorum of a set the chain had
    /// replaced can certify a head the root takes before the change is anchored; the
    /// chain's newer heads are refused until this shows the fork.)
    fn fork_evidence(
        &self,
        chain: ChainId,
        anchor: &ChainAnchor,
    ) -> Result<Option<AnchorEntry>, ()> {
        let (block, certificate) = match self.store.certified_block(&chain, anchor.height) {
            Ok(Some(found)) => found,
            Ok(None) => return Ok(None),
            Err(error) => {
                tracing::error!(%chain, %error, "cannot read a chain's block to compare it with its anchor");
                return Err(());
            }
        };
        if block.hash() == anchor.block_hash {
            return Ok(None);
        }
        let mut changes = match self.store.set_changes(&chain, anchor.validators_from) {
            Ok(changes) => changes,
            Err(error) => {
                tracing::error!(%chain, %error, "cannot read a chain's set changes");
                return Err(());
            }
        };
        changes.retain(|change| change.header.height < anchor.height);
        self.metrics.forks_shown.inc();
        tracing::warn!(%chain, height = %anchor.height, "the root anchored a block this chain did not decide: sending the chain's own header there, evidence of the fork");
        Ok(Some(AnchorEntry::Head(Box::new(AnchoredHead {
            changes: BoundedVec::new(changes).map_err(drop)?,
            header: block.header,
            certificate,
            bonds: BoundedVec::default(),
        }))))
    }

    /// Proofs, against `head`, of the validator bonds of `chain` (or of their absence): of
    /// the chain's validators now and of the set the root knows. All of them, not only those
    /// this host's copy of the root records otherwise: that copy may be behind the root.
    fn bond_proofs(
        &self,
        root: ChainId,
        chain: ChainId,
        anchor: Option<&ChainAnchor>,
        head: &myriad_store::ChainHead,
    ) -> Result<BoundedVec<BondProof, BONDS_PER_HEAD_MAX>, ()> {
        let root_state = &self.table.get(&root).ok_or(())?.state;
        let state = match self.table.get(&chain) {
            Some(slot) if slot.state.meta().height == head.meta.height => slot.state.clone(),
            _ => match self.store.chain_state(&chain) {
                Ok(Some(state)) if state.meta().height == head.meta.height => state,
                _ => return Err(()),
            },
        };
        let mut hosts: BTreeSet<HostId> = head
            .meta
            .validators
            .validators()
            .iter()
            .map(|v| v.host)
            .collect();
        if let Some(Object::KnownSet(known)) =
            anchor.and_then(|a| root_state.object(&ObjectKey::KnownSet(a.validators_hash)))
        {
            hosts.extend(known.validators.validators().iter().map(|v| v.host));
        }
        let mut proofs = Vec::new();
        for host in hosts.into_iter().take(BONDS_PER_HEAD_MAX) {
            let bond = match state.object(&ObjectKey::ValidatorBond(host)) {
                Some(Object::ValidatorBond(bond)) => Some(*bond),
                _ => None,
            };
            let proof = state.prove_object(&ObjectKey::ValidatorBond(host));
            proofs.push(BondProof {
                host,
                bond,
                proof: BoundedBytes::new(encode(&proof)).map_err(drop)?,
            });
        }
        BoundedVec::new(proofs).map_err(drop)
    }

    /// Signs a root transaction with the host key and sends it: into this host's own
    /// mempool and on to the root's other validators, or, from a follower, to them all.
    /// `false` if this host's own mempool refused it.
    fn send_root_tx(
        &mut self,
        duty: &mut RootDuty,
        what: TxKind,
        nonce: u64,
        work: &mut Work,
    ) -> bool {
        let root = duty.chain();
        let nonce = nonce + 1;
        let name = what.name();
        let tx = SignedTransaction::sign(
            Transaction {
                chain_id: root,
                sender: myriad_types::Address::from(self.me),
                nonce,
                kind: what,
            },
            &self.key,
        );
        let validates = self
            .table
            .get(&root)
            .is_some_and(|slot| slot.state.meta().validators.power_of(&self.me).is_some());
        if validates {
            if let Err(error) = self.admit(tx.clone(), Origin::Client, work) {
                tracing::warn!(%root, %error, "the host's own root transaction was refused");
                return false;
            }
        }
        self.outbox.broadcast(root, Msg::Tx(tx));
        self.metrics.root_txs_sent.get_or_create(&kind(name)).inc();
        duty.in_flight = Some(InFlight {
            nonce,
            sent_ms: self.now_ms,
        });
        true
    }
}
