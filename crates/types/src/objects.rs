//! What a chain holds besides accounts: escrows locked by a hash and a time, one-way payment
//! channels with their vouchers, and withdrawal allowlists. Each is an object of the chain's
//! state, under its [`ObjectKey`], provable against the state root like an account.

use std::fmt;
use std::str::FromStr;

use borsh::{BorshDeserialize, BorshSerialize};
use sha2::{Digest, Sha256};

use crate::crypto::{verify, Domain, SecretKey, Signable, Signature, SignatureError};
use crate::encoding::{hex, BoundedVec};
use crate::ids::{Address, Amount, ChainId, Hash, Height, HostId, ParseIdError};
use crate::root::{ChainAnchor, HostEntry, KnownSet, OwnerBond, SetHistory};
use crate::transaction::Memo;

/// The most addresses one allowlist may hold.
pub const ALLOWLIST_MAX: usize = 16;

/// The longest delay an allowlist may put on its own changes: 30 days.
pub const ALLOWLIST_DELAY_MS_MAX: u64 = 30 * 24 * 3_600_000;

pub type AllowlistAddresses = BoundedVec<Address, ALLOWLIST_MAX>;

crate::ids::bech32_id!(
    /// An escrow: derived from the chain, the locker and the nonce of its `Lock`. Shown as
    /// `escrow1…`.
    EscrowId,
    "escrow",
    "escrow"
);
crate::ids::bech32_id!(
    /// A payment channel: derived from the chain, the payer and the nonce of its
    /// `OpenChannel`. Shown as `chan1…`.
    ChannelId,
    "chan",
    "channel"
);

impl EscrowId {
    /// The id of the escrow that `locker`'s transaction of `nonce` opens on `chain`.
    pub fn derive(chain: &ChainId, locker: &Address, nonce: u64) -> EscrowId {
        EscrowId(Hash::tagged(b"myriad/escrow/1", &(chain, locker, nonce)).0)
    }
}

impl ChannelId {
    /// The id of the channel that `payer`'s transaction of `nonce` opens on `chain`.
    pub fn derive(chain: &ChainId, payer: &Address, nonce: u64) -> ChannelId {
        ChannelId(Hash::tagged(b"myriad/channel/1", &(chain, payer, nonce)).0)
    }
}

/// The 32 bytes whose SHA-256 is an escrow's hash lock. SHA-256, not blake3, so that one
/// secret can lock funds on Bitcoin or Lightning too. Never shown by `Debug`.
#[derive(Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Secret(pub [u8; 32]);

impl Secret {
    /// A fresh random secret.
    pub fn random() -> Secret {
        let mut bytes = [0u8; 32];
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut bytes);
        Secret(bytes)
    }

    /// The hash lock this secret opens: SHA-256 of its bytes.
    pub fn hash_lock(&self) -> Hash {
        Hash(Sha256::digest(self.0).into())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// The secret as 64 hex digits.
impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex(&self.0))
    }
}

impl FromStr for Secret {
    type Err = ParseIdError;
    fn from_str(text: &str) -> Result<Secret, ParseIdError> {
        Hash::from_str(text)
            .map(|hash| Secret(hash.0))
            .map_err(|error| ParseIdError {
                kind: "secret",
                ..error
            })
    }
}

/// Where an escrow stands. It closes once, by a claim or a refund, and is kept closed so
/// that its secret stays readable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum EscrowState {
    Open,
    /// Claimed by a block of time `at_ms`, which revealed `secret`.
    Claimed {
        secret: Secret,
        at_ms: u64,
    },
    /// Refunded to the locker by a block of time `at_ms`.
    Refunded {
        at_ms: u64,
    },
}

/// Funds locked by `locker` for `to`: `to` gets them with the secret of `hash_lock` before
/// `expires_at_ms`, `locker` gets them back from then on.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Escrow {
    pub id: EscrowId,
    pub locker: Address,
    pub to: Address,
    pub amount: Amount,
    /// SHA-256 of the secret that claims it.
    pub hash_lock: Hash,
    pub expires_at_ms: u64,
    /// The memo of the `Lock` that opened it.
    pub memo: Memo,
    pub state: EscrowState,
}

