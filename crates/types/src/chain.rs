//! What defines a chain: its validator set, its genesis, its accounts.

use std::io::{self, Read, Write};

use borsh::{BorshDeserialize, BorshSerialize};

use crate::crypto::{
    verify, Domain, SecretKey, Signable, Signature, SignatureCheck, SignatureError,
};
use crate::encoding::{invalid, BoundedBytes, BoundedVec};
use crate::ids::{Address, Amount, ChainId, Hash, HostId, Round};
use crate::root::ChainKind;

/// The most validators one chain may have.
pub const VALIDATORS_MAX: usize = 64;
/// The longest currency symbol, in bytes.
pub const SYMBOL_BYTES_MAX: usize = 12;
/// The most decimal places a currency may have.
pub const DECIMALS_MAX: u8 = 18;

/// One validator of a chain: a host and its voting power.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, BorshSerialize, BorshDeserialize)]
pub struct Validator {
    pub host: HostId,
    pub power: u64,
}

/// A list of validators as it travels in a genesis or a transaction, not yet checked.
pub type ValidatorList = BoundedVec<Validator, VALIDATORS_MAX>;

/// Why a list of validators is not a valid set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidatorSetError {
    #[error("validator set is empty")]
    Empty,
    #[error("validator set has {0} validators, over the limit of {VALIDATORS_MAX}")]
    TooMany(usize),
    #[error("validator {0} has zero voting power")]
    ZeroPower(HostId),
    #[error("validator {0} appears twice")]
    Duplicate(HostId),
    #[error("total voting power overflows u64")]
    PowerOverflow,
}

/// A checked validator set: 1 to [`VALIDATORS_MAX`] distinct hosts, each with power > 0,
/// sorted by host id so that equal sets encode and hash equally.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ValidatorSet {
    validators: Vec<Validator>,
    total_power: u64,
}

impl ValidatorSet {
    pub fn new(mut validators: Vec<Validator>) -> Result<ValidatorSet, ValidatorSetError> {
        if validators.is_empty() {
            return Err(ValidatorSetError::Empty);
        }
        if validators.len() > VALIDATORS_MAX {
            return Err(ValidatorSetError::TooMany(validators.len()));
        }
        validators.sort_by_key(|validator| validator.host);
        let mut total_power = 0u64;
        for (i, validator) in validators.iter().enumerate() {
            if validator.power == 0 {
                return Err(ValidatorSetError::ZeroPower(validator.host));
            }
            if i > 0 && validators[i - 1].host == validator.host {
                return Err(ValidatorSetError::Duplicate(validator.host));
            }
            total_power = total_power
                .checked_add(validator.power)
                .ok_or(ValidatorSetError::PowerOverflow)?;
        }
        Ok(ValidatorSet {
            validators,
            total_power,
        })
    }

    pub fn validators(&self) -> &[Validator] {
        &self.validators
    }

    pub fn len(&self) -> usize {
        self.validators.len()
    }

    pub fn is_empty(&self) -> bool {
        self.validators.is_empty()
    }

    pub fn total_power(&self) -> u64 {
        self.total_power
    }

    /// The voting power of `host`, if it is a validator.
    pub fn power_of(&self, host: &HostId) -> Option<u64> {
        self.validators
            .binary_search_by_key(host, |validator| validator.host)
            .ok()
            .map(|index| self.validators[index].power)
    }

    /// Whether `power` is more than two thirds of the total.
    pub fn is_quorum(&self, power: u64) -> bool {
        u128::from(power) * 3 > u128::from(self.total_power) * 2
    }

    /// The hash a block header carries for this set.
    pub fn hash(&self) -> Hash {
        Hash::tagged(b"myriad/validators/1", self)
    }
}

impl BorshSerialize for ValidatorSet {
    fn serialize<W: Write>(&self, writer: &mut W) -> io::Result<()> {
        self.validators.serialize(writer)
    }
}

