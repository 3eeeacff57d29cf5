//! What a verifier needs besides the head: a chain's signed genesis (also served as its
//! block 0) and the validator set in force at any height, so that a certificate of any
//! block can be checked without having followed the chain from its start.

use super::*;

/// A chain's genesis, signed by its owner: the chain id is its hash.
#[utoipa::path(get, path = "/chains/{chain}/genesis",
    params(("chain" = String, Path, description = "chain1…", pattern = "^chain1[02-9ac-hj-np-z]{58}$")),
    responses((status = 200, body = GenesisInfo), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "the chain is not hosted here")))]
pub(crate) async fn genesis(
    State(handle): State<HostHandle>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<GenesisInfo>, ApiError> {
    let Path(chain) = path.map_err(rejected)?;
    let chain: ChainId = parse("chain id", &chain)?;
    genesis_info(&handle, &chain).map(Json)
}

/// What `GET /chains/{chain}/genesis` answers.
pub(crate) fn genesis_info(handle: &HostHandle, chain: &ChainId) -> Result<GenesisInfo, ApiError> {
    let store = &handle.store;
    let signed = store
        .genesis(chain)
        .map_err(internal)?
        .ok_or_else(|| not_found(format!("chain {chain} is not hosted here")))?;
    let span = store
        .validators_at(chain, Height(0))
        .map_err(internal)?
        .ok_or_else(|| internal(format!("store: chain {chain} has no genesis validator set")))?;
    let genesis = &signed.genesis;
    let state = ChainState::from_verified_genesis(genesis, span.set.clone());
    Ok(GenesisInfo {
        chain_id: chain.to_string(),
        owner: genesis.owner.to_string(),
        symbol: genesis.symbol.as_str().to_owned(),
        decimals: genesis.decimals,
        max_supply: genesis.max_supply.map(|max| max.to_string()),
        validators: validator_infos(&span.set),
        validators_hash: span.set.hash().to_string(),
        created_at_ms: genesis.created_at_ms,
        salt: genesis.salt,
        params: params_info(&genesis.params),
        state_root: state.state_root().to_string(),
        genesis: hex::encode(encode(&signed)),
    })
}

pub(crate) fn validator_infos(set: &ValidatorSet) -> Vec<ValidatorInfo> {
    set.validators()
        .iter()
        .map(|v| ValidatorInfo {
            host: v.host.to_string(),
            power: v.power,
        })
        .collect()
}

pub(crate) fn params_info(params: &ChainParams) -> ChainParamsInfo {
    ChainParamsInfo {
        precision_ms: params.precision_ms,
        msg_delay_ms: params.msg_delay_ms,
        lock_min_ms: params.lock_min_ms,
        lock_max_ms: params.lock_max_ms,
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct ValidatorsQuery {
    height: Option<String>,
}

/// The validator set in force at a height of a chain: the one whose certificate makes that
/// height's block final (at 0, the genesis's), with the heights it is in force for.
#[utoipa::path(get, path = "/chains/{chain}/validators",
    params(("chain" = String, Path, description = "chain1…", pattern = "^chain1[02-9ac-hj-np-z]{58}$"),
        ("height" = Option<u64>, Query, minimum = 0,
            description = "0 to the chain's height + 1 (the next block's set, the default)")),
    responses((status = 200, body = ValidatorSetInfo), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "the chain is not hosted here, or the height is past its next block")))]
pub(crate) async fn validators(
    State(handle): State<HostHandle>,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<ValidatorsQuery>, QueryRejection>,
) -> Result<Json<ValidatorSetInfo>, ApiError> {
    let Path(chain) = path.map_err(rejected)?;
    let Query(query) = query.map_err(rejected)?;
    let chain: ChainId = parse("chain id", &chain)?;
    let asked: Option<u64> = query
        .height
        .as_deref()
        .map(|h| parse("height", h))
        .transpose()?;
    let store = &handle.store;
    let head = store
        .chain_head(&chain)
        .map_err(internal)?
        .ok_or_else(|| not_found(format!("chain {chain} is not hosted here")))?;
    let top = head.meta.height;
    let next = top.next().unwrap_or(top);
    let height = asked.map_or(next, Height);
    if height > next {
        return Err(not_found(format!(
            "chain {chain} is at height {top}: the validators of height {height} are not known yet (ask for 0 to {next})"
        )));
    }
    let span = store
        .validators_at(&chain, height)
        .map_err(internal)?
        .ok_or_else(|| {
            internal(format!(
                "store: chain {chain} has no validator set recorded"
            ))
        })?;
    Ok(Json(ValidatorSetInfo {
        chain_id: chain.to_string(),
        height: height.0,
        from_height: span.from.0,
        until_height: span.until.map(|h| h.0),
        validators: validator_infos(&span.set),
        total_power: span.set.total_power(),
        hash: span.set.hash().to_string(),
        set: hex::encode(encode(&span.set)),
    }))
}
