//! Transactions: signed by their sender, bound to one chain, ordered by a per-account nonce.

use borsh::{BorshDeserialize, BorshSerialize};

use crate::chain::ValidatorList;
use crate::crypto::{
    verify, Domain, SecretKey, Signable, Signature, SignatureCheck, SignatureError,
};
use crate::encoding::{BoundedBytes, BoundedVec};
use crate::ids::{Address, Amount, ChainId, Hash, HostId};
use crate::objects::{AllowlistAddresses, ChannelId, EscrowId, ObjectKey, Secret, SignedVoucher};
use crate::root::{AnchorEntry, Equivocation, HostAnnouncement, ANCHOR_ENTRIES_MAX};

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
    /// Move `amount` from the sender into an escrow for `to`, claimable with the secret whose
    /// SHA-256 is `hash_lock` until `expires_at_ms`, refundable to the sender from then on.
    /// Its id is [`EscrowId::derive`] of the sender and this transaction's nonce. The memo
    /// stays with the escrow: a swap with an exchanger names there the quote it takes.
    Lock {
        to: Address,
        amount: Amount,
        hash_lock: Hash,
        expires_at_ms: u64,
        memo: Memo,
    },
    /// Pay an open escrow to its `to` with its secret, before it expires. Anyone may send it.
    Claim { escrow: EscrowId, secret: Secret },
    /// Give an expired escrow back to its locker. Anyone may send it.
    Refund { escrow: EscrowId },
    /// From now on, let the sender pay only `addresses` (none: no allowlist); once an
    /// allowlist is in force, a change waits for its delay.
    SetAllowlist {
        addresses: AllowlistAddresses,
        delay_ms: u64,
    },
    /// Lock `amount` in a payment channel to `payee` until `expires_at_ms`. Its id is
    /// [`ChannelId::derive`] of the sender and this transaction's nonce.
    OpenChannel {
        payee: Address,
        amount: Amount,
        expires_at_ms: u64,
    },
    /// Add `amount` to the sender's open channel.
    TopUpChannel { channel: ChannelId, amount: Amount },
    /// By the payee: pay the voucher's cumulative amount to the payee and the rest back to
    /// the payer, closing the channel. (Boxed: it is the largest kind by far.)
    CloseChannel {
        channel: ChannelId,
        voucher: Box<SignedVoucher>,
    },
    /// By the payer, once the channel has expired unclosed: take it all back.
    RefundChannel { channel: ChannelId },
    /// Owner only: lock `amount` of the owner's balance for the operator of validator
    /// `host`, vesting into the host's account over `vesting_ms`. A bond the host holds
    /// already pays out what has vested and restarts with its unvested rest added.
    BondValidator {
        host: HostId,
        amount: Amount,
        vesting_ms: u64,
    },
    /// Pay a validator bond's vested part to its host's account. Anyone may send it.
    ReleaseBond { host: HostId },
    /// Root only, sent by a host with its host key: enter the directory or renew, adding
    /// `bond` (may be 0 on renewal) to the host's bond.
    RegisterHost {
        announcement: HostAnnouncement,
        bond: Amount,
    },
    /// Root only: a host whose registration lapsed `unbond_ms` ago takes its bond back.
    WithdrawBond,
    /// Root only, by a registered host: chains entering the directory and their newer
    /// certified heads.
    Anchor {
        entries: BoundedVec<AnchorEntry, ANCHOR_ENTRIES_MAX>,
    },
    /// Root only: two conflicting votes of a registered host, which slash its bond. Anyone
    /// may send it.
    SubmitEvidence { evidence: Box<Equivocation> },
}

impl TxKind {
    /// Whether the transaction acts on an escrow or channel that exists already, which
    /// another transaction may close (or its expiry pass) before this one commits.
    pub fn acts_on_open_object(&self) -> bool {
        matches!(
            self,
            TxKind::Claim { .. }
                | TxKind::Refund { .. }
                | TxKind::TopUpChannel { .. }
                | TxKind::CloseChannel { .. }
                | TxKind::RefundChannel { .. }
        )
    }

