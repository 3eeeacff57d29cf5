//! Canonical encoding: borsh, with every length bounded before allocation and no trailing bytes.

use std::io::{self, Read, Write};
use std::ops::Deref;

use borsh::{BorshDeserialize, BorshSerialize};

/// The largest encoded message any decoder accepts, in bytes.
pub const MESSAGE_BYTES_MAX: usize = 4 * 1024 * 1024;

/// A decoding failure: what was being decoded and why it was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("cannot decode {what}: {size} bytes is over the limit of {max} bytes")]
    TooLarge {
        what: &'static str,
        size: usize,
        max: usize,
    },
    #[error("cannot decode {what}: {reason}")]
    Invalid { what: &'static str, reason: String },
}

/// Encodes a value in its canonical form.
pub fn encode<T: BorshSerialize + ?Sized>(value: &T) -> Vec<u8> {
    let mut bytes = Vec::new();
    encode_into(value, &mut bytes);
    bytes
}

/// Appends a value's canonical form to `out`, a buffer or a hasher: sinks whose writes
/// never fail.
pub fn encode_into<T: BorshSerialize + ?Sized>(value: &T, out: &mut impl std::io::Write) {
    // Writing into a Vec or a hasher cannot fail, and none of our types refuse to serialize.
    #[allow(clippy::expect_used)]
    value
        .serialize(out)
        .expect("borsh serialization into a buffer or a hasher never fails");
}

/// Decodes a value from exactly `bytes`: at most [`MESSAGE_BYTES_MAX`], every inner
/// length within its bound, and no byte left over.
pub fn decode<T: BorshDeserialize>(what: &'static str, bytes: &[u8]) -> Result<T, DecodeError> {
    if bytes.len() > MESSAGE_BYTES_MAX {
        return Err(DecodeError::TooLarge {
            what,
            size: bytes.len(),
            max: MESSAGE_BYTES_MAX,
        });
    }
    borsh::from_slice(bytes).map_err(|error| DecodeError::Invalid {
        what,
        reason: error.to_string(),
    })
}

/// An `io::Error` for a decoded value that breaks a rule of the format.
pub(crate) fn invalid(reason: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, reason.into())
}

/// Reads a borsh length prefix and refuses it if it is over `max`.
fn read_len<R: Read>(reader: &mut R, max: usize, what: &str) -> io::Result<usize> {
    let len = u32::deserialize_reader(reader)? as usize;
    if len > max {
        return Err(invalid(format!(
            "{what} has {len} entries, over the limit of {max}"
        )));
    }
    Ok(len)
}

/// How many entries to reserve up front: never more than a small amount, so that a
/// lying length prefix cannot make us allocate before the bytes are actually there.
fn cautious_capacity(len: usize) -> usize {
    len.min(64)
}

/// A list of at most `MAX` entries; decoding a longer one fails before allocating.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BoundedVec<T, const MAX: usize>(Vec<T>);

impl<T, const MAX: usize> BoundedVec<T, MAX> {
    /// Wraps `items`, or hands them back if there are more than `MAX`.
    pub fn new(items: Vec<T>) -> Result<Self, Vec<T>> {
        if items.len() > MAX {
            return Err(items);
        }
        Ok(Self(items))
    }

    pub fn empty() -> Self {
        Self(Vec::new())
    }

    pub fn into_inner(self) -> Vec<T> {
        self.0
    }
}

impl<T, const MAX: usize> Default for BoundedVec<T, MAX> {
    fn default() -> Self {
        Self::empty()
    }
}

impl<T: std::fmt::Debug, const MAX: usize> std::fmt::Debug for BoundedVec<T, MAX> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl<T, const MAX: usize> Deref for BoundedVec<T, MAX> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.0
    }
}

impl<T: BorshSerialize, const MAX: usize> BorshSerialize for BoundedVec<T, MAX> {
    fn serialize<W: Write>(&self, writer: &mut W) -> io::Result<()> {
        self.0.serialize(writer)
    }
}