/// Where a payment channel stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum ChannelState {
    Open,
    /// Closed by the payee with a voucher for `paid`, by a block of time `at_ms`.
    Closed {
        paid: Amount,
        at_ms: u64,
    },
    /// Refunded whole to the payer after its expiry, by a block of time `at_ms`.
    Refunded {
        at_ms: u64,
    },
}

/// A one-way payment channel: `payer` locked `amount` and pays `payee` off-chain with
/// vouchers of growing cumulative amounts; the payee closes it with the last one.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Channel {
    pub id: ChannelId,
    pub payer: Address,
    pub payee: Address,
    /// Everything the payer has put in, top-ups included.
    pub amount: Amount,
    /// From then on the payer may take back what the payee has not closed.
    pub expires_at_ms: u64,
    pub state: ChannelState,
}

/// The payer's promise that the payee may take `cumulative` of the channel in all: each
/// voucher replaces the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Voucher {
    pub chain_id: ChainId,
    pub channel: ChannelId,
    pub cumulative: Amount,
}

impl Signable for Voucher {
    const DOMAIN: Domain = Domain::Voucher;
    fn chain_id(&self) -> ChainId {
        self.chain_id
    }
}

/// A voucher with the payer's signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct SignedVoucher {
    pub voucher: Voucher,
    pub signature: Signature,
}

impl SignedVoucher {
    pub fn sign(voucher: Voucher, payer: &SecretKey) -> SignedVoucher {
        SignedVoucher {
            signature: payer.sign(&voucher),
            voucher,
        }
    }

    /// Whether `payer` signed it.
    pub fn verify(&self, payer: &Address) -> Result<(), SignatureError> {
        verify(&payer.0, &self.voucher, &self.signature)
    }
}

/// A change an allowlist waits for: from `effective_at_ms` on, `addresses` (none: the
/// allowlist is gone) and `delay_ms` replace the ones in force.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct PendingAllowlist {
    pub addresses: AllowlistAddresses,
    pub delay_ms: u64,
    pub effective_at_ms: u64,
}

/// The only addresses `owner` may pay (by transfer, lock or channel) while it is in force,
/// and how long a change to it waits.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Allowlist {
    pub owner: Address,
    pub addresses: AllowlistAddresses,
    pub delay_ms: u64,
    pub pending: Option<PendingAllowlist>,
}

impl Allowlist {
    /// The allowlist in force at `time_ms`: this one with a pending change applied once it
    /// is due, or `None` when that change removed it.
    pub fn at(&self, time_ms: u64) -> Option<Allowlist> {
        match &self.pending {
            Some(pending) if time_ms >= pending.effective_at_ms => (!pending.addresses.is_empty())
                .then(|| Allowlist {
                    owner: self.owner,
                    addresses: pending.addresses.clone(),
                    delay_ms: pending.delay_ms,
                    pending: None,
                }),
            _ => Some(self.clone()),
        }
    }

    /// Whether it lets its owner pay `to`. Paying oneself is always allowed.
    pub fn allows(&self, to: &Address) -> bool {
        *to == self.owner || self.addresses.contains(to)
    }
}

/// Part of a chain's currency its owner locked for the operator of one of its validators
/// (its pay, or an exchanger's working liquidity): it vests linearly over `vesting_ms` from
/// `start_ms` into the host's account, and what has not vested goes back to the owner when
/// the host leaves the validator set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct ValidatorBond {
    pub host: HostId,
    pub amount: Amount,
    /// What has been paid to the host so far.
    pub released: Amount,
    pub start_ms: u64,
    pub vesting_ms: u64,
}

impl ValidatorBond {
    /// How much of the bond has vested by `time_ms`.
    pub fn vested_at(&self, time_ms: u64) -> Amount {
        let elapsed = time_ms.saturating_sub(self.start_ms);
        if self.vesting_ms == 0 || elapsed >= self.vesting_ms {
            return self.amount;
        }
        // amount · elapsed / vesting, exactly: elapsed < vesting, so the result < amount.
        let (whole, part) = (
            self.amount / u128::from(self.vesting_ms),
            self.amount % u128::from(self.vesting_ms),
        );
        whole * u128::from(elapsed) + part * u128::from(elapsed) / u128::from(self.vesting_ms)
    }

    /// What is still locked: bonded and not yet paid out.
    pub fn held(&self) -> Amount {
        self.amount.saturating_sub(self.released)
    }
}

