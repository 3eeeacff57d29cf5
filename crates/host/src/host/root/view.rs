//! The root as the host's readers (the API) see it, made once a root block is decided and
//! published once it is durable; and the bonds a decided block of another chain changed.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use myriad_ledger::ChainState;
use myriad_net::Transport;
use myriad_store::HostStore;
use myriad_types::{ChainId, Hash, HostEntry, HostId, KnownSet, Object, ObjectKey, OwnerBond};

use super::ANCHOR_BACKLOG_MAX;
use crate::host::Host;

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
    pub(super) fn scan(state: &ChainState) -> RootView {
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

impl<S: HostStore> Host<S> {
    /// After a block decided (its changed objects not yet cleared): a root block stages the
    /// readers' view of the root; a block of another chain that changed a validator bond
    /// has its next anchor carry the bonds' proofs.
    pub(in crate::host) fn root_decided(&mut self, chain: ChainId, state: &ChainState) {
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
    pub(in crate::host) fn publish_root_view(&mut self, transport: &dyn Transport) {
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
}
