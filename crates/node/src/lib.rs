//! A whole host process wired from its configuration: the store, the peer-to-peer network,
//! the tick loop and the API, started and stopped together.
#![forbid(unsafe_code)]

use std::net::SocketAddr;
use std::sync::Arc;

use myriad_host::{ConfigError, HostConfig, HostError, HostHandle, RunningHost};
use myriad_net::{Libp2pTransport, P2pError, P2pLimits};
use myriad_store::{RedbStore, StoreError};
use myriad_watcher::{WatchError, Watcher};
use tokio::sync::oneshot;

#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot create data directory {path}: {reason}")]
    DataDir { path: String, reason: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("network: {0}")]
    Network(#[from] P2pError),
    #[error(transparent)]
    Host(#[from] HostError),
    #[error("cannot listen for the API on {address}: {reason}")]
    Api { address: SocketAddr, reason: String },
    #[error("swap watcher: {0}")]
    Watcher(#[from] WatchError),
}

/// A host process's parts, running.
#[derive(Debug)]
pub struct Node {
    pub handle: HostHandle,
    /// Where peers reach this host.
    pub p2p_address: SocketAddr,
    /// Where the API listens.
    pub api_address: SocketAddr,
    host: RunningHost,
    watcher: Option<Watcher>,
    api_stop: oneshot::Sender<()>,
    api_done: tokio::task::JoinHandle<()>,
}

impl Node {
    /// Opens the store, starts the network, the tick loop and the API.
    pub async fn start(config: HostConfig) -> Result<Node, NodeError> {
        std::fs::create_dir_all(&config.data_dir).map_err(|e| NodeError::DataDir {
            path: config.data_dir.display().to_string(),
            reason: e.to_string(),
        })?;
        let key = config.read_key()?;
        let store = Arc::new(RedbStore::open(&config.store_path())?);
        let peers = config.peers.iter().map(|p| (p.host, p.address)).collect();
        let (transport, inbound) =
            Libp2pTransport::start(&key, config.listen, peers, P2pLimits::default()).await?;
        let p2p_address = transport.listen_address();
        let listener = tokio::net::TcpListener::bind(config.api)
            .await
            .map_err(|e| NodeError::Api {
                address: config.api,
                reason: e.to_string(),
            })?;
        let api_address = listener.local_addr().map_err(|e| NodeError::Api {
            address: config.api,
            reason: e.to_string(),
        })?;
        let watcher = match config.watcher.enabled {
            true => {
                let own_api = format!("http://{api_address}");
                let watcher = Watcher::open(&config.watcher, &config.data_dir, own_api)?;
                watcher.start();
                tracing::info!(account = %watcher.address(), swaps = watcher.watching(), "swap watcher started");
                Some(watcher)
            }
            false => None,
        };
        let host = RunningHost::start(config, key, store, Arc::new(transport), inbound)?;
        let handle = host.handle.clone();
        let (api_stop, stopped) = oneshot::channel::<()>();
        let limits = myriad_api::ApiLimits::default();
        let served = myriad_api::serve(listener, handle.clone(), limits, watcher.clone(), async {
            let _ = stopped.await;
        });
        let api_done = tokio::spawn(served);
        tracing::info!(host = %handle.host, %p2p_address, %api_address, "host started");
        Ok(Node {
            handle,
            p2p_address,
            api_address,
            host,
            watcher,
            api_stop,
            api_done,
        })
    }

    /// Stops the API, then the tick loop after its current tick.
    pub async fn stop(self) -> Result<(), NodeError> {
        if let Some(watcher) = &self.watcher {
            watcher.stop();
        }
        let _ = self.api_stop.send(());
        let _ = self.api_done.await;
        self.host.stop().await?;
        Ok(())
    }

    /// Waits until the tick loop ends on its own (a store failure).
    pub async fn failed(&mut self) -> Result<(), NodeError> {
        self.host.finished().await?;
        Ok(())
    }
}
