//! Objects of a chain's state — escrows, channels, allowlists — as committed, trusting
//! nothing the host says: each one's proof must lead to the state root of a block whose
//! certificate verifies against the chain's validators.

use myriad_api_types::{ChainInfo, ObjectInfo};
use myriad_ledger::{verify_object, StateProof};
use myriad_types::{
    decode, Block, Certificate, ChainId, Channel, ChannelId, Escrow, EscrowId, HostId, Object,
    ObjectKey, Validator, ValidatorSet,
};

use crate::client::{Client, ClientError};

/// Why an object could not be shown as committed.
#[derive(Debug, thiserror::Error)]
pub enum ObjectError {
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error("{key} on {chain}: {reason}")]
    Unverified {
        chain: ChainId,
        key: ObjectKey,
        reason: String,
    },
}

impl Client {
    /// An object of a chain's latest state with its proof, as the host serves it. The root's
    /// own objects are read through its directory (`/root/…`) instead.
    pub fn object(&self, chain: &ChainId, key: &ObjectKey) -> Result<ObjectInfo, ClientError> {
        let path = match key {
            ObjectKey::Escrow(id) => format!("/chains/{chain}/escrows/{id}"),
            ObjectKey::Channel(id) => format!("/chains/{chain}/channels/{id}"),
            ObjectKey::Allowlist(owner) => format!("/chains/{chain}/allowlists/{owner}"),
            ObjectKey::ValidatorBond(host) => format!("/chains/{chain}/bonds/{host}"),
            ObjectKey::Host(_)
            | ObjectKey::Anchor(_)
            | ObjectKey::KnownSet(_)
            | ObjectKey::Evidence(_)
            | ObjectKey::OwnerBond(_)
            | ObjectKey::SetHistory(_) => {
                return Err(ClientError::NotFound {
                    url: self.url().to_owned(),
                    message: format!("{key} is read through the root's directory (/root/…)"),
                })
            }
        };
        self.get(&path)
    }

    /// A block with its certificate, decoded from the bytes the host serves.
    pub fn certified_block(
        &self,
        chain: &ChainId,
        height: u64,
    ) -> Result<(Block, Certificate), ClientError> {
        let info: myriad_api_types::BlockInfo =
            self.get(&format!("/chains/{chain}/blocks/{height}"))?;
        let malformed = |reason: String| ClientError::Malformed {
            url: self.url().to_owned(),
            reason,
        };
        let bytes = |text: &str| hex::decode(text).map_err(|e| malformed(e.to_string()));
        let block =
            decode("block", &bytes(&info.block_bytes)?).map_err(|e| malformed(e.to_string()))?;
        let certificate = decode("certificate", &bytes(&info.certificate_bytes)?)
            .map_err(|e| malformed(e.to_string()))?;
        Ok((block, certificate))
    }

    /// An object as committed on `chain`: its proof must lead to the state root of a block
    /// whose certificate verifies against the chain's validators (`info`, whose set must be
    /// the one the block names).
    pub fn committed_object(
        &self,
        chain: &ChainId,
        info: &ChainInfo,
        key: ObjectKey,
    ) -> Result<Object, ObjectError> {
        let unverified = |reason: String| ObjectError::Unverified {
            chain: *chain,
            key,
            reason,
        };
        let answer = self.object(chain, &key)?;
        let object: Object = hex::decode(&answer.object)
            .ok()
            .and_then(|bytes| decode("object", &bytes).ok())
            .ok_or_else(|| unverified("the host sent an object that does not decode".into()))?;
        let proof: StateProof = hex::decode(&answer.proof)
            .ok()
            .and_then(|bytes| decode("proof", &bytes).ok())
            .ok_or_else(|| unverified("the host sent a proof that does not decode".into()))?;
        let (block, certificate) = self.certified_block(chain, answer.height)?;
        let root = block.header.state_root;
        if !verify_object(&root, &key, Some(&object), &proof) {
            return Err(unverified(format!(
                "its proof does not lead to the state root of block {}",
                answer.height
            )));
        }
        let validators = validator_set(info).map_err(unverified)?;
        if validators.hash() != block.header.validators_hash {
            return Err(unverified(format!(
                "block {} names validator set {}, the chain's is {}",
                answer.height,
                block.header.validators_hash,
                validators.hash()
            )));
        }
        if certificate.block_hash != block.hash() || certificate.chain_id != *chain {
            return Err(unverified("the certificate is for another block".into()));
        }
        certificate
            .verify(&validators)
            .map_err(|e| unverified(format!("certificate of block {}: {e}", answer.height)))?;
        Ok(object)
    }

    /// An escrow as committed on `chain` (see [`Client::committed_object`]).
    pub fn committed_escrow(
        &self,
        chain: &ChainId,
        info: &ChainInfo,
        id: &EscrowId,
    ) -> Result<Escrow, ObjectError> {
        match self.committed_object(chain, info, ObjectKey::Escrow(*id))? {
            Object::Escrow(escrow) => Ok(escrow),
            _ => Err(ObjectError::Unverified {
                chain: *chain,
                key: ObjectKey::Escrow(*id),
                reason: "it is not an escrow".into(),
            }),
        }
    }

    /// A payment channel as committed on `chain` (see [`Client::committed_object`]).
    pub fn committed_channel(
        &self,
        chain: &ChainId,
        info: &ChainInfo,
        id: &ChannelId,
    ) -> Result<Channel, ObjectError> {
        match self.committed_object(chain, info, ObjectKey::Channel(*id))? {
            Object::Channel(channel) => Ok(channel),
            _ => Err(ObjectError::Unverified {
                chain: *chain,
                key: ObjectKey::Channel(*id),
                reason: "it is not a channel".into(),
            }),
        }
    }
}

/// The validator set a chain's info lists.
fn validator_set(info: &ChainInfo) -> Result<ValidatorSet, String> {
    let validators = info
        .validators
        .iter()
        .map(|v| {
            let host: HostId = v.host.parse().map_err(|e| format!("{e}"))?;
            Ok(Validator {
                host,
                power: v.power,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    ValidatorSet::new(validators).map_err(|e| e.to_string())
}
