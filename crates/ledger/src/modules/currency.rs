//! The currency itself: `Mint` (owner only, never past the maximum supply), `Transfer`
//! (within the sender's allowlist) and `Burn`.

use myriad_types::{Address, Amount};

use super::{allowlist, credit, debited, require_owner, BlockContext, Sending, Touched};
use crate::apply::TxError;
use crate::state::StateView;

pub(super) fn mint(
    state: &mut impl StateView,
    sending: Sending,
    to: Address,
    amount: Amount,
) -> Result<Touched, TxError> {
    require_owner(state, &sending.sender, "mint")?;
    let meta = state.meta();
    let supply = meta
        .supply
        .checked_add(amount)
        .ok_or(TxError::Overflow("supply"))?;
    if let Some(max) = meta.max_supply.filter(|max| supply > *max) {
        return Err(TxError::SupplyCapExceeded {
            max,
            supply: meta.supply,
            amount,
        });
    }
    let minted = meta
        .minted
        .checked_add(amount)
        .ok_or(TxError::Overflow("minted total"))?;
    credit(state, sending.sender, sending.sender_after, to, amount)?;
    let meta = state.meta_mut();
    meta.supply = supply;
    meta.minted = minted;
    Ok(Touched::account(to))
}

pub(super) fn transfer(
    context: &BlockContext,
    state: &mut impl StateView,
    sending: Sending,
    to: Address,
    amount: Amount,
) -> Result<Touched, TxError> {
    allowlist::check_payment(context, state, &sending.sender, &to)?;
    let sender_after = debited(&sending, amount)?;
    credit(state, sending.sender, sender_after, to, amount)?;
    Ok(Touched::account(to))
}

pub(super) fn burn(
    state: &mut impl StateView,
    sending: Sending,
    amount: Amount,
) -> Result<Touched, TxError> {
    let sender_after = debited(&sending, amount)?;
    let meta = state.meta();
    let supply = meta
        .supply
        .checked_sub(amount)
        .ok_or(TxError::Overflow("supply"))?;
    let burned = meta
        .burned
        .checked_add(amount)
        .ok_or(TxError::Overflow("burned total"))?;
    state.set_account(sending.sender, sender_after);
    let meta = state.meta_mut();
    meta.supply = supply;
    meta.burned = burned;
    Ok(Touched::default())
}
