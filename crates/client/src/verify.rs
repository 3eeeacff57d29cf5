//! What a host says about a chain, checked against what it cannot forge: a genesis against
//! the chain id (its hash) and its owner's signature; a validator set against its hash; a
//! chain's metadata — supply, minted, burned, validators… — against its state root, and that
//! root against a block whose certificate verifies against the set in force at its height.

use myriad_api_types::{ChainInfo, GenesisInfo, ValidatorInfo, ValidatorSetInfo};
use myriad_ledger::{state_root, ChainMeta, ChainState};
use myriad_types::{decode, ChainId, Hash, Height, SignedGenesis, ValidatorSet};

use crate::client::{Client, ClientError};

/// Why what a host said about a chain could not be shown true.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error("host {url} answered a {what} of chain {chain} that does not check: {reason}")]
    Unverified {
        url: String,
        chain: ChainId,
        what: &'static str,
        reason: String,
    },
}

/// `bytes` (hex) decoded as a `T`, or why not.
fn decode_hex<T: borsh::BorshDeserialize>(what: &'static str, text: &str) -> Result<T, String> {
    let bytes = hex::decode(text).map_err(|e| format!("{what} is not hex: {e}"))?;
    decode(what, &bytes).map_err(|e| e.to_string())
}

/// `field` of a host's answer, which must be `expected`.
fn same<T: PartialEq + std::fmt::Debug>(field: &str, said: T, expected: T) -> Result<(), String> {
    if said == expected {
        Ok(())
    } else {
        Err(format!(
            "`{field}` is {said:?}, its signed form says {expected:?}"
        ))
    }
}

fn validator_infos(set: &ValidatorSet) -> Vec<ValidatorInfo> {
    set.validators()
        .iter()
        .map(|v| ValidatorInfo {
            host: v.host.to_string(),
            power: v.power,
        })
        .collect()
}

/// Checks a genesis answer for `chain`: its signed genesis decodes, hashes to `chain`, is
/// signed by its owner and keeps the genesis rules, and the fields beside it say the same.
pub fn check_genesis(chain: &ChainId, info: &GenesisInfo) -> Result<SignedGenesis, String> {
    let signed: SignedGenesis = decode_hex("genesis", &info.genesis)?;
    let genesis = &signed.genesis;
    if genesis.chain_id() != *chain {
        return Err(format!(
            "it is the genesis of {}, not of {chain}",
            genesis.chain_id()
        ));
    }
    let set = signed.verify().map_err(|e| e.to_string())?;
    same("chain_id", info.chain_id.as_str(), &chain.to_string())?;
    same("owner", info.owner.as_str(), &genesis.owner.to_string())?;
    same("symbol", info.symbol.as_str(), genesis.symbol.as_str())?;
    same("decimals", info.decimals, genesis.decimals)?;
    let max_supply = genesis.max_supply.map(|max| max.to_string());
    same("max_supply", &info.max_supply, &max_supply)?;
    same("validators", &info.validators, &validator_infos(&set))?;
    same(
        "validators_hash",
        &info.validators_hash,
        &set.hash().to_string(),
    )?;
    same("created_at_ms", info.created_at_ms, genesis.created_at_ms)?;
    same("salt", info.salt, genesis.salt)?;
    let params = &info.params;
    let signed_params = &genesis.params;
    same(
        "params.precision_ms",
        params.precision_ms,
        signed_params.precision_ms,
    )?;
    same(
        "params.msg_delay_ms",
        params.msg_delay_ms,
        signed_params.msg_delay_ms,
    )?;
    same(
        "params.lock_min_ms",
        params.lock_min_ms,
        signed_params.lock_min_ms,
    )?;
    same(
        "params.lock_max_ms",
        params.lock_max_ms,
        signed_params.lock_max_ms,
    )?;
    let root = ChainState::from_verified_genesis(genesis, set).state_root();
    same("state_root", &info.state_root, &root.to_string())?;
    Ok(signed)
}

/// Checks a validator set answer for `chain` at `height`: the set decodes (a valid set),
/// hashes to the hash given, is the list given, and covers the height.
pub fn check_validators(
    chain: &ChainId,
    height: Option<u64>,
    info: &ValidatorSetInfo,
) -> Result<ValidatorSet, String> {
    let set: ValidatorSet = decode_hex("validator set", &info.set)?;
    same("chain_id", info.chain_id.as_str(), &chain.to_string())?;
    if let Some(height) = height {
        same("height", info.height, height)?;
    }
    same("hash", &info.hash, &set.hash().to_string())?;
    same("validators", &info.validators, &validator_infos(&set))?;
    same("total_power", info.total_power, set.total_power())?;
    let covered = info.from_height <= info.height
        && info.until_height.is_none_or(|until| info.height < until);
    if !covered {
        return Err(format!(
            "it is in force from {} to {:?}, which leaves out height {}",
            info.from_height, info.until_height, info.height
        ));
    }
    Ok(set)
}

