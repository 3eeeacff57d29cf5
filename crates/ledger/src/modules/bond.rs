//! Validator bonds: `BondValidator` (owner only) locks part of the owner's currency for the
//! operator of one of the chain's validators, vesting linearly into the host's account;
//! `ReleaseBond` (anyone) pays out what has vested; a `SetValidators` that drops the host
//! pays out what has vested and gives the rest back to the owner in the same block.

use myriad_types::{Address, Amount, HostId, Object, ObjectKey, ValidatorBond, ValidatorSet};

use super::{debited, require_owner, BlockContext, Sending, Touched};
use crate::apply::TxError;
use crate::state::StateView;

/// The longest a validator bond may vest over: four years.
pub const VESTING_MS_MAX: u64 = 4 * 365 * 24 * 3_600_000;

pub(super) fn check_shape(vesting_ms: u64) -> Result<(), TxError> {
    if vesting_ms > VESTING_MS_MAX {
        return Err(TxError::VestingTooLong { vesting_ms });
    }
    Ok(())
}

fn bond_of(state: &impl StateView, host: &HostId) -> Option<ValidatorBond> {
    match state.object(&ObjectKey::ValidatorBond(*host)) {
        Some(Object::ValidatorBond(bond)) => Some(bond),
        _ => None,
    }
}

/// Adds `amount` to `address`'s balance (no sender involved).
fn pay(state: &mut impl StateView, address: Address, amount: Amount) -> Result<(), TxError> {
    if amount == 0 {
        return Ok(());
    }
    let mut account = state.account(&address);
    account.balance = account
        .balance
        .checked_add(amount)
        .ok_or(TxError::Overflow("balance"))?;
    state.set_account(address, account);
    Ok(())
}

pub(super) fn bond(
    context: &BlockContext,
    state: &mut impl StateView,
    sending: Sending,
    host: HostId,
    amount: Amount,
    vesting_ms: u64,
) -> Result<Touched, TxError> {
    require_owner(state, &sending.sender, "bond a validator")?;
    // The set a block chose takes over once it ends: a host it dropped is bonded no more.
    let meta = state.meta();
    let set: &ValidatorSet = meta.next_validators.as_deref().unwrap_or(&meta.validators);
    if set.power_of(&host).is_none() {
        return Err(TxError::NotAValidator(host));
    }
    let sender_after = debited(&sending, amount)?;
    let (vested, unvested) = match bond_of(state, &host) {
        Some(bond) => {
            let vested = bond.vested_at(context.time_ms);
            (vested - bond.released.min(vested), bond.amount - vested)
        }
        None => (0, 0),
    };
    let total = unvested
        .checked_add(amount)
        .ok_or(TxError::Overflow("bond"))?;
    state.set_account(sending.sender, sender_after);
    let operator = Address::from(host);
    pay(state, operator, vested)?;
    state.set_object(
        ObjectKey::ValidatorBond(host),
        Some(Object::ValidatorBond(ValidatorBond {
            host,
            amount: total,
            released: 0,
            start_ms: context.time_ms,
            vesting_ms,
        })),
    );
    Ok(Touched::object(
        ObjectKey::ValidatorBond(host),
        vec![operator],
    ))
}

pub(super) fn release(
    context: &BlockContext,
    state: &mut impl StateView,
    sending: Sending,
    host: HostId,
) -> Result<Touched, TxError> {
    let key = ObjectKey::ValidatorBond(host);
    let bond = bond_of(state, &host).ok_or(TxError::NoSuchObject(key))?;
    let vested = bond.vested_at(context.time_ms);
    let due = vested.saturating_sub(bond.released);
    if due == 0 {
        return Err(TxError::NothingVested(host));
    }
    state.set_account(sending.sender, sending.sender_after);
    let operator = Address::from(host);
    pay(state, operator, due)?;
    let rest = ValidatorBond {
        released: vested,
        ..bond
    };
    state.set_object(
        key,
        (rest.held() > 0).then_some(Object::ValidatorBond(rest)),
    );
    Ok(Touched::object(key, vec![operator]))
}

/// Closes the bonds of the hosts that `next` drops from the chain's validators (now or
/// pending): each host gets what has vested, the owner the rest. Returns what it touched.
pub(super) fn settle_dropped(
    context: &BlockContext,
    state: &mut impl StateView,
    next: &ValidatorSet,
) -> Result<Touched, TxError> {
    let meta = state.meta();
    let owner = meta.owner;
    let mut dropped: Vec<HostId> = meta
        .validators
        .validators()
        .iter()
        .chain(meta.next_validators.iter().flat_map(|set| set.validators()))
        .map(|validator| validator.host)
        .filter(|host| next.power_of(host).is_none())
        .collect();
    dropped.sort();
    dropped.dedup();
    let mut touched = Touched::default();
    for host in dropped {
        let Some(bond) = bond_of(state, &host) else {
            continue;
        };
        let vested = bond.vested_at(context.time_ms);
        let operator = Address::from(host);
        pay(state, operator, vested.saturating_sub(bond.released))?;
        pay(state, owner, bond.amount - vested)?;
        state.set_object(ObjectKey::ValidatorBond(host), None);
        touched.accounts.extend([operator, owner]);
        touched.objects.push(ObjectKey::ValidatorBond(host));
    }
    Ok(touched)
}
