//! Blocks, votes and the certificates that finalize blocks.

use std::collections::BTreeSet;

use borsh::{BorshDeserialize, BorshSerialize};

use crate::chain::{ValidatorSet, VALIDATORS_MAX};
use crate::crypto::{Domain, Signable, SignatureCheck, SignatureError};
use crate::encoding::BoundedVec;
use crate::ids::{ChainId, Hash, Height, HostId, Round};
use crate::tick::TickSignature;
use crate::transaction::SignedTransaction;

/// The most transactions one block may carry.
pub const BLOCK_TXS_MAX: usize = 4096;

#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct BlockHeader {
    pub chain_id: ChainId,
    pub height: Height,
    pub prev_hash: Hash,
    pub timestamp_ms: u64,
    pub proposer: HostId,
    /// Merkle root of the hashes of the block's transactions, in order.
    pub tx_root: Hash,
    /// The chain's state root after executing this block.
    pub state_root: Hash,
    /// The hash of the validator set that signs this block.
    pub validators_hash: Hash,
}

impl BlockHeader {
    /// The block's hash: what votes and certificates name.
    pub fn hash(&self) -> Hash {
        Hash::tagged(b"myriad/block/1", self)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Block {
    pub header: BlockHeader,
    pub txs: BoundedVec<SignedTransaction, BLOCK_TXS_MAX>,
}

impl Block {
    pub fn hash(&self) -> Hash {
        self.header.hash()
    }
}

/// Merkle root over the hashes of `txs`: leaves are transaction hashes, an inner node is
/// blake3(0x01 ‖ left ‖ right), an odd node is carried up unchanged; no transactions is zero.
pub fn tx_root(txs: &[SignedTransaction]) -> Hash {
    let mut level: Vec<Hash> = txs.iter().map(SignedTransaction::hash).collect();
    if level.is_empty() {
        return Hash::ZERO;
    }
    while level.len() > 1 {
        let mut pairs = level.chunks_exact(2);
        let mut next: Vec<Hash> = pairs
            .by_ref()
            .map(|pair| Hash::of_parts(&[&[1], &pair[0].0, &pair[1].0]))
            .collect();
        next.extend_from_slice(pairs.remainder());
        level = next;
    }
    level[0]
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, BorshSerialize, BorshDeserialize,
)]
pub enum VoteStep {
    Prevote,
    Precommit,
}

/// A host's vote in one round of one height of one chain; `block_hash: None` is nil.
#[derive(Debug, Clone, PartialEq, Eq, Hash, BorshSerialize, BorshDeserialize)]
pub struct Vote {
    pub chain_id: ChainId,
    pub height: Height,
    pub round: Round,
    pub step: VoteStep,
    pub block_hash: Option<Hash>,
}

impl Signable for Vote {
    const DOMAIN: Domain = Domain::Vote;
    fn chain_id(&self) -> ChainId {
        self.chain_id
    }
}

/// A vote with its host's tick signature.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct SignedVote {
    pub vote: Vote,
    pub voter: HostId,
    pub signature: TickSignature,
}

impl SignedVote {
    pub fn verify_signature(&self) -> Result<(), SignatureError> {
        self.signature.verify(&self.voter.0, &self.vote)
    }

    /// The voter's signature, to check in a batch.
    pub fn signature_check(&self) -> SignatureCheck {
        self.signature.check(&self.voter.0, &self.vote)
    }
}

/// One validator's precommit inside a certificate: its tick signature, which covers the
/// precommit the certificate names.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct CommitSignature {
    pub host: HostId,
    pub signature: TickSignature,
}

/// Proof that a block is final: precommits for it from more than 2/3 of the voting power.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Certificate {
    pub chain_id: ChainId,
    pub height: Height,
    pub round: Round,
    pub block_hash: Hash,
    pub signatures: BoundedVec<CommitSignature, VALIDATORS_MAX>,
}

/// Why a certificate does not prove its block.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertificateError {
    #[error("certificate signer {0} is not in the validator set")]
    UnknownSigner(HostId),
    #[error("certificate signer {0} appears twice")]
    DuplicateSigner(HostId),
    #[error("certificate signature of {host}: {error}")]
    BadSignature { host: HostId, error: SignatureError },
    #[error("certificate carries {power} of {total} voting power, not more than 2/3")]
    NoQuorum { power: u64, total: u64 },
}

impl Certificate {
    /// The precommit every signature in this certificate signs.
    pub fn precommit(&self) -> Vote {
        Vote {
            chain_id: self.chain_id,
            height: self.height,
            round: self.round,
            step: VoteStep::Precommit,
            block_hash: Some(self.block_hash),
        }
    }

    /// Checks that every signer is a distinct member of `validators`, every signature is
    /// valid, and together they hold more than 2/3 of the voting power.
    pub fn verify(&self, validators: &ValidatorSet) -> Result<(), CertificateError> {
        self.check_signers(validators)?;
        let precommit = self.precommit();
        for CommitSignature { host, signature } in self.signatures.iter() {
            signature
                .verify(&host.0, &precommit)
                .map_err(|error| CertificateError::BadSignature { host: *host, error })?;
        }
        Ok(())
    }