/// Checks a chain's head as a host describes it against its own state root: the metadata
/// decodes, every field beside it is the metadata's, and the metadata's hash with the two
/// tree roots gives `state_root`. Returns the metadata. That the root is the chain's is
/// shown by a certified block that carries it ([`Client::verified_chain`]).
pub fn check_chain_info(info: &ChainInfo) -> Result<ChainMeta, String> {
    let meta: ChainMeta = decode_hex("chain meta", &info.meta)?;
    same(
        "chain_id",
        info.chain_id.as_str(),
        &meta.chain_id.to_string(),
    )?;
    same("symbol", info.symbol.as_str(), meta.symbol.as_str())?;
    same("decimals", info.decimals, meta.decimals)?;
    same("owner", info.owner.as_str(), &meta.owner.to_string())?;
    same("height", info.height, meta.height.0)?;
    same("supply", info.supply.as_str(), &meta.supply.to_string())?;
    let max_supply = meta.max_supply.map(|max| max.to_string());
    same("max_supply", &info.max_supply, &max_supply)?;
    same("minted", info.minted.as_str(), &meta.minted.to_string())?;
    same("burned", info.burned.as_str(), &meta.burned.to_string())?;
    same(
        "validators",
        &info.validators,
        &validator_infos(&meta.validators),
    )?;
    let validators_hash = meta.validators.hash().to_string();
    same("validators_hash", &info.validators_hash, &validators_hash)?;
    let next = meta.next_validators.as_deref().map(validator_infos);
    same("next_validators", &info.next_validators, &next)?;
    same("time_ms", info.time_ms, meta.time_ms)?;
    let params = &info.params;
    same(
        "params.precision_ms",
        params.precision_ms,
        meta.params.precision_ms,
    )?;
    same(
        "params.msg_delay_ms",
        params.msg_delay_ms,
        meta.params.msg_delay_ms,
    )?;
    same(
        "params.lock_min_ms",
        params.lock_min_ms,
        meta.params.lock_min_ms,
    )?;
    same(
        "params.lock_max_ms",
        params.lock_max_ms,
        meta.params.lock_max_ms,
    )?;
    let root = |field: &str, text: &str| -> Result<Hash, String> {
        text.parse().map_err(|e| format!("`{field}`: {e}"))
    };
    let accounts_root = root("accounts_root", &info.accounts_root)?;
    let objects_root = root("objects_root", &info.objects_root)?;
    let claimed = root("state_root", &info.state_root)?;
    let computed = state_root(&accounts_root, &objects_root, &meta.hash());
    if computed != claimed {
        return Err(format!(
            "the metadata and tree roots give state root {computed}, not {claimed}"
        ));
    }
    Ok(meta)
}

impl Client {
    fn unverified(&self, chain: &ChainId, what: &'static str) -> impl Fn(String) -> VerifyError {
        let url = self.url().to_owned();
        let chain = *chain;
        move |reason| VerifyError::Unverified {
            url: url.clone(),
            chain,
            what,
            reason,
        }
    }

    /// A chain's signed genesis, checked ([`check_genesis`]): it is the chain's, signed by
    /// its owner.
    pub fn genesis(&self, chain: &ChainId) -> Result<SignedGenesis, VerifyError> {
        let info: GenesisInfo = self.get(&format!("/chains/{chain}/genesis"))?;
        check_genesis(chain, &info).map_err(self.unverified(chain, "genesis"))
    }

    /// The validator set in force at `height` of a chain (`None`: the next block's), checked
    /// against its hash ([`check_validators`]), with the host's answer.
    pub fn validators(
        &self,
        chain: &ChainId,
        height: Option<u64>,
    ) -> Result<(ValidatorSet, ValidatorSetInfo), VerifyError> {
        let path = match height {
            Some(height) => format!("/chains/{chain}/validators?height={height}"),
            None => format!("/chains/{chain}/validators"),
        };
        let info: ValidatorSetInfo = self.get(&path)?;
        let set = check_validators(chain, height, &info)
            .map_err(self.unverified(chain, "validator set"))?;
        Ok((set, info))
    }

