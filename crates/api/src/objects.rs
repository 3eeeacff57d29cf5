//! Objects of a chain's state — escrows, payment channels, allowlists — each with the proof
//! that the chain's latest state holds it.

use myriad_types::{
    Allowlist, Channel, ChannelId, ChannelState, Escrow, EscrowId, EscrowState, Object, ObjectKey,
    ValidatorBond,
};

use super::*;

/// An escrow, its secret once claimed, and its proof against the state root.
#[utoipa::path(get, path = "/chains/{chain}/escrows/{id}",
    params(("chain" = String, Path, description = "chain1…", pattern = "^chain1[02-9ac-hj-np-z]{58}$"), ("id" = String, Path, description = "escrow1…", pattern = "^escrow1[02-9ac-hj-np-z]{58}$")),
    responses((status = 200, body = ObjectInfo), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn escrow(
    State(handle): State<HostHandle>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Json<ObjectInfo>, ApiError> {
    let Path((chain, id)) = path.map_err(rejected)?;
    let id: EscrowId = parse("escrow id", &id)?;
    object(handle, &chain, ObjectKey::Escrow(id)).await
}

/// A payment channel and its proof against the state root.
#[utoipa::path(get, path = "/chains/{chain}/channels/{id}",
    params(("chain" = String, Path, description = "chain1…", pattern = "^chain1[02-9ac-hj-np-z]{58}$"), ("id" = String, Path, description = "chan1…", pattern = "^chan1[02-9ac-hj-np-z]{58}$")),
    responses((status = 200, body = ObjectInfo), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn channel(
    State(handle): State<HostHandle>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Json<ObjectInfo>, ApiError> {
    let Path((chain, id)) = path.map_err(rejected)?;
    let id: ChannelId = parse("channel id", &id)?;
    object(handle, &chain, ObjectKey::Channel(id)).await
}

/// An account's allowlist and its proof against the state root.
#[utoipa::path(get, path = "/chains/{chain}/allowlists/{address}",
    params(("chain" = String, Path, description = "chain1…", pattern = "^chain1[02-9ac-hj-np-z]{58}$"), ("address" = String, Path, description = "acct1…", pattern = "^acct1[02-9ac-hj-np-z]{58}$")),
    responses((status = 200, body = ObjectInfo), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn allowlist(
    State(handle): State<HostHandle>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Json<ObjectInfo>, ApiError> {
    let Path((chain, owner)) = path.map_err(rejected)?;
    let owner: Address = parse("address", &owner)?;
    object(handle, &chain, ObjectKey::Allowlist(owner)).await
}

/// A validator's bond on a chain (what the owner locked for the host, vesting into its
/// account) and its proof against the state root.
#[utoipa::path(get, path = "/chains/{chain}/bonds/{host}",
    params(("chain" = String, Path, description = "chain1…", pattern = "^chain1[02-9ac-hj-np-z]{58}$"), ("host" = String, Path, description = "host1…", pattern = "^host1[02-9ac-hj-np-z]{58}$")),
    responses((status = 200, body = ObjectInfo), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn validator_bond(
    State(handle): State<HostHandle>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Json<ObjectInfo>, ApiError> {
    let Path((chain, host)) = path.map_err(rejected)?;
    let host: myriad_types::HostId = parse("host id", &host)?;
    object(handle, &chain, ObjectKey::ValidatorBond(host)).await
}

async fn object(
    handle: HostHandle,
    chain: &str,
    key: ObjectKey,
) -> Result<Json<ObjectInfo>, ApiError> {
    let chain: ChainId = parse("chain id", chain)?;
    let state = hosted_state(&handle, chain).await?;
    let height = state.meta().height.0;
    let object = state.object(&key).ok_or_else(|| {
        not_found(format!(
            "there is no {key} on chain {chain} at height {height}"
        ))
    })?;
    let (mut escrow, mut channel, mut allowlist, mut validator_bond) = (None, None, None, None);
    match object {
        Object::Escrow(found) => escrow = Some(escrow_info(found)),
        Object::Channel(found) => channel = Some(channel_info(found)),
        Object::Allowlist(found) => allowlist = Some(allowlist_info(found)),
        Object::ValidatorBond(found) => {
            validator_bond = Some(bond_info(found, state.meta().time_ms))
        }
        // The root's own, served by its directory's routes.
        Object::Host(_)
        | Object::Anchor(_)
        | Object::KnownSet(_)
        | Object::Evidence(_)
        | Object::OwnerBond(_)
        | Object::SetHistory(_) => {}
    }
    Ok(Json(ObjectInfo {
        chain_id: chain.to_string(),
        height,
        state_root: state.state_root().to_string(),
        escrow,
        channel,
        allowlist,
        validator_bond,
        object: hex::encode(encode(object)),
        proof: hex::encode(encode(&state.prove_object(&key))),
    }))
}

fn escrow_info(escrow: &Escrow) -> EscrowInfo {
    let (state, secret, closed_at_ms) = match escrow.state {
        EscrowState::Open => ("open", None, None),
        EscrowState::Claimed { secret, at_ms } => {
            ("claimed", Some(secret.to_string()), Some(at_ms))
        }
        EscrowState::Refunded { at_ms } => ("refunded", None, Some(at_ms)),
    };
    EscrowInfo {
        id: escrow.id.to_string(),
        locker: escrow.locker.to_string(),
        to: escrow.to.to_string(),
        amount: escrow.amount.to_string(),
        hash_lock: escrow.hash_lock.to_string(),
        expires_at_ms: escrow.expires_at_ms,
        memo: hex::encode(&*escrow.memo),
        state: state.to_owned(),
        secret,
        closed_at_ms,
    }
}

fn channel_info(channel: &Channel) -> ChannelInfo {
    let (state, paid, closed_at_ms) = match channel.state {
        ChannelState::Open => ("open", None, None),
        ChannelState::Closed { paid, at_ms } => ("closed", Some(paid.to_string()), Some(at_ms)),
        ChannelState::Refunded { at_ms } => ("refunded", None, Some(at_ms)),
    };
    ChannelInfo {
        id: channel.id.to_string(),
        payer: channel.payer.to_string(),
        payee: channel.payee.to_string(),
        amount: channel.amount.to_string(),
        expires_at_ms: channel.expires_at_ms,
        state: state.to_owned(),
        paid,
        closed_at_ms,
    }
}

fn bond_info(bond: &ValidatorBond, time_ms: u64) -> ValidatorBondInfo {
    ValidatorBondInfo {
        host: bond.host.to_string(),
        amount: bond.amount.to_string(),
        released: bond.released.to_string(),
        vested: bond.vested_at(time_ms).to_string(),
        start_ms: bond.start_ms,
        vesting_ms: bond.vesting_ms,
    }
}

fn allowlist_info(list: &Allowlist) -> AllowlistInfo {
    let addresses = |list: &[Address]| list.iter().map(Address::to_string).collect();
    AllowlistInfo {
        owner: list.owner.to_string(),
        addresses: addresses(&list.addresses),
        delay_ms: list.delay_ms,
        pending: list.pending.as_ref().map(|pending| PendingAllowlistInfo {
            addresses: addresses(&pending.addresses),
            delay_ms: pending.delay_ms,
            effective_at_ms: pending.effective_at_ms,
        }),
    }
}
