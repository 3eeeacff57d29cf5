//! Myriad's canonical types: identifiers, keys and domain-separated signatures, the bounded
//! borsh encoding, and the genesis, transaction, block, vote and certificate formats.
#![forbid(unsafe_code)]

pub mod amount;
pub mod block;
pub mod chain;
pub mod crypto;
pub mod encoding;
pub mod heads;
pub mod ids;
pub mod objects;
pub mod quote;
pub mod root;
pub mod swap;
pub mod tick;
pub mod transaction;

pub use amount::{format_amount, parse_amount, AmountError};
pub use block::{
    tx_root, Block, BlockHeader, Certificate, CertificateError, CommitSignature, Lock, LockProof,
    Proposal, ProposalError, SignedProposal, SignedStep, SignedVote, SignerState, Vote, VoteStep,
    BLOCK_TXS_MAX,
};
pub use chain::{
    Account, ChainParams, Genesis, GenesisError, SignedGenesis, Symbol, Validator, ValidatorList,
    ValidatorSet, ValidatorSetError, CLOCK_PARAM_MS_MAX, DECIMALS_MAX, LOCK_MS_MAX,
    SYMBOL_BYTES_MAX, VALIDATORS_MAX,
};
pub use crypto::{
    verify, BatchVerifier, Domain, SecretKey, Signable, Signature, SignatureCheck, SignatureError,
};
pub use encoding::{decode, encode, BoundedBytes, BoundedVec, DecodeError, MESSAGE_BYTES_MAX};
pub use heads::{
    pack, packable, AnchorPacking, BatchError, BatchHead, BatchSignature, BatchTick, HeadBatch,
    HeadPacker, UnpackedHead, BATCH_HEADS_MAX, BATCH_SIBLINGS_MAX, BATCH_TABLE_MAX,
};
pub use ids::{Address, Amount, ChainId, Hash, Height, HostId, ParseIdError, Round};
pub use objects::{
    Allowlist, AllowlistAddresses, Channel, ChannelId, ChannelState, Escrow, EscrowId, EscrowState,
    EvidenceRecord, Object, ObjectKey, PendingAllowlist, Secret, SignedVoucher, ValidatorBond,
    Voucher, ALLOWLIST_DELAY_MS_MAX, ALLOWLIST_MAX,
};
pub use quote::{
    Quote, QuoteError, Rate, ReferenceRate, SignedQuote, QUOTE_LIFETIME_MAX_MS, RATE_DECIMALS,
    SIGNED_QUOTE_BYTES,
};
pub use root::{
    AnchorEntry, AnchoredHead, BondProof, ChainAnchor, ChainKind, Equivocation, EvidenceError,
    ForkEvidence, HostAddress, HostAnnouncement, HostEntry, KnownSet, OwnerBond, ReplacedSet,
    RootParams, SetChange, SetHistory, ANCHOR_ENTRIES_MAX, BONDS_PER_HEAD_MAX, HOST_ADDRESSES_MAX,
    HOST_ADDRESS_BYTES_MAX, META_BYTES_MAX, PROOF_BYTES_MAX, SET_CHANGES_MAX, SET_HISTORY_MAX,
};
pub use swap::{counter_expiry, ParseOfferError, SwapOffer, SWAP_OFFER_PREFIX};
pub use tick::{sign_alone, sign_tick, tick_leaf, TickSignature, TICK_PATH_MAX};
pub use transaction::{Memo, SignedTransaction, Transaction, TxKind, MEMO_BYTES_MAX};

#[cfg(test)]
mod tests;