    /// A chain's head as a host describes it, every field proven: the metadata gives the
    /// state root ([`check_chain_info`]), and that root is the genesis's at height 0, else
    /// the one of the block at the head's height, whose certificate verifies against the
    /// validator set in force there (which the block names).
    pub fn verified_chain(&self, chain: &ChainId) -> Result<(ChainInfo, ChainMeta), VerifyError> {
        let info = self.chain(chain)?;
        let unverified = self.unverified(chain, "chain head");
        let meta = check_chain_info(&info).map_err(&unverified)?;
        let root = meta_root(&info).map_err(&unverified)?;
        if meta.chain_id != *chain {
            return Err(unverified(format!("it is the head of {}", meta.chain_id)));
        }
        let height = meta.height;
        if height == Height(0) {
            let genesis = self.genesis(chain)?;
            let set = genesis.verify().map_err(|e| unverified(e.to_string()))?;
            let genesis_root =
                ChainState::from_verified_genesis(&genesis.genesis, set).state_root();
            if genesis_root != root {
                return Err(unverified(format!(
                    "at height 0 its state root is {root}, the genesis gives {genesis_root}"
                )));
            }
            return Ok((info, meta));
        }
        let (block, certificate) = self.certified_block(chain, height.0)?;
        let (set, _) = self.validators(chain, Some(height.0))?;
        let header = &block.header;
        let checks = [
            (
                header.chain_id == *chain && header.height == height,
                "is of another chain or height",
            ),
            (header.state_root == root, "carries another state root"),
            (
                block.hash().to_string() == info.head_hash,
                "is not the head the chain names",
            ),
            (
                header.validators_hash == set.hash(),
                "names another validator set than the one in force",
            ),
            (
                certificate.block_hash == block.hash() && certificate.chain_id == *chain,
                "has a certificate of another block",
            ),
        ];
        if let Some((_, why)) = checks.iter().find(|(holds, _)| !holds) {
            return Err(unverified(format!("block {height} {why}")));
        }
        certificate
            .verify(&set)
            .map_err(|e| unverified(format!("certificate of block {height}: {e}")))?;
        Ok((info, meta))
    }
}

