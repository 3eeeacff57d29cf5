//! Block sync: a host that is behind asks a peer (`Need`) for the blocks from its next
//! height; the peer serves up to `SYNC_BLOCKS_MAX` durable blocks with their certificates
//! (and the genesis first when asked from height 0); the asker applies them and, after a
//! full answer, asks again. What sync did in a tick is forgotten at its end.

use std::collections::{HashMap, HashSet};

use myriad_net::Msg;
use myriad_store::HostStore;
use myriad_types::{Block, Certificate, ChainId, Height, HostId};

use super::outbox::Outbox;
use super::{Host, Work, GENESIS_ASKS_MAX, SYNC_BLOCKS_MAX};

/// Block sync's state for the tick in progress.
#[derive(Debug, Default)]
pub(super) struct BlockSync {
    /// The peers asked for (or served unasked) a chain's blocks this tick: once each.
    needs_sent: HashSet<(ChainId, HostId)>,
    /// How many peers were asked for a genesis this tick.
    genesis_asks: usize,
    /// How many blocks of a chain each peer's answer carried this tick.
    synced_from: HashMap<(ChainId, HostId), u64>,
}

impl BlockSync {
    /// `true` the first time this tick that sync with `peer` about `chain` is asked for:
    /// a host asks a peer, or serves a peer that is behind, once per tick.
    pub(super) fn first_this_tick(&mut self, chain: ChainId, peer: HostId) -> bool {
        self.needs_sent.insert((chain, peer))
    }

    /// Asks a peer for a chain's blocks from height `next`, once per tick; `true` if asked.
    fn ask(&mut self, chain: ChainId, peer: HostId, next: Height, outbox: &mut Outbox) -> bool {
        let first = self.needs_sent.insert((chain, peer));
        if first {
            outbox.send(chain, Msg::Need(next), peer);
        }
        first
    }

    /// A peer runs consensus on a chain this host does not hold: perhaps the genesis sent
    /// to this host was lost. Asks the peer for everything from height 0, the genesis.
    pub(super) fn ask_genesis(&mut self, chain: ChainId, peer: HostId, outbox: &mut Outbox) {
        if self.genesis_asks < GENESIS_ASKS_MAX && self.ask(chain, peer, Height(0), outbox) {
            self.genesis_asks += 1;
        }
    }

    /// Forgets the tick.
    pub(super) fn end_tick(&mut self) {
        self.needs_sent.clear();
        self.genesis_asks = 0;
        self.synced_from.clear();
    }
}

impl<S: HostStore> Host<S> {
    /// Asks a peer for the blocks this host misses, once per tick.
    pub(super) fn need(&mut self, chain: ChainId, peer: HostId) {
        let Some(slot) = self.table.get(&chain) else {
            return;
        };
        let next = slot.state.next_height();
        self.sync.ask(chain, peer, next, &mut self.outbox);
    }

    /// Sends a peer the durable blocks it misses, from `height` on; from height 0, a peer
    /// that validates the chain (or any peer, for the root) gets its genesis first.
    pub(super) fn serve(&mut self, chain: ChainId, peer: HostId, height: Height) {
        let Some(slot) = self.table.get(&chain) else {
            return;
        };
        let durable_top = slot.state.meta().height.0;
        // Anyone may follow the root chain; other chains' geneses go to their validators.
        let is_root = self.root.as_ref().is_some_and(|root| root.chain() == chain);
        if height == Height(0) && (is_root || slot.peers(&self.me).contains(&peer)) {
            self.send_genesis(chain, vec![peer]);
        }
        let mut at = height.0.max(1);
        let end = durable_top.min(at.saturating_add(SYNC_BLOCKS_MAX - 1));
        while at <= end {
            let h = Height(at);
            let stored = self.store.certified_block(&chain, h);
            match stored {
                Ok(Some((block, certificate))) => {
                    self.outbox
                        .send(chain, Msg::Commit(block, certificate), peer);
                }
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

    /// A block of a peer's answer: checked and decided; once the peer's answer proves
    /// full, the peer is asked for more.
    pub(super) fn apply_answer(
        &mut self,
        from: Option<HostId>,
        chain: ChainId,
        block: Block,
        certificate: Certificate,
        work: &mut Work,
    ) {
        if let Some(peer) = from {
            *self.sync.synced_from.entry((chain, peer)).or_default() += 1;
        }
        self.commit(chain, block, certificate, work);
        if let Some(peer) = from {
            if self.sync.synced_from.get(&(chain, peer)) == Some(&SYNC_BLOCKS_MAX) {
                // A full answer: there may be more.
                self.need(chain, peer);
            }
        }
    }
}
