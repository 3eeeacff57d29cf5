//! Withdrawal allowlists: once an account has one in force, its transfers, locks and channel
//! openings may pay only the addresses on it (and the account itself); claims and refunds
//! follow their escrow. `SetAllowlist` puts one in force at once when there is none;
//! otherwise a change, or its removal (an empty list), waits for the delay of the one in
//! force, so that a stolen key cannot empty the account at once.

use myriad_types::{
    Address, Allowlist, AllowlistAddresses, Object, ObjectKey, PendingAllowlist,
    ALLOWLIST_DELAY_MS_MAX,
};

use super::{BlockContext, Sending, Touched};
use crate::apply::TxError;
use crate::state::StateView;

pub(super) fn check_shape(addresses: &AllowlistAddresses, delay_ms: u64) -> Result<(), TxError> {
    if delay_ms > ALLOWLIST_DELAY_MS_MAX {
        return Err(TxError::AllowlistDelay { delay_ms });
    }
    let mut sorted = addresses.to_vec();
    sorted.sort();
    sorted.dedup();
    if sorted.len() != addresses.len() {
        return Err(TxError::AllowlistDuplicate);
    }
    Ok(())
}

/// The allowlist of `owner` in force at the context's time, if any.
pub(super) fn in_force(
    context: &BlockContext,
    state: &impl StateView,
    owner: &Address,
) -> Option<Allowlist> {
    match state.object(&ObjectKey::Allowlist(*owner)) {
        Some(Object::Allowlist(list)) => list.at(context.time_ms),
        _ => None,
    }
}

/// Refuses a payment from `from` to `to` that `from`'s allowlist does not allow.
pub(super) fn check_payment(
    context: &BlockContext,
    state: &impl StateView,
    from: &Address,
    to: &Address,
) -> Result<(), TxError> {
    match in_force(context, state, from) {
        Some(list) if !list.allows(to) => Err(TxError::NotAllowlisted { to: *to }),
        _ => Ok(()),
    }
}

pub(super) fn set(
    context: &BlockContext,
    state: &mut impl StateView,
    sending: Sending,
    addresses: &AllowlistAddresses,
    delay_ms: u64,
) -> Result<Touched, TxError> {
    let owner = sending.sender;
    let key = ObjectKey::Allowlist(owner);
    let stored = match in_force(context, state, &owner) {
        None if addresses.is_empty() => return Err(TxError::NoAllowlist),
        None => Some(Allowlist {
            owner,
            addresses: addresses.clone(),
            delay_ms,
            pending: None,
        }),
        Some(current) => {
            let pending = PendingAllowlist {
                addresses: addresses.clone(),
                delay_ms,
                effective_at_ms: context.time_ms.saturating_add(current.delay_ms),
            };
            let changed = Allowlist {
                pending: Some(pending),
                ..current
            };
            // A list whose delay is zero changes at once.
            match changed.at(context.time_ms) {
                Some(now) if now.pending.is_none() => Some(now),
                None => None,
                Some(_) => Some(changed),
            }
        }
    };
    state.set_account(owner, sending.sender_after);
    state.set_object(key, stored.map(Object::Allowlist));
    Ok(Touched::object(key, Vec::new()))
}
