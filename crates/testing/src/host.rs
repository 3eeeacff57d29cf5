//! Hosts for tests that run whole hosts: keys, directories, free ports and configurations,
//! and a plain HTTP client for their API that returns every status as is.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use myriad_host::{write_key, HostConfig, Overrides};
use myriad_types::{encode, HostId, SecretKey, SignedGenesis, SignedTransaction};
use serde_json::Value;

use crate::{free_address, key};

/// One host's key and addresses, known before it starts so that peers can name it.
#[derive(Debug, Clone)]
pub struct Spec {
    pub key: SecretKey,
    pub p2p: SocketAddr,
    pub api: SocketAddr,
    pub dir: std::path::PathBuf,
}

impl Spec {
    pub fn host(&self) -> HostId {
        self.key.host_id()
    }
}

/// Keys, directories and free ports for `count` hosts under `root`.
pub fn specs(root: &Path, count: usize) -> Vec<Spec> {
    (0..count)
        .map(|i| {
            let dir = root.join(format!("host{i}"));
            std::fs::create_dir_all(&dir).unwrap();
            let key = key(i as u8 + 1);
            write_key(&dir.join("host.key"), &key).unwrap();
            Spec {
                key,
                p2p: free_address(),
                api: free_address(),
                dir,
            }
        })
        .collect()
}

/// Flags naming a host's data directory, addresses and every other host as a peer.
pub fn overrides(specs: &[Spec], me: usize) -> Overrides {
    let spec = &specs[me];
    Overrides {
        data_dir: Some(spec.dir.clone()),
        key_file: None,
        listen: Some(spec.p2p.to_string()),
        api: Some(spec.api.to_string()),
        peers: specs
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != me)
            .map(|(_, s)| format!("{}@{}", s.host(), s.p2p))
            .collect(),
        tick_ms: Some(5),
        root: None,
    }
}

pub fn config(specs: &[Spec], me: usize) -> HostConfig {
    HostConfig::load(None, overrides(specs, me)).unwrap()
}

pub fn hex_of<T: borsh::BorshSerialize>(value: &T) -> String {
    hex::encode(encode(value))
}

/// A blocking HTTP client that returns every status as is.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

pub fn get(api: SocketAddr, path: &str) -> (u16, Value) {
    let mut response = agent().get(format!("http://{api}{path}")).call().unwrap();
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

pub fn post(api: SocketAddr, path: &str, body: &Value) -> (u16, Value) {
    post_raw(api, path, body.to_string().as_bytes())
}

pub fn post_raw(api: SocketAddr, path: &str, body: &[u8]) -> (u16, Value) {
    let mut response = agent()
        .post(format!("http://{api}{path}"))
        .header("content-type", "application/json")
        .send(body)
        .unwrap();
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

pub fn create_chain(api: SocketAddr, genesis: &SignedGenesis) -> (u16, Value) {
    post(
        api,
        "/chains",
        &serde_json::json!({ "genesis": hex_of(genesis) }),
    )
}

pub fn submit(api: SocketAddr, tx: &SignedTransaction, wait: bool) -> (u16, Value) {
    let path = if wait {
        "/transactions?wait=true"
    } else {
        "/transactions"
    };
    post(api, path, &serde_json::json!({ "tx": hex_of(tx) }))
}

/// Logs to the test's output, filtered by `RUST_LOG`.
pub fn init_logs() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}
