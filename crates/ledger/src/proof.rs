//! Light-client proofs through the root: a chain's anchored head, shown to a client that
//! trusts only the root committee — the root's header certified by that committee, and the
//! path from the header's state root to the chain's anchor — and the chain's later blocks,
//! each certified by the validator set the anchor names.

use borsh::{BorshDeserialize, BorshSerialize};
use myriad_types::{
    BlockHeader, Certificate, CertificateError, ChainAnchor, ChainId, Hash, Height, Object,
    ObjectKey, ValidatorSet,
};

use crate::state::{verify_object, StateProof};

/// A chain's directory entry on the root, with what proves it: its path to the state root
/// of a root block, and that block's header and certificate.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct AnchorProof {
    pub anchor: ChainAnchor,
    pub path: StateProof,
    pub root_header: BlockHeader,
    pub root_certificate: Certificate,
}

/// Why a proof does not show what it claims.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    #[error("the root header is of chain {got}, not the root {expected}")]
    NotRoot { expected: ChainId, got: ChainId },
    #[error(
        "the root header is signed by validator set {got}, not the trusted committee {expected}"
    )]
    RootCommittee { expected: Hash, got: Hash },
    #[error("the root certificate is not for the root header (block {expected})")]
    RootCertificateMismatch { expected: Hash },
    #[error("the root certificate: {0}")]
    RootCertificate(CertificateError),
    #[error("the anchor is of chain {got}, not {expected}")]
    OtherChain { expected: ChainId, got: ChainId },
    #[error("the anchor's path does not lead to the root header's state root")]
    AnchorPath,
    #[error("block {height} does not follow block {parent}: its parent hash differs")]
    Unlinked { height: Height, parent: Height },
    #[error("block {height} is signed by validator set {got}, not the anchored set {expected}: the set changed since the last anchor; try again after the next one")]
    SetChanged {
        height: Height,
        expected: Hash,
        got: Hash,
    },
    #[error("the certificate of block {height}: {error}")]
    Certificate {
        height: Height,
        error: CertificateError,
    },
    #[error("the certificate of block {height} is not for that block")]
    CertificateMismatch { height: Height },
}

impl AnchorProof {
    /// Checks that the committee `root_validators` of the root chain `root` certified a root
    /// block whose state holds this anchor for `chain`.
    pub fn verify(
        &self,
        root: &ChainId,
        root_validators: &ValidatorSet,
        chain: &ChainId,
    ) -> Result<(), ProofError> {
        let header = &self.root_header;
        if header.chain_id != *root {
            return Err(ProofError::NotRoot {
                expected: *root,
                got: header.chain_id,
            });
        }
        if header.validators_hash != root_validators.hash() {
            return Err(ProofError::RootCommittee {
                expected: root_validators.hash(),
                got: header.validators_hash,
            });
        }
        let certificate = &self.root_certificate;
        let block_hash = header.hash();
        if certificate.chain_id != *root
            || certificate.height != header.height
            || certificate.block_hash != block_hash
        {
            return Err(ProofError::RootCertificateMismatch {
                expected: block_hash,
            });
        }
        certificate
            .verify(root_validators)
            .map_err(ProofError::RootCertificate)?;
        if self.anchor.chain_id != *chain {
            return Err(ProofError::OtherChain {
                expected: *chain,
                got: self.anchor.chain_id,
            });
        }
        let anchor = Object::Anchor(self.anchor.clone());
        if !verify_object(
            &header.state_root,
            &ObjectKey::Anchor(*chain),
            Some(&anchor),
            &self.path,
        ) {
            return Err(ProofError::AnchorPath);
        }
        Ok(())
    }
}

/// Follows a chain from its anchored head to a later one: `later` are the headers and
/// certificates after the anchored height, in order. Each must name its parent (the first,
/// the anchored block) and be certified by `validators`, the set the anchor names (a set
/// that changed since is refused: the next anchor carries the change). Returns the height
/// and state root reached — the anchor's own when `later` is empty — which account and
/// object proofs are checked against.
pub fn follow_from_anchor(
    anchor: &ChainAnchor,
    validators: &ValidatorSet,
    later: &[(BlockHeader, Certificate)],
) -> Result<(Height, Hash), ProofError> {
    if validators.hash() != anchor.validators_hash {
        return Err(ProofError::SetChanged {
            height: anchor.height,
            expected: anchor.validators_hash,
            got: validators.hash(),
        });
    }
    let (mut height, mut block_hash, mut state_root) =
        (anchor.height, anchor.block_hash, anchor.state_root);
    for (header, certificate) in later {
        if header.prev_hash != block_hash
            || header.chain_id != anchor.chain_id
            || Some(header.height) != height.next()
        {
            return Err(ProofError::Unlinked {
                height: header.height,
                parent: height,
            });
        }
        if header.validators_hash != anchor.validators_hash {
            return Err(ProofError::SetChanged {
                height: header.height,
                expected: anchor.validators_hash,
                got: header.validators_hash,
            });
        }
        let hash = header.hash();
        if certificate.block_hash != hash
            || certificate.height != header.height
            || certificate.chain_id != header.chain_id
        {
            return Err(ProofError::CertificateMismatch {
                height: header.height,
            });
        }
        certificate
            .verify(validators)
            .map_err(|error| ProofError::Certificate {
                height: header.height,
                error,
            })?;
        (height, block_hash, state_root) = (header.height, hash, header.state_root);
    }
    Ok((height, state_root))
}