impl<T: BorshDeserialize, const MAX: usize> BorshDeserialize for BoundedVec<T, MAX> {
    fn deserialize_reader<R: Read>(reader: &mut R) -> io::Result<Self> {
        let len = read_len(reader, MAX, "list")?;
        let mut items = Vec::with_capacity(cautious_capacity(len));
        for _ in 0..len {
            items.push(T::deserialize_reader(reader)?);
        }
        Ok(Self(items))
    }
}

/// A byte string of at most `MAX` bytes; decoding a longer one fails before allocating.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct BoundedBytes<const MAX: usize>(Vec<u8>);

impl<const MAX: usize> BoundedBytes<MAX> {
    /// Wraps `bytes`, or hands them back if there are more than `MAX`.
    pub fn new(bytes: Vec<u8>) -> Result<Self, Vec<u8>> {
        if bytes.len() > MAX {
            return Err(bytes);
        }
        Ok(Self(bytes))
    }
}

impl<const MAX: usize> std::fmt::Debug for BoundedBytes<MAX> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match std::str::from_utf8(&self.0) {
            Ok(text) => write!(f, "{text:?}"),
            Err(_) => write!(f, "0x{}", hex(&self.0)),
        }
    }
}

impl<const MAX: usize> Deref for BoundedBytes<MAX> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl<const MAX: usize> BorshSerialize for BoundedBytes<MAX> {
    fn serialize<W: Write>(&self, writer: &mut W) -> io::Result<()> {
        self.0.serialize(writer)
    }
}

impl<const MAX: usize> BorshDeserialize for BoundedBytes<MAX> {
    fn deserialize_reader<R: Read>(reader: &mut R) -> io::Result<Self> {
        let len = read_len(reader, MAX, "byte string")?;
        let mut bytes = Vec::with_capacity(cautious_capacity(len));
        reader.take(len as u64).read_to_end(&mut bytes)?;
        if bytes.len() != len {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "byte string ends early",
            ));
        }
        Ok(Self(bytes))
    }
}

/// Lower-case hexadecimal of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        let _ = write!(text, "{byte:02x}");
    }
    text
}

/// The bytes of `text`, an even number of hexadecimal digits in either case; `None` if it is
/// not that.
pub fn from_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.bytes().all(|byte| byte.is_ascii_hexdigit()) {
        return None;
    }
    let digit = |byte: u8| (byte as char).to_digit(16).unwrap_or_default() as u8;
    let bytes = text.as_bytes().chunks_exact(2);
    Some(
        bytes
            .map(|pair| digit(pair[0]) << 4 | digit(pair[1]))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_vec_refuses_length_over_max_before_reading_items() {
        // A length prefix of 1,000 with no items behind it: refused by the bound, not by EOF.
        let bytes = encode(&1000u32);
        let error = decode::<BoundedVec<u64, 16>>("list", &bytes).unwrap_err();
        assert!(
            error.to_string().contains("over the limit of 16"),
            "{error}"
        );
    }

    #[test]
    fn trailing_bytes_are_refused() {
        let mut bytes = encode(&BoundedVec::<u8, 4>::new(vec![1, 2]).unwrap());
        bytes.push(0);
        assert!(decode::<BoundedVec<u8, 4>>("list", &bytes).is_err());
    }

    #[test]
    fn oversized_message_is_refused() {
        let bytes = vec![0u8; MESSAGE_BYTES_MAX + 1];
        let error = decode::<u8>("byte", &bytes).unwrap_err();
        assert!(matches!(error, DecodeError::TooLarge { .. }));
    }

    #[test]
    fn bounded_bytes_round_trip_and_short_input() {
        let memo = BoundedBytes::<8>::new(b"hello".to_vec()).unwrap();
        let bytes = encode(&memo);
        assert_eq!(decode::<BoundedBytes<8>>("memo", &bytes).unwrap(), memo);
        assert!(decode::<BoundedBytes<8>>("memo", &bytes[..bytes.len() - 1]).is_err());
        assert!(BoundedBytes::<4>::new(b"hello".to_vec()).is_err());
    }
}