    /// A short name for logs and receipts.
    pub fn name(&self) -> &'static str {
        match self {
            TxKind::Mint { .. } => "mint",
            TxKind::Transfer { .. } => "transfer",
            TxKind::Burn { .. } => "burn",
            TxKind::SetValidators { .. } => "set-validators",
            TxKind::TransferOwnership { .. } => "transfer-ownership",
            TxKind::Lock { .. } => "lock",
            TxKind::Claim { .. } => "claim",
            TxKind::Refund { .. } => "refund",
            TxKind::SetAllowlist { .. } => "set-allowlist",
            TxKind::OpenChannel { .. } => "open-channel",
            TxKind::TopUpChannel { .. } => "top-up-channel",
            TxKind::CloseChannel { .. } => "close-channel",
            TxKind::RefundChannel { .. } => "refund-channel",
            TxKind::BondValidator { .. } => "bond-validator",
            TxKind::ReleaseBond { .. } => "release-bond",
            TxKind::RegisterHost { .. } => "register-host",
            TxKind::WithdrawBond => "withdraw-bond",
            TxKind::Anchor { .. } => "anchor",
            TxKind::SubmitEvidence { .. } => "submit-evidence",
        }
    }

    /// The amount a transaction moves, for those that name one.
    pub fn amount(&self) -> Option<Amount> {
        match self {
            TxKind::Mint { amount, .. }
            | TxKind::Transfer { amount, .. }
            | TxKind::Burn { amount }
            | TxKind::Lock { amount, .. }
            | TxKind::OpenChannel { amount, .. }
            | TxKind::TopUpChannel { amount, .. }
            | TxKind::BondValidator { amount, .. }
            | TxKind::RegisterHost { bond: amount, .. } => Some(*amount),
            _ => None,
        }
    }

    /// The account a transaction names to give something to, besides its sender: the
    /// recipient of a mint, transfer or lock, the payee of a channel, the new owner of a
    /// chain. (Claims and refunds pay whom their escrow or channel names.)
    pub fn recipient(&self) -> Option<Address> {
        match self {
            TxKind::Mint { to, .. } | TxKind::Transfer { to, .. } | TxKind::Lock { to, .. } => {
                Some(*to)
            }
            TxKind::OpenChannel { payee, .. } => Some(*payee),
            TxKind::TransferOwnership { new_owner } => Some(*new_owner),
            TxKind::BondValidator { host, .. } => Some(Address::from(*host)),
            _ => None,
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
    /// The escrow or channel the transaction opens or acts on, if any.
    pub fn object(&self) -> Option<ObjectKey> {
        match &self.kind {
            TxKind::Lock { .. } => Some(ObjectKey::Escrow(EscrowId::derive(
                &self.chain_id,
                &self.sender,
                self.nonce,
            ))),
            TxKind::Claim { escrow, .. } | TxKind::Refund { escrow } => {
                Some(ObjectKey::Escrow(*escrow))
            }
            TxKind::OpenChannel { .. } => Some(ObjectKey::Channel(ChannelId::derive(
                &self.chain_id,
                &self.sender,
                self.nonce,
            ))),
            TxKind::TopUpChannel { channel, .. }
            | TxKind::CloseChannel { channel, .. }
            | TxKind::RefundChannel { channel } => Some(ObjectKey::Channel(*channel)),
            TxKind::SetAllowlist { .. } => Some(ObjectKey::Allowlist(self.sender)),
            TxKind::BondValidator { host, .. } | TxKind::ReleaseBond { host } => {
                Some(ObjectKey::ValidatorBond(*host))
            }
            TxKind::RegisterHost { .. } | TxKind::WithdrawBond => {
                Some(ObjectKey::Host(HostId(self.sender.0)))
            }
            _ => None,
        }
    }

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

    /// Checks the sender's signature and every signature the transaction carries (an
    /// anchor's certificates and geneses, evidence's votes).
    pub fn verify_signature(&self) -> Result<(), SignatureError> {
        verify(&self.tx.sender.0, &self.tx, &self.signature)?;
        self.carried_signature_checks()
            .iter()
            .try_for_each(SignatureCheck::verify)
    }

    /// Every signature [`SignedTransaction::verify_signature`] checks, to check in a batch:
    /// the sender's first.
    pub fn signature_checks(&self) -> Vec<SignatureCheck> {
        let mut checks = vec![SignatureCheck::new(
            &self.tx.sender.0,
            &self.tx,
            &self.signature,
        )];
        checks.extend(self.carried_signature_checks());
        checks
    }

    /// The signatures the transaction carries, each once: the precommits a host signed in
    /// one tick share its one tick signature, so an anchor of many chains carries few.
    fn carried_signature_checks(&self) -> Vec<SignatureCheck> {
        match &self.tx.kind {
            TxKind::Anchor { entries } => {
                let mut seen = std::collections::HashSet::new();
                entries
                    .iter()
                    .flat_map(AnchorEntry::signature_checks)
                    .filter(|check| seen.insert(check.clone()))
                    .collect()
            }
            TxKind::SubmitEvidence { evidence } => evidence.signature_checks().to_vec(),
            _ => Vec::new(),
        }
    }
}
