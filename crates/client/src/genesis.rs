//! Building a chain's genesis, checked against the genesis rules before its owner signs it.

use myriad_types::{
    Address, Amount, BoundedVec, ChainKind, ChainParams, Genesis, GenesisError, HostId, Symbol,
    Validator, ValidatorList, ValidatorSet, ValidatorSetError, VALIDATORS_MAX,
};

/// Why a genesis or a validator list is not built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Validators(#[from] ValidatorSetError),
    #[error("{0} validators, over the limit of {VALIDATORS_MAX}")]
    TooManyValidators(usize),
    #[error(transparent)]
    Genesis(#[from] GenesisError),
}

/// A validator list from (host, power) pairs, checked as a genesis would check it.
pub fn validator_list(validators: &[(HostId, u64)]) -> Result<ValidatorList, BuildError> {
    let list: Vec<Validator> = validators
        .iter()
        .map(|(host, power)| Validator {
            host: *host,
            power: *power,
        })
        .collect();
    ValidatorSet::new(list.clone())?;
    BoundedVec::new(list).map_err(|e| BuildError::TooManyValidators(e.len()))
}

/// Milliseconds since the Unix epoch, by this machine's clock.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// A genesis of `owner`'s, checked against the genesis rules; `salt` tells apart chains
/// otherwise alike. The owner signs it (`SignedGenesis::sign`) before it is sent.
pub fn checked_genesis(
    owner: Address,
    symbol: Symbol,
    decimals: u8,
    max_supply: Option<Amount>,
    validators: &[(HostId, u64)],
    created_at_ms: u64,
    salt: u64,
) -> Result<Genesis, BuildError> {
    let genesis = Genesis {
        owner,
        symbol,
        decimals,
        max_supply,
        validators: validator_list(validators)?,
        created_at_ms,
        salt,
        params: ChainParams::default(),
        kind: ChainKind::Personal,
    };
    genesis.validator_set()?;
    Ok(genesis)
}
