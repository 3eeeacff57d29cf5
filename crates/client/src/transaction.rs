//! Sending a transaction: signed by its sender with the sender's next free nonce.

use std::time::{Duration, Instant};

use myriad_api_types::TxStatusBody;
use myriad_types::{Address, ChainId, SecretKey, SignedTransaction, Transaction, TxKind};

use crate::client::{Client, ClientError};

/// How many of one sender's pending transactions a send steps over to find a free nonce.
const PENDING_NONCES_MAX: usize = 64;
/// What a host answers (409) for a nonce a pending transaction already holds.
const NONCE_PENDING: &str = "is already taken by pending transaction";
/// What a host answers (409) for a nonce a transaction committed since the nonce was read.
const NONCE_USED: &str = "is already used: the sender's next nonce is";

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
        let next_committed = || -> Result<u64, SendError> {
            let account = self.account(chain, &sender.address())?;
            account.nonce.checked_add(1).ok_or(SendError::NonceOverflow)
        };
        let mut nonce = match options.nonce {
            Some(nonce) => nonce,
            None => next_committed()?,
        };
        // The committed nonce does not count the sender's pending transactions: when the
        // host says a nonce is taken by one, the next is tried; when it says a nonce was
        // used by a transaction committed since it was read, the nonce is read again
        // (unless a nonce was given).
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
            let answer = self.submit(&tx, options.wait);
            let refused_for = |reason: &str| match &answer {
                Err(ClientError::Refused {
                    status: 409,
                    message,
                    ..
                }) => options.nonce.is_none() && message.contains(reason),
                _ => false,
            };
            if refused_for(NONCE_PENDING) {
                nonce = nonce.checked_add(1).ok_or(SendError::NonceOverflow)?;
                continue;
            }
            if refused_for(NONCE_USED) {
                let next = next_committed()?;
                if next > nonce {
                    nonce = next;
                    continue;
                }
            }
            let latency = started.elapsed();
            return Ok(Sent {
                nonce,
                status: answer?,
                latency,
            });
        }
        Err(SendError::Pending {
            sender: sender.address(),
            chain: *chain,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;

    use myriad_testing::key;
    use myriad_types::{ChainId, Memo};

    use super::*;

    /// A host that answers each request with the next of `answers` (status, JSON body), and
    /// reports the request lines it was asked.
    fn scripted_host(
        answers: Vec<(u16, String)>,
    ) -> (Client, std::thread::JoinHandle<Vec<String>>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let served = std::thread::spawn(move || {
            let mut asked = Vec::new();
            for (status, body) in answers {
                let (stream, _) = listener.accept().unwrap();
                let mut reader = BufReader::new(stream);
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                asked.push(line.trim().to_owned());
                let mut length = 0;
                loop {
                    let mut header = String::new();
                    reader.read_line(&mut header).unwrap();
                    if header.trim().is_empty() {
                        break;
                    }
                    if let Some(value) = header.to_ascii_lowercase().strip_prefix("content-length:")
                    {
                        length = value.trim().parse().unwrap();
                    }
                }
                reader.read_exact(&mut vec![0; length]).unwrap();
                let answer = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                reader.get_mut().write_all(answer.as_bytes()).unwrap();
            }
            asked
        });
        (Client::new(&url), served)
    }

    fn account(nonce: u64) -> (u16, String) {
        let body = serde_json::json!({"chain_id": "c", "address": "a", "balance": "0",
            "nonce": nonce, "height": 1, "state_root": "00", "proof": ""});
        (200, body.to_string())
    }

    fn refused(error: &str) -> (u16, String) {
        (409, serde_json::json!({ "error": error }).to_string())
    }

    fn send(client: &Client) -> Result<Sent, SendError> {
        let to = key(2).address();
        let kind = TxKind::Transfer {
            to,
            amount: 1,
            memo: Memo::default(),
        };
        client.send(&ChainId([1; 32]), &key(1), kind, SendOptions::default())
    }

    #[test]
    fn a_nonce_committed_since_it_was_read_is_read_again_and_the_next_one_sent() {
        let pending = serde_json::json!({"hash": "h", "status": "pending"}).to_string();
        let (client, served) = scripted_host(vec![
            account(2),
            refused("nonce 3 is already used: the sender's next nonce is 4"),
            account(3),
            (200, pending),
        ]);
        let sent = send(&client).unwrap();
        assert_eq!(sent.nonce, 4);
        let asked = served.join().unwrap();
        assert_eq!(asked.len(), 4, "{asked:?}");
        assert!(asked[2].starts_with("GET "), "{asked:?}");
    }

    #[test]
    fn a_used_nonce_the_host_still_counts_as_next_is_refused_not_retried() {
        let used = "nonce 4 is already used: the sender's next nonce is 5";
        let (client, served) = scripted_host(vec![account(3), refused(used), account(3)]);
        let err = send(&client).unwrap_err().to_string();
        assert!(err.contains(used), "{err}");
        assert_eq!(served.join().unwrap().len(), 3);
    }
}
