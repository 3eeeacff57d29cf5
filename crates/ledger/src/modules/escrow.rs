//! Escrows locked by a hash and a time (HTLCs): `Lock` moves funds from the sender into an
//! escrow; `Claim` pays it to its `to` with the secret before it expires; `Refund` gives it
//! back to the locker from its expiry on. Anyone may claim or refund: the funds go where
//! the escrow says, never to the sender of the claim or refund. An escrow closes once and
//! stays, closed, so that its secret can be read.

use myriad_types::{
    Address, Amount, Escrow, EscrowId, EscrowState, Hash, Memo, Object, ObjectKey, Secret,
};

use super::{allowlist, check_expiry, credit, debited, BlockContext, Sending, Touched};
use crate::apply::TxError;
use crate::state::StateView;

/// What a `Lock` asks for.
pub(super) struct Terms {
    pub to: Address,
    pub amount: Amount,
    pub hash_lock: Hash,
    pub expires_at_ms: u64,
    pub memo: Memo,
}

pub(super) fn lock(
    context: &BlockContext,
    state: &mut impl StateView,
    sending: Sending,
    terms: Terms,
) -> Result<Touched, TxError> {
    allowlist::check_payment(context, state, &sending.sender, &terms.to)?;
    check_expiry(context, terms.expires_at_ms)?;
    let sender_after = debited(&sending, terms.amount)?;
    let id = EscrowId::derive(&state.meta().chain_id, &sending.sender, sending.nonce);
    let key = ObjectKey::Escrow(id);
    // An id comes from a (sender, nonce) pair, which only one transaction ever has.
    if state.object(&key).is_some() {
        return Err(TxError::ObjectExists(key));
    }
    let escrow = Escrow {
        id,
        locker: sending.sender,
        to: terms.to,
        amount: terms.amount,
        hash_lock: terms.hash_lock,
        expires_at_ms: terms.expires_at_ms,
        memo: terms.memo,
        state: EscrowState::Open,
    };
    state.set_account(sending.sender, sender_after);
    state.set_object(key, Some(Object::Escrow(escrow)));
    Ok(Touched::object(key, vec![terms.to]))
}

pub(super) fn claim(
    context: &BlockContext,
    state: &mut impl StateView,
    sending: Sending,
    id: &EscrowId,
    secret: &Secret,
) -> Result<Touched, TxError> {
    let escrow = open_escrow(state, id)?;
    let expired = context.time_ms >= escrow.expires_at_ms;
    #[cfg(feature = "canary")]
    let expired = expired && !crate::canary::claim_after_expiry();
    if expired {
        return Err(TxError::Expired {
            expires_at_ms: escrow.expires_at_ms,
            time_ms: context.time_ms,
        });
    }
    if secret.hash_lock() != escrow.hash_lock {
        return Err(TxError::WrongSecret {
            hash_lock: escrow.hash_lock,
        });
    }
    let state_after = EscrowState::Claimed {
        secret: *secret,
        at_ms: context.time_ms,
    };
    let to = escrow.to;
    close(state, sending, escrow, to, state_after)
}

pub(super) fn refund(
    context: &BlockContext,
    state: &mut impl StateView,
    sending: Sending,
    id: &EscrowId,
) -> Result<Touched, TxError> {
    let escrow = open_escrow(state, id)?;
    if context.time_ms < escrow.expires_at_ms {
        return Err(TxError::NotExpired {
            expires_at_ms: escrow.expires_at_ms,
            time_ms: context.time_ms,
        });
    }
    let locker = escrow.locker;
    let state_after = EscrowState::Refunded {
        at_ms: context.time_ms,
    };
    close(state, sending, escrow, locker, state_after)
}

/// The escrow of `id`, if it is open.
fn open_escrow(state: &impl StateView, id: &EscrowId) -> Result<Escrow, TxError> {
    match state.object(&ObjectKey::Escrow(*id)) {
        Some(Object::Escrow(escrow)) => match escrow.state {
            EscrowState::Open => Ok(escrow),
            EscrowState::Claimed { .. } => Err(TxError::EscrowClosed {
                escrow: *id,
                how: "claimed",
            }),
            EscrowState::Refunded { .. } => Err(TxError::EscrowClosed {
                escrow: *id,
                how: "refunded",
            }),
        },
        _ => Err(TxError::NoSuchObject(ObjectKey::Escrow(*id))),
    }
}

/// Pays an open escrow to `payee` and closes it as `closed`.
fn close(
    state: &mut impl StateView,
    sending: Sending,
    escrow: Escrow,
    payee: Address,
    closed: EscrowState,
) -> Result<Touched, TxError> {
    let key = ObjectKey::Escrow(escrow.id);
    let amount = escrow.amount;
    credit(state, sending.sender, sending.sender_after, payee, amount)?;
    state.set_object(
        key,
        Some(Object::Escrow(Escrow {
            state: closed,
            ..escrow
        })),
    );
    Ok(Touched::object(key, vec![payee]))
}
