//! The chain's governance, owner only: `SetValidators` (the set that validates from the
//! next height) and `TransferOwnership`.

use std::sync::Arc;

use myriad_types::{Address, ValidatorList, ValidatorSet};

use super::{bond, require_owner, BlockContext, Sending, Touched};
use crate::apply::TxError;
use crate::state::StateView;

pub(super) fn validator_set(validators: &ValidatorList) -> Result<ValidatorSet, TxError> {
    ValidatorSet::new(validators.to_vec()).map_err(TxError::InvalidValidators)
}

/// The new set takes over from the next height; the bonds of the hosts it drops are settled
/// in this block.
pub(super) fn set_validators(
    context: &BlockContext,
    state: &mut impl StateView,
    sending: Sending,
    validators: &ValidatorList,
) -> Result<Touched, TxError> {
    require_owner(state, &sending.sender, "set validators")?;
    let set = validator_set(validators)?;
    state.set_account(sending.sender, sending.sender_after);
    // Cannot fail: what a bond pays out is part of the supply, which no balance passes.
    let touched = bond::settle_dropped(context, state, &set)?;
    state.meta_mut().next_validators = Some(Arc::new(set));
    Ok(touched)
}

pub(super) fn transfer_ownership(
    state: &mut impl StateView,
    sending: Sending,
    new_owner: Address,
) -> Result<Touched, TxError> {
    require_owner(state, &sending.sender, "transfer ownership")?;
    state.set_account(sending.sender, sending.sender_after);
    state.meta_mut().owner = new_owner;
    Ok(Touched::account(new_owner))
}