    /// Everything [`Certificate::verify`] checks but the signatures themselves: distinct
    /// members of `validators` holding more than 2/3 of the power.
    pub fn check_signers(&self, validators: &ValidatorSet) -> Result<(), CertificateError> {
        validators.check_signers(self.signatures.iter().map(|s| &s.host))
    }

    /// The signatures, to check in a batch (after [`Certificate::check_signers`]).
    pub fn signature_checks(&self) -> impl Iterator<Item = SignatureCheck> + '_ {
        let precommit = self.precommit();
        self.signatures
            .iter()
            .map(move |s| s.signature.check(&s.host.0, &precommit))
    }
}

impl ValidatorSet {
    /// Checks that `signers` are distinct members of this set holding more than 2/3 of its
    /// voting power (their signatures are checked apart).
    pub fn check_signers<'a>(
        &self,
        signers: impl IntoIterator<Item = &'a HostId>,
    ) -> Result<(), CertificateError> {
        let validators = self;
        let mut seen = BTreeSet::new();
        let mut power = 0u64;
        for host in signers {
            let host_power = validators
                .power_of(host)
                .ok_or(CertificateError::UnknownSigner(*host))?;
            if !seen.insert(*host) {
                return Err(CertificateError::DuplicateSigner(*host));
            }
            // Cannot overflow: distinct members of a set whose total fits in u64.
            power = power.saturating_add(host_power);
        }
        if !validators.is_quorum(power) {
            return Err(CertificateError::NoQuorum {
                power,
                total: validators.total_power(),
            });
        }
        Ok(())
    }
}

/// The kinds of message a host signs in consensus.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, BorshSerialize, BorshDeserialize,
)]
pub enum SignedStep {
    Proposal,
    Prevote,
    Precommit,
}

/// A value a host is locked on: it precommitted `block_hash` in `round` (Tendermint's
/// lockedRound / lockedValue).
#[derive(Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Lock {
    pub round: Round,
    pub block_hash: Hash,
}

/// The last thing a host signed for one chain, and its lock at that height: what its signer
/// guard must have on disk before any signature leaves the host.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct SignerState {
    pub height: Height,
    pub round: Round,
    pub step: SignedStep,
    pub block_hash: Option<Hash>,
    pub lock: Option<Lock>,
}

/// What a locked host keeps beside its lock, so that after a restart it can still offer the
/// locked block again (Tendermint's validValue) and show peers why it is valid: the
/// proposal and the prevotes for it in its round.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct LockProof {
    pub proposal: SignedProposal,
    pub prevotes: BoundedVec<SignedVote, VALIDATORS_MAX>,
}

/// A proposer's offer of a block for one round of one height. `valid_round` is the round in
/// which the proposer saw the block gather a prevote quorum, if it re-proposes it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, BorshSerialize, BorshDeserialize)]
pub struct Proposal {
    pub chain_id: ChainId,
    pub height: Height,
    pub round: Round,
    pub block_hash: Hash,
    pub valid_round: Option<Round>,
}

impl Signable for Proposal {
    const DOMAIN: Domain = Domain::Proposal;
    fn chain_id(&self) -> ChainId {
        self.chain_id
    }
}

/// A signed proposal with the block it names.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct SignedProposal {
    pub proposal: Proposal,
    pub proposer: HostId,
    pub signature: TickSignature,
    pub block: Block,
}

/// Why a signed proposal is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProposalError {
    #[error("proposal signature: {0}")]
    Signature(SignatureError),
    #[error("the proposal names block {named}, but carries block {carried}")]
    OtherBlock { named: Hash, carried: Hash },
    #[error("the proposed block's transactions do not match its header's tx_root")]
    Transactions,
}

impl SignedProposal {
    /// Checks the signature, and that the block — header and transactions — is the one the
    /// proposal names: a relay cannot swap what it carries.
    pub fn verify(&self) -> Result<(), ProposalError> {
        self.signature
            .verify(&self.proposer.0, &self.proposal)
            .map_err(ProposalError::Signature)?;
        self.check_block()
    }

    /// Everything [`SignedProposal::verify`] checks but the signature.
    pub fn check_block(&self) -> Result<(), ProposalError> {
        let carried = self.block.hash();
        if carried != self.proposal.block_hash {
            return Err(ProposalError::OtherBlock {
                named: self.proposal.block_hash,
                carried,
            });
        }
        if tx_root(&self.block.txs) != self.block.header.tx_root {
            return Err(ProposalError::Transactions);
        }
        Ok(())
    }

    /// The proposer's signature, to check in a batch (after [`SignedProposal::check_block`]).
    pub fn signature_check(&self) -> SignatureCheck {
        self.signature.check(&self.proposer.0, &self.proposal)
    }
}
