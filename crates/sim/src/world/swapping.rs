//! The swaps of the workload in the world: started between two chains, stepped as their
//! transactions commit or are rejected, resent while in flight, and checked at the end: a
//! maker's escrow claimed means the taker's was (the secret is revealed only by the maker's
//! claim on the taker's chain), and an escrow is claimed only before it expires and refunded
//! only after (so the taker, whose lock expires first, has until the maker's expiry to claim
//! with the secret once it is out).

use myriad_store::ChainStore;
use myriad_types::{Escrow, EscrowState, Object, ObjectKey};

use crate::swaps::Swap;

use super::{Event, Reply, World};

/// How often the swaps are looked at.
pub(super) const SWAP_STEP_MS: u64 = 100;

impl World {
    /// A swap between two chains (different validator sets, most often), its traders
    /// funded by the chains' owners.
    pub(super) fn start_swap(&mut self) {
        if !self.faulty || self.chains.len() < 2 {
            return;
        }
        let maker = self.rng.below(self.chains.len() as u64) as usize;
        let mut taker = self.rng.below(self.chains.len() as u64 - 1) as usize;
        if taker >= maker {
            taker += 1;
        }
        let lock_ms = self.rng.between(SWAP_LOCK_MS_MIN, SWAP_LOCK_MS_MAX);
        let (maker_chain, taker_chain) = (self.chains[maker].id, self.chains[taker].id);
        let mut swap = Swap::new(&mut self.rng, maker_chain, taker_chain, self.now, lock_ms);
        for (chain, address, amount) in swap.traders() {
            let index = if chain == maker_chain { maker } else { taker };
            let mint = self.chains[index].clients.fund(chain, address, amount);
            swap.funding.push(mint.hash());
            self.send_tx(chain, mint);
        }
        self.log(|| format!("swap between {maker_chain} and {taker_chain} starts"));
        self.stats.swaps += 1;
        self.swaps.push(swap);
    }

    /// Sends each swap's next transaction, if it has one now.
    pub(super) fn step_swaps(&mut self) {
        for index in 0..self.swaps.len() {
            if let Some(next) = self.swaps[index].next(self.now) {
                self.submit_to_validator(next.chain, next.tx, Reply::Swap);
            }
        }
        if self.faulty || !self.swaps.is_empty() {
            self.push(self.now + SWAP_STEP_MS, Event::StepSwaps);
        }
    }

    /// What a decided block means for the swaps.
    pub(super) fn swaps_committed(&mut self, txs: &[myriad_types::Hash]) {
        for swap in &mut self.swaps {
            for tx in txs {
                swap.committed(tx);
            }
        }
    }

    /// The ledger rejected a swap's transaction: a claim or refund lost a race.
    pub(super) fn swap_rejected(&mut self, hash: &myriad_types::Hash) {
        for swap in &mut self.swaps {
            if swap.rejected(hash) {
                self.stats.swap_races_lost += 1;
            }
        }
    }

    /// Checks every swap against the honest nodes' final states (the furthest one of each
    /// chain): a claimed maker's escrow means a claimed taker's escrow, each escrow was
    /// claimed before it expired or refunded after, and nothing is left in flight.
    pub(super) fn check_swaps(&mut self) {
        let stores: Vec<_> = self
            .nodes
            .iter()
            .filter(|n| n.honest)
            .map(|n| n.store.clone())
            .collect();
        let escrow_of = |chain, escrow| -> Option<Escrow> {
            let state = stores
                .iter()
                .filter_map(|store| store.chain_state(&chain).ok().flatten())
                .max_by_key(|state| state.meta().height)?;
            match state.object(&ObjectKey::Escrow(escrow))? {
                Object::Escrow(escrow) => Some(escrow.clone()),
                _ => None,
            }
        };
        for swap in &self.swaps {
            if let Some(in_flight) = &swap.in_flight {
                self.checker.liveness(format!(
                    "a swap's {:?} is still in flight after the faults stopped",
                    in_flight.step
                ));
            }
            let maker = swap
                .maker_escrow
                .and_then(|e| escrow_of(swap.maker_chain, e));
            let taker = swap
                .taker_escrow
                .and_then(|e| escrow_of(swap.taker_chain, e));
            let maker_state = maker.as_ref().map(|e| &e.state);
            let taker_state = taker.as_ref().map(|e| &e.state);
            if matches!(maker_state, Some(EscrowState::Claimed { .. }))
                && !matches!(taker_state, Some(EscrowState::Claimed { .. }))
            {
                self.checker.swap_atomicity(format!(
                    "the maker's escrow on {} was claimed, the taker's on {} is {taker_state:?}",
                    swap.maker_chain, swap.taker_chain
                ));
            }
            for (side, escrow) in [("maker", &maker), ("taker", &taker)] {
                let Some(escrow) = escrow else { continue };
                let in_time = match escrow.state {
                    EscrowState::Open => true,
                    EscrowState::Claimed { at_ms, .. } => at_ms < escrow.expires_at_ms,
                    EscrowState::Refunded { at_ms } => at_ms >= escrow.expires_at_ms,
                };
                if !in_time {
                    self.checker.swap_atomicity(format!(
                        "the {side}'s escrow {} expiring at {} ms is {:?}",
                        escrow.id, escrow.expires_at_ms, escrow.state
                    ));
                }
            }
            match maker_state {
                Some(EscrowState::Claimed { .. }) => self.stats.swaps_completed += 1,
                Some(EscrowState::Refunded { .. }) => self.stats.swaps_refunded += 1,
                _ => {}
            }
        }
    }
}

/// How long a maker's lock lasts: long enough for the steps under faults, short enough
/// that many expire (and race their claims) within a run.
const SWAP_LOCK_MS_MIN: u64 = 3_000;
const SWAP_LOCK_MS_MAX: u64 = 30_000;
