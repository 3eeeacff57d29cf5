//! Deliberately broken rules, for the simulator's canaries: a run that turns one on must be
//! caught by its checkers. Compiled only with the `canary` feature, which no host has; each
//! rule is set for the calling thread, on which a simulator run does all its work.

use std::cell::Cell;

thread_local! {
    static CLAIM_AFTER_EXPIRY: Cell<bool> = const { Cell::new(false) };
    static ANCHOR_WITHOUT_QUORUM: Cell<bool> = const { Cell::new(false) };
}

/// Lets an escrow be claimed after it expired, cutting short the time the other side of a
/// swap has to claim with the secret that claim reveals.
pub fn set_claim_after_expiry(on: bool) {
    CLAIM_AFTER_EXPIRY.set(on);
}

pub(crate) fn claim_after_expiry() -> bool {
    CLAIM_AFTER_EXPIRY.get()
}

/// Lets the root anchor a head whatever its certificate's signers hold of the chain's set.
pub fn set_anchor_without_quorum(on: bool) {
    ANCHOR_WITHOUT_QUORUM.set(on);
}

pub(crate) fn anchor_without_quorum() -> bool {
    ANCHOR_WITHOUT_QUORUM.get()
}
