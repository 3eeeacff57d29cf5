//! Many hosts as one: the one with the newest view of a chain, the first that answers.

use myriad_types::{ChainId, HostId};

use myriad_api_types::ChainInfo;

use crate::client::{Client, ClientError};

/// Why no host could answer.
#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error(
        "unknown chain {chain}: no host at {urls} holds it; check the id with `myriad chain list`"
    )]
    UnknownChain { chain: ChainId, urls: String },
    #[error("no host to talk to: pass --host URL (or set MYRIAD_HOST), or run `myriad devnet` in this directory")]
    NoHost,
    #[error("host {url} answered with an id that is not one: {reason}")]
    BadHostId { url: String, reason: String },
}

/// The hosts a command talks to.
#[derive(Debug, Clone)]
pub struct Network {
    pub clients: Vec<Client>,
}

impl Network {
    pub fn new(urls: &[String]) -> Network {
        Network {
            clients: urls.iter().map(|url| Client::new(url)).collect(),
        }
    }

    /// The host with the newest view of `chain`, and that view. A host that dropped out of
    /// the chain's validators keeps an old view; the highest head is the current one.
    pub fn chain(&self, chain: &ChainId) -> Result<(Client, ChainInfo), NetworkError> {
        let mut best: Option<(Client, ChainInfo)> = None;
        let mut unreachable = Vec::new();
        for client in &self.clients {
            match client.chain(chain) {
                Ok(info) => {
                    if best.as_ref().is_none_or(|(_, b)| info.height > b.height) {
                        best = Some((client.clone(), info));
                    }
                }
                Err(ClientError::NotFound { .. }) => {}
                Err(error @ ClientError::Unreachable { .. }) => unreachable.push(error),
                Err(error) => return Err(error.into()),
            }
        }
        if let Some(best) = best {
            return Ok(best);
        }
        if unreachable.len() == self.clients.len() {
            if let Some(error) = unreachable.into_iter().next() {
                return Err(error.into());
            }
        }
        let urls: Vec<&str> = self.clients.iter().map(Client::url).collect();
        Err(NetworkError::UnknownChain {
            chain: *chain,
            urls: urls.join(", "),
        })
    }

    /// The first host that answers, with its id.
    pub fn any(&self) -> Result<(Client, HostId), NetworkError> {
        let mut last = None;
        for client in &self.clients {
            match client.health() {
                Ok(health) => {
                    let host = health
                        .host
                        .parse()
                        .map_err(|e: myriad_types::ParseIdError| NetworkError::BadHostId {
                            url: client.url().to_owned(),
                            reason: e.to_string(),
                        })?;
                    return Ok((client.clone(), host));
                }
                Err(error) => last = Some(error),
            }
        }
        Err(last.map_or(NetworkError::NoHost, Into::into))
    }

    /// The reachable hosts whose ids are among `hosts`.
    pub fn named(&self, hosts: &[HostId]) -> Vec<Client> {
        self.clients
            .iter()
            .filter(|client| {
                client
                    .health()
                    .ok()
                    .and_then(|h| h.host.parse::<HostId>().ok())
                    .is_some_and(|id| hosts.contains(&id))
            })
            .cloned()
            .collect()
    }
}
