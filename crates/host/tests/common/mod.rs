//! What the host's tests share: a host over the in-memory transport.

use std::path::Path;
use std::sync::Arc;

use myriad_host::{HostConfig, Overrides, RunningHost};
use myriad_net::MemoryNetwork;
use myriad_store::RedbStore;
use myriad_types::SecretKey;

/// A host on `network`, its data in `dir`, ticking every 5 ms, its configuration adjusted
/// by `configure`.
pub fn memory_host(
    dir: &Path,
    network: &MemoryNetwork,
    key: &SecretKey,
    configure: impl FnOnce(&mut HostConfig),
) -> RunningHost {
    std::fs::create_dir_all(dir).unwrap();
    let overrides = Overrides {
        data_dir: Some(dir.to_owned()),
        tick_ms: Some(5),
        ..Overrides::default()
    };
    let mut config = HostConfig::load(None, overrides).unwrap();
    configure(&mut config);
    let store = Arc::new(RedbStore::open(&config.store_path()).unwrap());
    let (transport, inbound) = network.join(key.host_id());
    RunningHost::start(config, key.clone(), store, Arc::new(transport), inbound).unwrap()
}