/// A piece of evidence the root has acted on, kept so that it slashes once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct EvidenceRecord {
    pub id: Hash,
    pub host: HostId,
    pub chain_id: ChainId,
    pub height: Height,
    /// The time of the root block that took it.
    pub at_ms: u64,
}

/// Where an object lives in a chain's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, BorshSerialize, BorshDeserialize)]
pub enum ObjectKey {
    Escrow(EscrowId),
    Channel(ChannelId),
    /// An account's allowlist: one per account.
    Allowlist(Address),
    /// A validator's bond on a personal chain: one per host.
    ValidatorBond(HostId),
    /// On the root: a host's directory entry.
    Host(HostId),
    /// On the root: an anchored chain.
    Anchor(ChainId),
    /// On the root: a validator set anchored chains name, by its hash.
    KnownSet(Hash),
    /// On the root: evidence acted on, by its id.
    Evidence(Hash),
    /// On the root: what an anchored chain's owner bonded to a host
    /// (`OwnerBond::key_of(host, chain)`).
    OwnerBond(Hash),
    /// On the root: the validator sets an anchored chain replaced, while they are kept.
    SetHistory(ChainId),
}

/// The object's id as text: `escrow1…`, `chan1…`, the allowlist's owner `acct1…`, …
impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ObjectKey::Escrow(id) => id.fmt(f),
            ObjectKey::Channel(id) => id.fmt(f),
            ObjectKey::Allowlist(owner) => write!(f, "allowlist of {owner}"),
            ObjectKey::ValidatorBond(host) => write!(f, "validator bond of {host}"),
            ObjectKey::Host(host) => write!(f, "directory entry of {host}"),
            ObjectKey::Anchor(chain) => write!(f, "anchor of {chain}"),
            ObjectKey::KnownSet(hash) => write!(f, "validator set {hash}"),
            ObjectKey::Evidence(id) => write!(f, "evidence {id}"),
            ObjectKey::OwnerBond(key) => write!(f, "owner bond {key}"),
            ObjectKey::SetHistory(chain) => write!(f, "set history of {chain}"),
        }
    }
}

impl ObjectKey {
    /// The object's key in the state's object tree.
    pub fn tree_key(&self) -> Hash {
        Hash::tagged(b"myriad/object/1", self)
    }
}

/// An object of a chain's state.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum Object {
    Escrow(Escrow),
    Channel(Channel),
    Allowlist(Allowlist),
    ValidatorBond(ValidatorBond),
    Host(HostEntry),
    Anchor(ChainAnchor),
    KnownSet(KnownSet),
    Evidence(EvidenceRecord),
    OwnerBond(OwnerBond),
    SetHistory(SetHistory),
}

impl Object {
    pub fn key(&self) -> ObjectKey {
        match self {
            Object::Escrow(escrow) => ObjectKey::Escrow(escrow.id),
            Object::Channel(channel) => ObjectKey::Channel(channel.id),
            Object::Allowlist(list) => ObjectKey::Allowlist(list.owner),
            Object::ValidatorBond(bond) => ObjectKey::ValidatorBond(bond.host),
            Object::Host(entry) => ObjectKey::Host(entry.host),
            Object::Anchor(anchor) => ObjectKey::Anchor(anchor.chain_id),
            Object::KnownSet(known) => ObjectKey::KnownSet(known.validators.hash()),
            Object::Evidence(record) => ObjectKey::Evidence(record.id),
            Object::OwnerBond(bond) => {
                ObjectKey::OwnerBond(OwnerBond::key_of(&bond.host, &bond.chain_id))
            }
            Object::SetHistory(history) => ObjectKey::SetHistory(history.chain_id),
        }
    }

    /// What the object holds out of its owners' balances: an open escrow's amount, an open
    /// channel's, a validator bond's unpaid rest, a host's bond. Part of the chain's supply.
    pub fn locked(&self) -> Amount {
        match self {
            Object::Escrow(escrow) if escrow.state == EscrowState::Open => escrow.amount,
            Object::Channel(channel) if channel.state == ChannelState::Open => channel.amount,
            Object::ValidatorBond(bond) => bond.held(),
            Object::Host(entry) => entry.bond,
            _ => 0,
        }
    }
}
