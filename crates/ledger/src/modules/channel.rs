//! One-way payment channels: `OpenChannel` locks the payer's funds for a payee, who is paid
//! off-chain with vouchers of growing cumulative amounts signed by the payer;
//! `CloseChannel`, by the payee with a voucher, pays its amount to the payee and the rest
//! back to the payer; `RefundChannel`, by the payer once the channel has expired unclosed,
//! takes it all back; `TopUpChannel` adds to an open one. Whichever of a close and a refund
//! comes first wins.

use myriad_types::{
    Address, Amount, Channel, ChannelId, ChannelState, Object, ObjectKey, SignedVoucher,
};

use super::{allowlist, check_expiry, credit, debited, BlockContext, Sending, Touched};
use crate::apply::TxError;
use crate::state::StateView;

pub(super) fn open(
    context: &BlockContext,
    state: &mut impl StateView,
    sending: Sending,
    payee: Address,
    amount: Amount,
    expires_at_ms: u64,
) -> Result<Touched, TxError> {
    allowlist::check_payment(context, state, &sending.sender, &payee)?;
    check_expiry(context, expires_at_ms)?;
    let sender_after = debited(&sending, amount)?;
    let id = ChannelId::derive(&state.meta().chain_id, &sending.sender, sending.nonce);
    let key = ObjectKey::Channel(id);
    // An id comes from a (sender, nonce) pair, which only one transaction ever has.
    if state.object(&key).is_some() {
        return Err(TxError::ObjectExists(key));
    }
    let channel = Channel {
        id,
        payer: sending.sender,
        payee,
        amount,
        expires_at_ms,
        state: ChannelState::Open,
    };
    state.set_account(sending.sender, sender_after);
    state.set_object(key, Some(Object::Channel(channel)));
    Ok(Touched::object(key, vec![payee]))
}

pub(super) fn top_up(
    context: &BlockContext,
    state: &mut impl StateView,
    sending: Sending,
    id: &ChannelId,
    amount: Amount,
) -> Result<Touched, TxError> {
    let channel = open_channel(state, id)?;
    require(&sending.sender, &channel.payer, "top up")?;
    if context.time_ms >= channel.expires_at_ms {
        return Err(TxError::Expired {
            expires_at_ms: channel.expires_at_ms,
            time_ms: context.time_ms,
        });
    }
    let total = channel
        .amount
        .checked_add(amount)
        .ok_or(TxError::Overflow("channel amount"))?;
    let sender_after = debited(&sending, amount)?;
    let key = ObjectKey::Channel(channel.id);
    let payee = channel.payee;
    state.set_account(sending.sender, sender_after);
    state.set_object(
        key,
        Some(Object::Channel(Channel {
            amount: total,
            ..channel
        })),
    );
    Ok(Touched::object(key, vec![payee]))
}

pub(super) fn close(
    context: &BlockContext,
    state: &mut impl StateView,
    sending: Sending,
    id: &ChannelId,
    voucher: &SignedVoucher,
) -> Result<Touched, TxError> {
    let channel = open_channel(state, id)?;
    require(&sending.sender, &channel.payee, "close")?;
    let terms = &voucher.voucher;
    if terms.channel != channel.id || terms.chain_id != state.meta().chain_id {
        return Err(TxError::VoucherForAnotherChannel {
            channel: terms.channel,
        });
    }
    if terms.cumulative > channel.amount {
        return Err(TxError::VoucherOverAmount {
            cumulative: terms.cumulative,
            amount: channel.amount,
        });
    }
    voucher
        .verify(&channel.payer)
        .map_err(TxError::VoucherSignature)?;
    let paid = terms.cumulative;
    let rest = channel.amount - paid;
    // The payee (the sender) gets the voucher's amount, the payer the rest.
    let payee_after = myriad_types::Account {
        balance: sending
            .sender_after
            .balance
            .checked_add(paid)
            .ok_or(TxError::Overflow("balance"))?,
        ..sending.sender_after
    };
    let payer = channel.payer;
    credit(state, sending.sender, payee_after, payer, rest)?;
    let closed = ChannelState::Closed {
        paid,
        at_ms: context.time_ms,
    };
    finish(state, channel, closed, payer)
}

pub(super) fn refund(
    context: &BlockContext,
    state: &mut impl StateView,
    sending: Sending,
    id: &ChannelId,
) -> Result<Touched, TxError> {
    let channel = open_channel(state, id)?;
    require(&sending.sender, &channel.payer, "refund")?;
    if context.time_ms < channel.expires_at_ms {
        return Err(TxError::NotExpired {
            expires_at_ms: channel.expires_at_ms,
            time_ms: context.time_ms,
        });
    }
    let (payer, payee, amount) = (channel.payer, channel.payee, channel.amount);
    credit(state, sending.sender, sending.sender_after, payer, amount)?;
    let refunded = ChannelState::Refunded {
        at_ms: context.time_ms,
    };
    finish(state, channel, refunded, payee)
}

/// Stores a channel closed as `closed`; `other` is the party that did not send the
/// transaction.
fn finish(
    state: &mut impl StateView,
    channel: Channel,
    closed: ChannelState,
    other: Address,
) -> Result<Touched, TxError> {
    let key = ObjectKey::Channel(channel.id);
    state.set_object(
        key,
        Some(Object::Channel(Channel {
            state: closed,
            ..channel
        })),
    );
    Ok(Touched::object(key, vec![other]))
}

fn require(sender: &Address, party: &Address, action: &'static str) -> Result<(), TxError> {
    if sender != party {
        return Err(TxError::NotChannelParty {
            party: *party,
            action,
        });
    }
    Ok(())
}

/// The channel of `id`, if it is open.
fn open_channel(state: &impl StateView, id: &ChannelId) -> Result<Channel, TxError> {
    match state.object(&ObjectKey::Channel(*id)) {
        Some(Object::Channel(channel)) => match channel.state {
            ChannelState::Open => Ok(channel),
            ChannelState::Closed { .. } => Err(TxError::ChannelClosed {
                channel: *id,
                how: "closed",
            }),
            ChannelState::Refunded { .. } => Err(TxError::ChannelClosed {
                channel: *id,
                how: "refunded",
            }),
        },
        _ => Err(TxError::NoSuchObject(ObjectKey::Channel(*id))),
    }
}
