//! The ledger's transaction kinds, one module per family: each checks the shape of its
//! kinds (what needs no state) and applies them to a view of the state in a block's
//! context. The common part — chain, nonce, receipt — is [`crate::apply`]'s.
//!
//! Every module makes all its checks before its first write, so a rejected transaction
//! leaves the state as it was.

mod allowlist;
mod bond;
mod channel;
mod currency;
mod escrow;
mod governance;
mod root;

pub use bond::VESTING_MS_MAX;
pub use root::{AnchorError, TakenBlock, ANCHOR_CLOCK_SKEW_MS};

use myriad_types::{Account, Address, Amount, ChainParams, Height, ObjectKey, TxKind};

use crate::apply::TxError;
use crate::state::{ChainMeta, StateView};

/// What a transaction's rules may read besides the state: the block it is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockContext {
    pub height: Height,
    /// The block's time, in ms since the Unix epoch.
    pub time_ms: u64,
    pub params: ChainParams,
}

impl BlockContext {
    /// The context of the block after the state `meta` describes, at `time_ms`.
    pub fn next(meta: &ChainMeta, time_ms: u64) -> BlockContext {
        BlockContext {
            // A chain of 2^64 blocks is out of reach; saturate rather than panic.
            height: meta.height.next().unwrap_or(meta.height),
            time_ms,
            params: meta.params,
        }
    }
}

/// A transaction being applied: its sender, its nonce and the sender's entry once the nonce
/// is taken, which the module writes with whatever else it changes.
pub(crate) struct Sending {
    pub sender: Address,
    pub nonce: u64,
    pub sender_after: Account,
}

/// What an applied transaction touched besides its sender.
#[derive(Debug, Default)]
pub(crate) struct Touched {
    pub accounts: Vec<Address>,
    pub objects: Vec<ObjectKey>,
}

impl Touched {
    fn account(account: Address) -> Touched {
        Touched {
            accounts: vec![account],
            objects: Vec::new(),
        }
    }

    fn object(object: ObjectKey, accounts: Vec<Address>) -> Touched {
        Touched {
            accounts,
            objects: vec![object],
        }
    }
}

/// The checks of a transaction's kind that need no state.
pub(crate) fn check_shape(kind: &TxKind) -> Result<(), TxError> {
    match kind {
        TxKind::Mint { amount, .. }
        | TxKind::Transfer { amount, .. }
        | TxKind::Burn { amount }
        | TxKind::Lock { amount, .. }
        | TxKind::OpenChannel { amount, .. }
        | TxKind::TopUpChannel { amount, .. } => nonzero(*amount),
        TxKind::BondValidator {
            amount, vesting_ms, ..
        } => nonzero(*amount).and_then(|()| bond::check_shape(*vesting_ms)),
        TxKind::RegisterHost { announcement, .. } => root::check_announcement(announcement),
        TxKind::SubmitEvidence { evidence } => evidence.check_form().map_err(TxError::Evidence),
        TxKind::SetValidators { validators } => governance::validator_set(validators).map(drop),
        TxKind::SetAllowlist {
            addresses,
            delay_ms,
        } => allowlist::check_shape(addresses, *delay_ms),
        TxKind::TransferOwnership { .. }
        | TxKind::Claim { .. }
        | TxKind::Refund { .. }
        | TxKind::CloseChannel { .. }
        | TxKind::RefundChannel { .. }
        | TxKind::ReleaseBond { .. }
        | TxKind::WithdrawBond => Ok(()),
        TxKind::Anchor { entries } => root::check_entries(entries),
    }
}

