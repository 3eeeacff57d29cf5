//! Transactions: signed by their sender, bound to one chain, ordered by a per-account nonce.

use borsh::{BorshDeserialize, BorshSerialize};

use crate::chain::ValidatorList;
use crate::crypto::{
    verify, Domain, SecretKey, Signable, Signature, SignatureCheck, SignatureError,
};
use crate::encoding::BoundedBytes;
use crate::ids::{Address, Amount, ChainId, Hash};

/// The longest transfer memo, in bytes.
pub const MEMO_BYTES_MAX: usize = 256;

pub type Memo = BoundedBytes<MEMO_BYTES_MAX>;

/// What a transaction does. The encoding is a one-byte variant index followed by the
/// fields: new kinds are only ever appended, so existing encodings never change meaning.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum TxKind {
    /// Issue new currency to `to`. Owner only; never past the chain's `max_supply`.
    Mint { to: Address, amount: Amount },
    /// Move currency from the sender to `to`.
    Transfer {
        to: Address,
        amount: Amount,
        memo: Memo,
    },
    /// Destroy currency held by the sender.
    Burn { amount: Amount },
    /// Replace the validator set from the next height on. Owner only.
    SetValidators { validators: ValidatorList },
    /// Hand the chain to a new owner. Owner only.
    TransferOwnership { new_owner: Address },
}

impl TxKind {
    /// A short name for logs and receipts.
    pub fn name(&self) -> &'static str {
        match self {
            TxKind::Mint { .. } => "mint",
            TxKind::Transfer { .. } => "transfer",
            TxKind::Burn { .. } => "burn",
            TxKind::SetValidators { .. } => "set-validators",
            TxKind::TransferOwnership { .. } => "transfer-ownership",
        }
    }

    /// The account a transaction gives something to, besides its sender: the recipient of
    /// a mint or transfer, the new owner of a chain.
    pub fn recipient(&self) -> Option<Address> {
        match self {
            TxKind::Mint { to, .. } | TxKind::Transfer { to, .. } => Some(*to),
            TxKind::TransferOwnership { new_owner } => Some(*new_owner),
            TxKind::Burn { .. } | TxKind::SetValidators { .. } => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Transaction {
    pub chain_id: ChainId,
    pub sender: Address,
    pub nonce: u64,
    pub kind: TxKind,
}

impl Signable for Transaction {
    const DOMAIN: Domain = Domain::Transaction;
    fn chain_id(&self) -> ChainId {
        self.chain_id
    }
}

impl Transaction {
    /// The transaction's id. It covers everything but the signature, so it is the same
    /// whatever valid encoding of the signature travels with it.
    pub fn hash(&self) -> Hash {
        Hash::tagged(Domain::Transaction.tag(), self)
    }
}

/// A transaction with its sender's signature.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct SignedTransaction {
    pub tx: Transaction,
    pub signature: Signature,
}

impl SignedTransaction {
    /// Signs `tx` with `sender`, whose address should be `tx.sender`.
    pub fn sign(tx: Transaction, sender: &SecretKey) -> SignedTransaction {
        SignedTransaction {
            signature: sender.sign(&tx),
            tx,
        }
    }

    pub fn hash(&self) -> Hash {
        self.tx.hash()
    }

    pub fn verify_signature(&self) -> Result<(), SignatureError> {
        verify(&self.tx.sender.0, &self.tx, &self.signature)
    }

    /// The sender's signature, to check in a batch.
    pub fn signature_check(&self) -> SignatureCheck {
        SignatureCheck::new(&self.tx.sender.0, &self.tx, &self.signature)
    }
}
