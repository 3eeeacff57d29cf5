//! One in-process host with its API, for the API's tests. A single validator of power 1 is
//! a full quorum, so the chains it hosts commit alone (over the in-memory transport: it has
//! no peers to talk to).

use std::net::SocketAddr;
use std::sync::Arc;

use myriad_api::ApiLimits;
use myriad_host::RunningHost;
use myriad_net::MemoryNetwork;
use myriad_store::RedbStore;
use myriad_testing::{config, init_logs, specs};
use myriad_types::HostId;
use tokio::sync::oneshot;

/// A host and its API, until [`Served::stop`].
pub struct Served {
    pub runtime: tokio::runtime::Runtime,
    pub api: SocketAddr,
    pub host: HostId,
    running: RunningHost,
    stop_api: oneshot::Sender<()>,
    served: tokio::task::JoinHandle<()>,
    _root: tempfile::TempDir,
}

impl Served {
    pub fn start(limits: ApiLimits) -> Served {
        init_logs();
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let root = tempfile::tempdir().unwrap();
        let specs = specs(root.path(), 1);
        let config = config(&specs, 0);
        let host_key = config.read_key().unwrap();
        let store = Arc::new(RedbStore::open(&config.store_path()).unwrap());
        let (transport, inbound) = MemoryNetwork::new().join(host_key.host_id());
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind(config.api))
            .unwrap();
        let api = listener.local_addr().unwrap();
        let running =
            RunningHost::start(config, host_key, store, Arc::new(transport), inbound).unwrap();
        let (stop_api, api_stopped) = oneshot::channel::<()>();
        let served = runtime.spawn(myriad_api::serve(
            listener,
            running.handle.clone(),
            limits,
            None,
            async {
                let _ = api_stopped.await;
            },
        ));
        Served {
            runtime,
            api,
            host: specs[0].host(),
            running,
            stop_api,
            served,
            _root: root,
        }
    }

    /// Stops the API, then the host.
    pub fn stop(self) {
        self.stop_api.send(()).unwrap();
        self.runtime.block_on(self.served).unwrap();
        self.runtime.block_on(self.running.stop()).unwrap();
    }
}
