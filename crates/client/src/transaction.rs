//! Sending a transaction: signed by its sender with the sender's next free nonce.

use std::time::{Duration, Instant};

use myriad_api_types::TxStatusBody;
use myriad_types::{Address, ChainId, SecretKey, SignedTransaction, Transaction, TxKind};

use crate::client::{Client, ClientError};

/// How many of one sender's pending transactions a send steps over to find a free nonce.
const PENDING_NONCES_MAX: usize = 64;
/// What a host answers (409) for a nonce a pending transaction already holds.
const NONCE_PENDING: &str = "is already taken by pending transaction";

/// Why a transaction was not sent.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error("nonce overflow")]
    NonceOverflow,
    #[error("{PENDING_NONCES_MAX} transactions of {sender} are already pending on {chain}; wait for them to commit")]
    Pending { sender: Address, chain: ChainId },
}

/// How a transaction is sent: wait for its commit, or use a given nonce.
#[derive(Debug, Clone, Copy, Default)]
pub struct SendOptions {
    pub wait: bool,
    pub nonce: Option<u64>,
}

/// The host's answer to a sent transaction, and how long that answer took.
#[derive(Debug)]
pub struct Sent {
    /// The nonce the transaction was sent with.
    pub nonce: u64,
    pub status: TxStatusBody,
    pub latency: Duration,
}

impl Client {
    /// Signs `kind` from `sender` with the next nonce and submits it.
    pub fn send(
        &self,
        chain: &ChainId,
        sender: &SecretKey,
        kind: TxKind,
        options: SendOptions,
    ) -> Result<Sent, SendError> {
        let mut nonce = match options.nonce {
            Some(nonce) => nonce,
            None => {
                let account = self.account(chain, &sender.address())?;
                account
                    .nonce
                    .checked_add(1)
                    .ok_or(SendError::NonceOverflow)?
            }
        };
        // The committed nonce does not count the sender's pending transactions: when the
        // host says a nonce is taken by one, the next is tried (unless a nonce was given).
        for _ in 0..PENDING_NONCES_MAX {
            let tx = SignedTransaction::sign(
                Transaction {
                    chain_id: *chain,
                    sender: sender.address(),
                    nonce,
                    kind: kind.clone(),
                },
                sender,
            );
            let started = Instant::now();
            match self.submit(&tx, options.wait) {
                Err(ClientError::Refused {
                    status: 409,
                    message,
                    ..
                }) if options.nonce.is_none() && message.contains(NONCE_PENDING) => {
                    nonce = nonce.checked_add(1).ok_or(SendError::NonceOverflow)?;
                }
                answer => {
                    let latency = started.elapsed();
                    return Ok(Sent {
                        nonce,
                        status: answer?,
                        latency,
                    });
                }
            }
        }
        Err(SendError::Pending {
            sender: sender.address(),
            chain: *chain,
        })
    }
}