impl BorshDeserialize for ValidatorSet {
    fn deserialize_reader<R: Read>(reader: &mut R) -> io::Result<Self> {
        let list = ValidatorList::deserialize_reader(reader)?.into_inner();
        let set = ValidatorSet::new(list.clone()).map_err(|error| invalid(error.to_string()))?;
        if set.validators != list {
            return Err(invalid("validator set is not sorted by host id"));
        }
        Ok(set)
    }
}

/// A currency symbol: 1 to [`SYMBOL_BYTES_MAX`] characters of `A`–`Z` and `0`–`9`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, BorshSerialize)]
pub struct Symbol(BoundedBytes<SYMBOL_BYTES_MAX>);

impl Symbol {
    pub fn new(text: &str) -> Result<Symbol, String> {
        let valid_chars = text
            .bytes()
            .all(|byte| byte.is_ascii_uppercase() || byte.is_ascii_digit());
        if text.is_empty() || text.len() > SYMBOL_BYTES_MAX || !valid_chars {
            return Err(format!(
                "symbol {text:?} must be 1 to {SYMBOL_BYTES_MAX} characters of A-Z and 0-9"
            ));
        }
        BoundedBytes::new(text.as_bytes().to_vec())
            .map(Symbol)
            .map_err(|_| format!("symbol {text:?} is too long"))
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII is ever admitted.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl BorshDeserialize for Symbol {
    fn deserialize_reader<R: Read>(reader: &mut R) -> io::Result<Self> {
        let bytes = BoundedBytes::<SYMBOL_BYTES_MAX>::deserialize_reader(reader)?;
        let text = std::str::from_utf8(&bytes).map_err(|_| invalid("symbol is not ASCII"))?;
        Symbol::new(text).map_err(invalid)
    }
}

/// The most milliseconds a genesis may give [`ChainParams::precision_ms`] or
/// [`ChainParams::msg_delay_ms`].
pub const CLOCK_PARAM_MS_MAX: u64 = 60_000;

/// The longest a genesis may let an escrow or a payment channel stay locked
/// ([`ChainParams::lock_max_ms`]): a year.
pub const LOCK_MS_MAX: u64 = 365 * 24 * 3_600_000;

/// A chain's parameters, fixed by its genesis. The two clock bounds are those of
/// proposer-based timestamps (CometBFT's PBTS): a validator takes a fresh proposal only if
/// its block's time is within [receive time − `precision_ms` − message delay, receive time
/// + `precision_ms`], the message delay being `msg_delay_ms` plus a tenth of it per round.
///
/// The lock bounds limit how long after the block that opens it an escrow or a payment
/// channel may expire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, BorshSerialize, BorshDeserialize)]
pub struct ChainParams {
    /// How far apart the clocks of two correct hosts may be.
    pub precision_ms: u64,
    /// How long a proposal may take to reach a validator in round 0.
    pub msg_delay_ms: u64,
    /// The shortest time from a lock's block to its expiry.
    pub lock_min_ms: u64,
    /// The longest time from a lock's block to its expiry.
    pub lock_max_ms: u64,
}

impl Default for ChainParams {
    fn default() -> ChainParams {
        ChainParams {
            precision_ms: 500,
            msg_delay_ms: 2_000,
            lock_min_ms: 60_000,
            lock_max_ms: 7 * 24 * 3_600_000,
        }
    }
}

impl ChainParams {
    /// Whether a fresh proposal in `round` whose block says `block_time_ms` is timely for a
    /// validator that received it at `received_ms`.
    pub fn is_timely(&self, block_time_ms: u64, received_ms: u64, round: Round) -> bool {
        let delay = self.msg_delay_ms.saturating_mul(10 + u64::from(round.0)) / 10;
        let earliest = received_ms
            .saturating_sub(self.precision_ms)
            .saturating_sub(delay);
        let latest = received_ms.saturating_add(self.precision_ms);
        (earliest..=latest).contains(&block_time_ms)
    }
}

/// The founding document of a chain, signed by its owner. `ChainId = blake3(canonical genesis)`.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Genesis {
    pub owner: Address,
    pub symbol: Symbol,
    pub decimals: u8,
    pub max_supply: Option<Amount>,
    pub validators: ValidatorList,
    /// The chain's time before its first block, which must come after it.
    pub created_at_ms: u64,
    pub salt: u64,
    pub params: ChainParams,
    /// A personal chain, or the root chain with its rules.
    pub kind: ChainKind,
}

/// Why a genesis is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GenesisError {
    #[error("genesis has {0} decimals, over the limit of {DECIMALS_MAX}")]
    Decimals(u8),
    #[error("genesis validators: {0}")]
    Validators(ValidatorSetError),
    #[error("genesis {name} is {value} ms, over the limit of {CLOCK_PARAM_MS_MAX} ms")]
    ClockParam { name: &'static str, value: u64 },
    #[error(
        "genesis lock bounds {min} ms to {max} ms are not a range within 0 to {LOCK_MS_MAX} ms"
    )]
    LockBounds { min: u64, max: u64 },
    #[error("genesis caps the supply at 0: nothing could ever be minted (leave `max_supply` out for no cap)")]
    ZeroMaxSupply,
    #[error("genesis owner signature: {0}")]
    Signature(SignatureError),
}