/// Applies a transaction of any kind whose shape and nonce have been checked, by the rules
/// of its module.
pub(crate) fn apply(
    context: &BlockContext,
    state: &mut impl StateView,
    sending: Sending,
    kind: &TxKind,
) -> Result<Touched, TxError> {
    match kind {
        TxKind::Mint { to, amount } => currency::mint(state, sending, *to, *amount),
        TxKind::Transfer { to, amount, .. } => {
            currency::transfer(context, state, sending, *to, *amount)
        }
        TxKind::Burn { amount } => currency::burn(state, sending, *amount),
        TxKind::SetValidators { validators } => {
            governance::set_validators(context, state, sending, validators)
        }
        TxKind::TransferOwnership { new_owner } => {
            governance::transfer_ownership(state, sending, *new_owner)
        }
        TxKind::Lock {
            to,
            amount,
            hash_lock,
            expires_at_ms,
            memo,
        } => escrow::lock(
            context,
            state,
            sending,
            escrow::Terms {
                to: *to,
                amount: *amount,
                hash_lock: *hash_lock,
                expires_at_ms: *expires_at_ms,
                memo: memo.clone(),
            },
        ),
        TxKind::Claim { escrow, secret } => escrow::claim(context, state, sending, escrow, secret),
        TxKind::Refund { escrow } => escrow::refund(context, state, sending, escrow),
        TxKind::OpenChannel {
            payee,
            amount,
            expires_at_ms,
        } => channel::open(context, state, sending, *payee, *amount, *expires_at_ms),
        TxKind::TopUpChannel { channel, amount } => {
            channel::top_up(context, state, sending, channel, *amount)
        }
        TxKind::CloseChannel { channel, voucher } => {
            channel::close(context, state, sending, channel, voucher)
        }
        TxKind::RefundChannel { channel } => channel::refund(context, state, sending, channel),
        TxKind::SetAllowlist {
            addresses,
            delay_ms,
        } => allowlist::set(context, state, sending, addresses, *delay_ms),
        TxKind::BondValidator {
            host,
            amount,
            vesting_ms,
        } => bond::bond(context, state, sending, *host, *amount, *vesting_ms),
        TxKind::ReleaseBond { host } => bond::release(context, state, sending, *host),
        TxKind::RegisterHost { announcement, bond } => {
            root::register(context, state, sending, announcement, *bond)
        }
        TxKind::WithdrawBond => root::withdraw(context, state, sending),
        TxKind::Anchor { entries } => root::anchor(context, state, sending, entries),
        TxKind::SubmitEvidence { evidence } => root::evidence(context, state, sending, evidence),
    }
}

fn require_owner(
    state: &impl StateView,
    sender: &Address,
    action: &'static str,
) -> Result<(), TxError> {
    let owner = state.meta().owner;
    if *sender != owner {
        return Err(TxError::NotOwner { owner, action });
    }
    Ok(())
}

fn nonzero(amount: Amount) -> Result<(), TxError> {
    if amount == 0 {
        return Err(TxError::ZeroAmount);
    }
    Ok(())
}

fn debit(balance: Amount, amount: Amount) -> Result<Amount, TxError> {
    balance
        .checked_sub(amount)
        .ok_or(TxError::InsufficientBalance {
            have: balance,
            need: amount,
        })
}

/// The sender's entry with `amount` taken from it.
fn debited(sending: &Sending, amount: Amount) -> Result<Account, TxError> {
    Ok(Account {
        balance: debit(sending.sender_after.balance, amount)?,
        ..sending.sender_after
    })
}

/// Writes the sender's new entry and adds `amount` to `to` (who may be the sender). Only
/// an overflow of `to`'s balance can fail, and it fails before anything is written.
fn credit(
    state: &mut impl StateView,
    sender: Address,
    sender_after: Account,
    to: Address,
    amount: Amount,
) -> Result<(), TxError> {
    let receiver = if to == sender {
        sender_after
    } else {
        state.account(&to)
    };
    let balance = receiver
        .balance
        .checked_add(amount)
        .ok_or(TxError::Overflow("balance"))?;
    state.set_account(sender, sender_after);
    state.set_account(
        to,
        Account {
            balance,
            ..receiver
        },
    );
    Ok(())
}

/// Checks that a lock opened at the context's time may expire at `expires_at_ms`: within
/// the chain's lock bounds of the block's time.
fn check_expiry(context: &BlockContext, expires_at_ms: u64) -> Result<(), TxError> {
    let ChainParams {
        lock_min_ms,
        lock_max_ms,
        ..
    } = context.params;
    let earliest = context.time_ms.saturating_add(lock_min_ms);
    let latest = context.time_ms.saturating_add(lock_max_ms);
    if !(earliest..=latest).contains(&expires_at_ms) {
        return Err(TxError::LockExpiry {
            expires_at_ms,
            earliest,
            latest,
        });
    }
    Ok(())
}
