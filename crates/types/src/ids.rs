//! Identifiers and scalar quantities, with human-readable forms that parse back.

use std::fmt;
use std::str::FromStr;

use bech32::primitives::decode::CheckedHrpstring;
use bech32::{Bech32m, Hrp};
use borsh::{BorshDeserialize, BorshSerialize};

use crate::encoding::{encode_into, from_hex, hex};

/// An amount of a chain's currency, in its smallest unit.
pub type Amount = u128;

/// A block height; the genesis state is height 0, the first block height 1.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    BorshSerialize,
    BorshDeserialize,
)]
pub struct Height(pub u64);

impl Height {
    /// The next height, or `None` at the end of the range.
    pub fn next(self) -> Option<Height> {
        self.0.checked_add(1).map(Height)
    }
}

impl fmt::Display for Height {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A consensus round within one height.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    BorshSerialize,
    BorshDeserialize,
)]
pub struct Round(pub u32);

impl fmt::Display for Round {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A 32-byte blake3 digest.
#[derive(
    Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, BorshSerialize, BorshDeserialize,
)]
pub struct Hash(pub [u8; 32]);

impl Hash {
    pub const ZERO: Hash = Hash([0; 32]);

    /// blake3 of `bytes`.
    pub fn digest(bytes: &[u8]) -> Hash {
        Hash(*blake3::hash(bytes).as_bytes())
    }

    /// blake3 of a domain tag followed by the canonical encoding of `value`: the hash of
    /// one kind of object can never equal the hash of another kind.
    pub fn tagged<T: BorshSerialize + ?Sized>(tag: &[u8], value: &T) -> Hash {
        let mut hasher = blake3::Hasher::new();
        hasher.update(tag);
        // Encoded straight into the hasher: the same bytes as `encode(value)`, no buffer.
        encode_into(value, &mut hasher);
        Hash(*hasher.finalize().as_bytes())
    }

    /// blake3 of several byte strings, one after another.
    pub fn of_parts(parts: &[&[u8]]) -> Hash {
        let mut hasher = blake3::Hasher::new();
        for part in parts {
            hasher.update(part);
        }
        Hash(*hasher.finalize().as_bytes())
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex(&self.0))
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", &hex(&self.0)[..16])
    }
}

impl FromStr for Hash {
    type Err = ParseIdError;
    fn from_str(text: &str) -> Result<Hash, ParseIdError> {
        let bad = |reason: &str| ParseIdError {
            kind: "hash",
            text: text.to_owned(),
            reason: reason.to_owned(),
        };
        from_hex(text)
            .and_then(|bytes| bytes.try_into().ok())
            .map(Hash)
            .ok_or_else(|| bad("expected 64 hexadecimal digits"))
    }
}

/// A text that is not the human-readable form of an identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text:?} is not a valid {kind} id: {reason}")]
pub struct ParseIdError {
    pub kind: &'static str,
    pub text: String,
    pub reason: String,
}

/// Defines a 32-byte identifier shown as bech32m with its own prefix.
macro_rules! bech32_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal, $kind:literal) => {
        $(#[$doc])*
        #[derive(
            Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, BorshSerialize, BorshDeserialize,
        )]
        pub struct $name(pub [u8; 32]);

        impl $name {
            /// The prefix of the human-readable form.
            pub const PREFIX: &'static str = $prefix;

            pub fn as_bytes(&self) -> &[u8; 32] {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&$crate::ids::to_bech32m($prefix, &self.0))
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let text = self.to_string();
                write!(f, "{}…{}", &text[..$prefix.len() + 7], &text[text.len() - 4..])
            }
        }

        impl FromStr for $name {
            type Err = ParseIdError;
            fn from_str(text: &str) -> Result<$name, ParseIdError> {
                $crate::ids::from_bech32m($prefix, $kind, text).map($name)
            }
        }
    };
}

pub(crate) use bech32_id;

bech32_id!(
    /// A chain: blake3 of its canonical genesis. Shown as `chain1…`.
    ChainId,
    "chain",
    "chain"
);
bech32_id!(
    /// A host (validator process): its ed25519 public key. Shown as `host1…`.
    HostId,
    "host",
    "host"
);
bech32_id!(
    /// An account: its ed25519 public key. Shown as `acct1…`.
    Address,
    "acct",
    "account"
);

pub(crate) fn to_bech32m(prefix: &'static str, bytes: &[u8; 32]) -> String {
    let hrp = Hrp::parse_unchecked(prefix);
    // Only an over-long string can fail to encode, and 32 bytes are far from that.
    bech32::encode::<Bech32m>(hrp, bytes).unwrap_or_default()
}

pub(crate) fn from_bech32m(
    prefix: &str,
    kind: &'static str,
    text: &str,
) -> Result<[u8; 32], ParseIdError> {
    let bad = |reason: String| ParseIdError {
        kind,
        text: text.to_owned(),
        reason,
    };
    let checked = CheckedHrpstring::new::<Bech32m>(text).map_err(|error| bad(error.to_string()))?;
    let hrp = checked.hrp();
    if hrp.as_str() != prefix {
        return Err(bad(format!(
            "prefix is {:?}, expected {prefix:?}",
            hrp.as_str()
        )));
    }
    let bytes: Vec<u8> = checked.byte_iter().collect();
    <[u8; 32]>::try_from(bytes.as_slice())
        .map_err(|_| bad(format!("holds {} bytes, expected 32", bytes.len())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_text() {
        let chain = ChainId([7; 32]);
        let text = chain.to_string();
        assert!(text.starts_with("chain1"), "{text}");
        assert_eq!(text.parse::<ChainId>().unwrap(), chain);

        let host = HostId([9; 32]);
        assert!(host.to_string().starts_with("host1"));
        assert_eq!(host.to_string().parse::<HostId>().unwrap(), host);

        let account = Address([1; 32]);
        assert!(account.to_string().starts_with("acct1"));
        assert_eq!(account.to_string().parse::<Address>().unwrap(), account);

        let hash = Hash::digest(b"x");
        assert_eq!(hash.to_string().parse::<Hash>().unwrap(), hash);
    }

    #[test]
    fn wrong_prefix_and_bad_checksum_are_clear_errors() {
        let host = HostId([9; 32]).to_string();
        let error = host.parse::<Address>().unwrap_err();
        assert!(error.to_string().contains("expected \"acct\""), "{error}");

        let mut chain = ChainId([7; 32]).to_string();
        let last = chain.pop().unwrap();
        chain.push(if last == 'q' { 'p' } else { 'q' });
        let error = chain.parse::<ChainId>().unwrap_err();
        assert!(
            error.to_string().contains("not a valid chain id"),
            "{error}"
        );

        assert!("zz".parse::<Hash>().is_err());
        // Right length in bytes, but not 64 hexadecimal digits.
        let multibyte = format!("a\u{e9}{}", "0".repeat(61));
        assert_eq!(multibyte.len(), 64);
        assert!(multibyte.parse::<Hash>().is_err());
        assert!(format!("+0{}", "0".repeat(62)).parse::<Hash>().is_err());
    }
}
