//! The fixtures Myriad's tests share: keys from seeds, test geneses and signed transactions,
//! free loopback ports, waiting for a condition; with the `host` feature, hosts' keys,
//! directories and configurations, and a plain HTTP client for their API.
//!
//! Without `host` it depends on `myriad-types` only, so the tests of the pure crates can use
//! it. The unit tests inside `myriad-types`' own `src/` cannot: cargo would build that crate
//! twice (once under test, once for this crate) and the two copies' types do not unify, so
//! they keep their own fixtures.
// A fixture that cannot be built fails the test that asked for it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![forbid(unsafe_code)]

#[cfg(feature = "host")]
mod host;

use std::net::{SocketAddr, TcpListener};
use std::time::{Duration, Instant};

use myriad_types::{
    sign_alone, Address, Amount, BlockHeader, BoundedVec, Certificate, ChainId, ChainKind,
    ChainParams, CommitSignature, Genesis, HostId, Memo, Quote, Rate, Round, SecretKey,
    SignedGenesis, SignedQuote, SignedTransaction, Symbol, Transaction, TxKind, Validator,
};

#[cfg(feature = "host")]
pub use host::{
    agent, config, create_chain, get, hex_of, init_logs, overrides, post, post_raw, specs, submit,
    Spec,
};

/// The key whose seed is 32 bytes of `seed`.
pub fn key(seed: u8) -> SecretKey {
    SecretKey::from_seed([seed; 32])
}

/// `count` keys, of seeds 1, 2, … `count`.
pub fn keys(count: u8) -> Vec<SecretKey> {
    (1..=count).map(key).collect()
}

/// A loopback address with a port free when asked.
pub fn free_address() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

/// A chain of `owner`'s validated by `validators` (host, power): symbol TEST, 2 decimals, no
/// cap on the supply, created at 0 ms; `salt` tells apart chains otherwise alike. For other
/// values, `Genesis { decimals: 0, ..unsigned_genesis(…) }`.
pub fn unsigned_genesis(owner: Address, validators: &[(HostId, u64)], salt: u64) -> Genesis {
    let validators = validators
        .iter()
        .map(|(host, power)| Validator {
            host: *host,
            power: *power,
        })
        .collect();
    Genesis {
        owner,
        symbol: Symbol::new("TEST").unwrap(),
        decimals: 2,
        max_supply: None,
        validators: BoundedVec::new(validators).unwrap(),
        created_at_ms: 0,
        salt,
        params: ChainParams::default(),
        kind: ChainKind::Personal,
    }
}

/// [`unsigned_genesis`], signed by `owner`.
pub fn genesis(owner: &SecretKey, validators: &[(HostId, u64)], salt: u64) -> SignedGenesis {
    SignedGenesis::sign(unsigned_genesis(owner.address(), validators, salt), owner)
}

/// The wall clock, in milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    u64::try_from(since_epoch.as_millis()).unwrap()
}

/// [`genesis`], created now: a host takes a client's new genesis only if it was created
/// near its clock.
pub fn genesis_now(owner: &SecretKey, validators: &[(HostId, u64)], salt: u64) -> SignedGenesis {
    let genesis = Genesis {
        created_at_ms: now_ms(),
        ..unsigned_genesis(owner.address(), validators, salt)
    };
    SignedGenesis::sign(genesis, owner)
}

pub fn tx(chain: ChainId, sender: &SecretKey, nonce: u64, kind: TxKind) -> SignedTransaction {
    SignedTransaction::sign(
        Transaction {
            chain_id: chain,
            sender: sender.address(),
            nonce,
            kind,
        },
        sender,
    )
}

/// A quote of `exchanger` (whose accounts it names on both chains) for `give` → `get` at
/// `give_units` : `get_units`, for 1 to 1,000,000 base units given, until `expires_at_ms`.
pub fn quote(
    exchanger: &SecretKey,
    (give, get): (ChainId, ChainId),
    (give_units, get_units): (u64, u64),
    sequence: u64,
    expires_at_ms: u64,
) -> SignedQuote {
    SignedQuote::sign(
        Quote {
            exchanger: exchanger.address(),
            give_chain: give,
            get_chain: get,
            rate: Rate {
                give: give_units,
                get: get_units,
            },
            min_give: 1,
            max_give: 1_000_000,
            expires_at_ms,
            give_account: exchanger.address(),
            get_account: exchanger.address(),
            sequence,
        },
        exchanger,
    )
}

pub fn mint(
    chain: ChainId,
    owner: &SecretKey,
    nonce: u64,
    to: &SecretKey,
    amount: Amount,
) -> SignedTransaction {
    tx(
        chain,
        owner,
        nonce,
        TxKind::Mint {
            to: to.address(),
            amount,
        },
    )
}

/// A transfer with an empty memo.
pub fn transfer(
    chain: ChainId,
    from: &SecretKey,
    nonce: u64,
    to: &SecretKey,
    amount: Amount,
) -> SignedTransaction {
    tx(
        chain,
        from,
        nonce,
        TxKind::Transfer {
            to: to.address(),
            amount,
            memo: Memo::default(),
        },
    )
}

pub fn burn(chain: ChainId, from: &SecretKey, nonce: u64, amount: Amount) -> SignedTransaction {
    tx(chain, from, nonce, TxKind::Burn { amount })
}

/// Polls `check` until it holds; panics once `timeout` passes.
pub fn eventually(timeout: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while !check() {
        assert!(
            start.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A certificate of the block `header` heads, its precommit (round 0) signed by each of
/// `signers` alone.
pub fn certify(header: &BlockHeader, signers: &[SecretKey]) -> Certificate {
    let mut certificate = Certificate {
        chain_id: header.chain_id,
        height: header.height,
        round: Round(0),
        block_hash: header.hash(),
        signatures: BoundedVec::default(),
    };
    let precommit = certificate.precommit();
    let signatures = signers
        .iter()
        .map(|signer| CommitSignature {
            host: signer.host_id(),
            signature: sign_alone(signer, &precommit),
        })
        .collect();
    certificate.signatures = BoundedVec::new(signatures).unwrap();
    certificate
}
