//! Ed25519 keys and signatures with domain separation, over `ed25519-zebra` (ZIP-215
//! rules, so batch and single verification give the same verdict; curve25519-dalek picks its
//! AVX2 backend at run time where the CPU has it).
//!
//! Every signed message is `domain tag ‖ chain id ‖ canonical bytes`: a signature made for
//! one chain or one kind of message is never valid for another.

use std::fmt;

use borsh::{BorshDeserialize, BorshSerialize};
use ed25519_zebra::{batch, SigningKey, VerificationKey, VerificationKeyBytes};
use rand_core::{CryptoRng, RngCore};

use crate::encoding::{encode_into, hex};
use crate::ids::{Address, ChainId, HostId};

/// The kinds of signed message. Each has a distinct 16-byte tag at the start of what is
/// signed, so tags never overlap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Domain {
    Genesis,
    Transaction,
    Vote,
    Proposal,
    /// The root over a host's proposals and votes of one tick ([`crate::tick`]).
    Tick,
    /// A payment channel's voucher ([`crate::objects::Voucher`]).
    Voucher,
    /// An exchanger's quote ([`crate::quote::Quote`]).
    Quote,
}

impl Domain {
    pub const fn tag(self) -> &'static [u8; 16] {
        match self {
            Domain::Genesis => b"myriad/genesis/1",
            Domain::Transaction => b"myriad/tx/1\0\0\0\0\0",
            Domain::Vote => b"myriad/vote/1\0\0\0",
            Domain::Proposal => b"myriad/propose/1",
            Domain::Tick => b"myriad/tick/1\0\0\0",
            Domain::Voucher => b"myriad/voucher/1",
            Domain::Quote => b"myriad/quote/1\0\0",
        }
    }
}

/// A message that can be signed: it names its domain and the chain it belongs to.
pub trait Signable: BorshSerialize {
    const DOMAIN: Domain;

    fn chain_id(&self) -> ChainId;

    /// The exact bytes a signature covers: `domain tag ‖ chain id ‖ canonical bytes`.
    fn signing_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(256);
        bytes.extend_from_slice(Self::DOMAIN.tag());
        bytes.extend_from_slice(self.chain_id().as_bytes());
        encode_into(self, &mut bytes);
        bytes
    }
}

/// An ed25519 signature.
#[derive(Clone, Copy, PartialEq, Eq, Hash, BorshSerialize, BorshDeserialize)]
pub struct Signature(pub [u8; 64]);

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({}…)", hex(&self.0[..8]))
    }
}

/// Why a signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("public key {0} is not a valid ed25519 point")]
    BadKey(String),
    #[error("signature does not verify for {0}")]
    Invalid(String),
    #[error("a batch of {0} signatures holds at least one that does not verify")]
    BatchInvalid(usize),
}

/// An ed25519 secret key. Its bytes are never printed.
#[derive(Clone)]
pub struct SecretKey(SigningKey);

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey({})", self.address())
    }
}

impl SecretKey {
    pub fn generate(rng: impl RngCore + CryptoRng) -> SecretKey {
        SecretKey(SigningKey::new(rng))
    }

    /// The key whose 32-byte seed is `seed`.
    pub fn from_seed(seed: [u8; 32]) -> SecretKey {
        SecretKey(SigningKey::from(seed))
    }

    /// The 32-byte seed; handle with care.
    pub fn to_seed(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    pub fn public_key(&self) -> [u8; 32] {
        VerificationKey::from(&self.0).into()
    }

    /// This key as an account address.
    pub fn address(&self) -> Address {
        Address(self.public_key())
    }

    /// This key as a host id.
    pub fn host_id(&self) -> HostId {
        HostId(self.public_key())
    }

    pub fn sign<T: Signable>(&self, message: &T) -> Signature {
        self.sign_bytes(&message.signing_bytes())
    }

    /// Signs bytes that already begin with their domain's tag.
    pub(crate) fn sign_bytes(&self, bytes: &[u8]) -> Signature {
        Signature(self.0.sign(bytes).to_bytes())
    }
}

/// Checks `signature` by `public_key` over `message`.
pub fn verify<T: Signable>(
    public_key: &[u8; 32],
    message: &T,
    signature: &Signature,
) -> Result<(), SignatureError> {
    let key = VerificationKey::try_from(*public_key)
        .map_err(|_| SignatureError::BadKey(hex(public_key)))?;
    key.verify(
        &ed25519_zebra::Signature::from_bytes(&signature.0),
        &message.signing_bytes(),
    )
    .map_err(|_| SignatureError::Invalid(hex(public_key)))
}

/// One signature to check later, with the exact bytes it covers: what a host gathers from
/// every message of a tick to verify them all in one batch.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SignatureCheck {
    pub public_key: [u8; 32],
    pub message: Vec<u8>,
    pub signature: Signature,
}

impl SignatureCheck {
    pub fn new<T: Signable>(public_key: &[u8; 32], message: &T, signature: &Signature) -> Self {
        SignatureCheck {
            public_key: *public_key,
            message: message.signing_bytes(),
            signature: *signature,
        }
    }

    /// Checks this one signature alone.
    pub fn verify(&self) -> Result<(), SignatureError> {
        let key = VerificationKey::try_from(self.public_key)
            .map_err(|_| SignatureError::BadKey(hex(&self.public_key)))?;
        key.verify(
            &ed25519_zebra::Signature::from_bytes(&self.signature.0),
            &self.message,
        )
        .map_err(|_| SignatureError::Invalid(hex(&self.public_key)))
    }
}

/// Verifies many signatures at once, faster per signature than one by one. Under ZIP-215
/// its verdict equals that of checking each one with [`verify`].
#[derive(Default)]
pub struct BatchVerifier {
    inner: batch::Verifier,
    len: usize,
}

impl fmt::Debug for BatchVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BatchVerifier({} queued)", self.len)
    }
}

impl BatchVerifier {
    pub fn new() -> BatchVerifier {
        BatchVerifier::default()
    }

    pub fn queue<T: Signable>(
        &mut self,
        public_key: &[u8; 32],
        message: &T,
        signature: &Signature,
    ) {
        self.inner.queue((
            VerificationKeyBytes::from(*public_key),
            ed25519_zebra::Signature::from_bytes(&signature.0),
            &message.signing_bytes(),
        ));
        self.len += 1;
    }

    pub fn queue_check(&mut self, check: &SignatureCheck) {
        self.inner.queue((
            VerificationKeyBytes::from(check.public_key),
            ed25519_zebra::Signature::from_bytes(&check.signature.0),
            &check.message,
        ));
        self.len += 1;
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Checks every queued signature; `rng` only blinds the check, it never changes the verdict.
    pub fn verify(self, rng: impl RngCore + CryptoRng) -> Result<(), SignatureError> {
        let len = self.len;
        self.inner
            .verify(rng)
            .map_err(|_| SignatureError::BatchInvalid(len))
    }
}
