//! The root chain from a host's side (`[root]` in its configuration). The host holds the
//! root's state — as one of its validators, or as a follower that asks a root validator
//! every [`ROOT_POLL_MS`] for the blocks it misses — keeps itself registered in the root's
//! directory, and anchors the chains it validates.
//!
//! Anchoring is in `anchoring`, what readers see of the root in `view`.
//!
//! Equivocations the host's consensus sees go to the root too, which slashes the bond of
//! the host that signed them.
//!
//! The host has one root transaction in flight at a time: the next waits until the root
//! state shows its nonce used, or until [`IN_FLIGHT_MS`] passed.

use std::collections::{BTreeMap, BTreeSet};

use myriad_net::Msg;
use myriad_store::HostStore;
use myriad_types::{
    AnchorPacking, BoundedBytes, BoundedVec, ChainId, ChainKind, Equivocation, Height,
    HostAnnouncement, HostEntry, Object, ObjectKey, RootParams, SignedTransaction, Transaction,
    TxKind,
};

mod anchoring;
mod view;

pub use view::{RootView, SharedRootView};

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
    /// A chain was left out of the full backlog during this round of the scan: another
    /// round follows it.
    rescan: bool,
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
            rescan: false,
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
            if self.scanning {
                self.rescan = true;
            }
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

    /// The next queued piece of evidence the root can act on: its host in the directory
    /// with a bond to slash (a lapsed registration's bond stays locked for `unbond_ms`), the evidence not yet taken. What it cannot act on is let go, so that
    /// a host that equivocates again and again, slashed already, does not keep this host's
    /// root transactions (and with them its anchors) busy.
    fn next_evidence(&self, duty: &mut RootDuty) -> Option<Equivocation> {
        let state = &self.table.get(&duty.chain())?.state;
        while let Some(evidence) = duty.evidence.pop_front() {
            let registered = matches!(
                state.object(&ObjectKey::Host(evidence.voter())),
                Some(Object::Host(entry)) if entry.bond > 0
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