/// The state root a chain's head claims.
fn meta_root(info: &ChainInfo) -> Result<Hash, String> {
    info.state_root
        .parse()
        .map_err(|e| format!("`state_root`: {e}"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use myriad_api_types::ChainParamsInfo;
    use myriad_testing::{genesis, key, mint};
    use myriad_types::{encode, Genesis};

    /// A chain after a block that minted 500, as a host would describe its head.
    fn minted_chain() -> ChainInfo {
        let owner = key(1);
        let state =
            ChainState::from_genesis(&genesis(&owner, &[(key(9).host_id(), 1)], 0)).unwrap();
        let mint = mint(state.chain_id(), &owner, 1, &key(2), 500);
        let (state, _, _) = myriad_ledger::execute_block(state, 10, &[mint]);
        let meta = state.meta();
        ChainInfo {
            chain_id: meta.chain_id.to_string(),
            symbol: meta.symbol.as_str().to_owned(),
            decimals: meta.decimals,
            owner: meta.owner.to_string(),
            height: meta.height.0,
            head_hash: Hash([7; 32]).to_string(),
            state_root: state.state_root().to_string(),
            supply: meta.supply.to_string(),
            max_supply: None,
            minted: meta.minted.to_string(),
            burned: meta.burned.to_string(),
            validators: validator_infos(&meta.validators),
            validators_hash: meta.validators.hash().to_string(),
            next_validators: None,
            time_ms: meta.time_ms,
            params: ChainParamsInfo {
                precision_ms: meta.params.precision_ms,
                msg_delay_ms: meta.params.msg_delay_ms,
                lock_min_ms: meta.params.lock_min_ms,
                lock_max_ms: meta.params.lock_max_ms,
            },
            meta: hex::encode(encode(meta)),
            accounts_root: state.accounts_root().to_string(),
            objects_root: state.objects_root().to_string(),
        }
    }

    #[test]
    fn a_chain_head_checks_against_its_state_root() {
        let info = minted_chain();
        let meta = check_chain_info(&info).unwrap();
        assert_eq!((meta.minted, meta.supply, meta.burned), (500, 500, 0));
    }

    #[test]
    fn a_chain_head_with_any_field_altered_does_not_check() {
        type Alter = fn(&mut ChainInfo);
        let alterations: [(&str, Alter); 12] = [
            ("supply", |i| i.supply = "600".into()),
            ("minted", |i| i.minted = "600".into()),
            ("burned", |i| i.burned = "1".into()),
            ("max_supply", |i| i.max_supply = Some("1000".into())),
            ("owner", |i| i.owner = key(3).address().to_string()),
            ("height", |i| i.height = 2),
            ("time_ms", |i| i.time_ms += 1),
            ("validators", |i| i.validators[0].power = 2),
            ("next_validators", |i| i.next_validators = Some(Vec::new())),
            ("params.lock_min_ms", |i| i.params.lock_min_ms += 1),
            ("state_root", |i| i.state_root = Hash([1; 32]).to_string()),
            ("accounts_root", |i| {
                i.accounts_root = Hash([1; 32]).to_string()
            }),
        ];
        for (field, alter) in alterations {
            let mut info = minted_chain();
            alter(&mut info);
            let error = check_chain_info(&info).unwrap_err();
            assert!(
                error.contains(field) || error.contains("state root"),
                "{field}: {error}"
            );
        }
        // Metadata altered with the fields beside it to match: the root gives it away.
        let mut info = minted_chain();
        let mut meta: ChainMeta = decode_hex("chain meta", &info.meta).unwrap();
        meta.supply = 600;
        meta.minted = 600;
        info.meta = hex::encode(encode(&meta));
        info.supply = "600".into();
        info.minted = "600".into();
        let error = check_chain_info(&info).unwrap_err();
        assert!(error.contains("give state root"), "{error}");
    }

    #[test]
    fn a_genesis_checks_only_for_its_own_chain_and_signature() {
        let owner = key(1);
        let signed = genesis(&owner, &[(key(9).host_id(), 1)], 4);
        let chain = signed.genesis.chain_id();
        let set = signed.verify().unwrap();
        let info = GenesisInfo {
            chain_id: chain.to_string(),
            owner: owner.address().to_string(),
            symbol: "TEST".into(),
            decimals: 2,
            max_supply: None,
            validators: validator_infos(&set),
            validators_hash: set.hash().to_string(),
            created_at_ms: 0,
            salt: 4,
            params: ChainParamsInfo {
                precision_ms: 500,
                msg_delay_ms: 2_000,
                lock_min_ms: 60_000,
                lock_max_ms: 7 * 24 * 3_600_000,
            },
            state_root: ChainState::from_genesis(&signed)
                .unwrap()
                .state_root()
                .to_string(),
            genesis: hex::encode(encode(&signed)),
        };
        assert_eq!(check_genesis(&chain, &info).unwrap(), signed);

        let other = genesis(&owner, &[(key(9).host_id(), 1)], 5)
            .genesis
            .chain_id();
        let error = check_genesis(&other, &info).unwrap_err();
        assert!(error.contains("not of"), "{error}");

        let mut forged = signed.clone();
        forged.genesis.owner = key(2).address();
        let forged_chain = forged.genesis.chain_id();
        let forged_info = GenesisInfo {
            genesis: hex::encode(encode(&forged)),
            ..info
        };
        let error = check_genesis(&forged_chain, &forged_info).unwrap_err();
        assert!(error.contains("signature"), "{error}");

        // Another genesis, well signed, beside the fields of the first.
        let resalted = SignedGenesis::sign(
            Genesis {
                salt: 9,
                ..signed.genesis.clone()
            },
            &owner,
        );
        let mut info = forged_info;
        info.genesis = hex::encode(encode(&resalted));
        let error = check_genesis(&resalted.genesis.chain_id(), &info).unwrap_err();
        assert!(
            error.contains("`chain_id`"),
            "a field that disagrees: {error}"
        );
    }

    #[test]
    fn a_validator_set_checks_against_its_hash_and_heights() {
        let set = genesis(&key(1), &[(key(9).host_id(), 3)], 0)
            .verify()
            .unwrap();
        let chain = ChainId([4; 32]);
        let info = || ValidatorSetInfo {
            chain_id: chain.to_string(),
            height: 7,
            from_height: 5,
            until_height: Some(9),
            validators: validator_infos(&set),
            total_power: 3,
            hash: set.hash().to_string(),
            set: hex::encode(encode(&set)),
        };
        assert_eq!(check_validators(&chain, Some(7), &info()).unwrap(), set);
        assert!(check_validators(&chain, Some(8), &info()).is_err());
        let mut hash = info();
        hash.hash = Hash([2; 32]).to_string();
        assert!(check_validators(&chain, Some(7), &hash)
            .unwrap_err()
            .contains("`hash`"));
        let mut power = info();
        power.validators[0].power = 4;
        assert!(check_validators(&chain, Some(7), &power).is_err());
        let mut past = info();
        past.until_height = Some(7);
        assert!(check_validators(&chain, Some(7), &past)
            .unwrap_err()
            .contains("leaves out"));
    }
}