impl Genesis {
    pub fn chain_id(&self) -> ChainId {
        ChainId(Hash::tagged(Domain::Genesis.tag(), self).0)
    }

    /// Checks the rules a genesis must meet and returns its validator set.
    pub fn validator_set(&self) -> Result<ValidatorSet, GenesisError> {
        if self.decimals > DECIMALS_MAX {
            return Err(GenesisError::Decimals(self.decimals));
        }
        if self.max_supply == Some(0) {
            return Err(GenesisError::ZeroMaxSupply);
        }
        let ChainParams {
            precision_ms,
            msg_delay_ms,
            lock_min_ms,
            lock_max_ms,
        } = self.params;
        for (name, value) in [
            ("precision_ms", precision_ms),
            ("msg_delay_ms", msg_delay_ms),
        ] {
            if value > CLOCK_PARAM_MS_MAX {
                return Err(GenesisError::ClockParam { name, value });
            }
        }
        if lock_min_ms > lock_max_ms || lock_max_ms > LOCK_MS_MAX {
            return Err(GenesisError::LockBounds {
                min: lock_min_ms,
                max: lock_max_ms,
            });
        }
        ValidatorSet::new(self.validators.to_vec()).map_err(GenesisError::Validators)
    }
}

impl Signable for Genesis {
    const DOMAIN: Domain = Domain::Genesis;
    fn chain_id(&self) -> ChainId {
        Genesis::chain_id(self)
    }
}

/// A genesis with its owner's signature.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct SignedGenesis {
    pub genesis: Genesis,
    pub signature: Signature,
}

impl SignedGenesis {
    /// Signs `genesis` with `owner`, whose address should be `genesis.owner`.
    pub fn sign(genesis: Genesis, owner: &SecretKey) -> SignedGenesis {
        SignedGenesis {
            signature: owner.sign(&genesis),
            genesis,
        }
    }

    /// Checks the owner's signature and the genesis rules; returns the validator set.
    pub fn verify(&self) -> Result<ValidatorSet, GenesisError> {
        verify(&self.genesis.owner.0, &self.genesis, &self.signature)
            .map_err(GenesisError::Signature)?;
        self.genesis.validator_set()
    }

    /// The owner's signature, to check in a batch (the rules are `genesis.validator_set()`).
    pub fn signature_check(&self) -> SignatureCheck {
        SignatureCheck::new(&self.genesis.owner.0, &self.genesis, &self.signature)
    }
}

/// One account's entry on one chain.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, BorshSerialize, BorshDeserialize)]
pub struct Account {
    pub balance: Amount,
    /// The nonce of the last transaction this account sent; the next must carry `nonce + 1`.
    pub nonce: u64,
}
