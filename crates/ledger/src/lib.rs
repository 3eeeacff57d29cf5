//! Myriad's ledger: the pure, deterministic state machine of one chain — apply transactions,
//! build and check blocks, and keep an authenticated state root with proofs for accounts
//! and objects.
#![forbid(unsafe_code)]

mod apply;
mod block;
#[cfg(feature = "canary")]
pub mod canary;
mod modules;
mod proof;
mod scratch;
mod state;
pub mod tree;

pub use apply::{
    apply, check_form, check_stateless, execute_block, Receipt, TxError, ANCHOR_TX_BYTES_MAX,
    TX_BYTES_MAX,
};
pub use block::{
    build_block, check_block, BlockError, BlockOutcome, BlockTemplate, BLOCK_TX_BYTES_MAX,
};
pub use modules::{AnchorError, BlockContext, TakenBlock, ANCHOR_CLOCK_SKEW_MS, VESTING_MS_MAX};
pub use proof::{follow_from_anchor, AnchorProof, ProofError};
pub use scratch::Scratch;
pub use state::{
    state_root, verify_account, verify_object, ChainMeta, ChainState, InvariantError, StateProof,
};
