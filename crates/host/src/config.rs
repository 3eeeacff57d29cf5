//! A host's configuration: a TOML file, with command-line flags laid over it. Every setting
//! that is missing or wrong is an error naming the setting.

use myriad_watcher::WatcherConfig;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use myriad_consensus::Config as ConsensusConfig;
use myriad_types::{Address, ChainId, HostId, SecretKey};
use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("config file {path}: {reason}")]
    Parse { path: String, reason: String },
    #[error("setting `{setting}`: {reason}")]
    Setting {
        setting: &'static str,
        reason: String,
    },
    #[error("key file {path}: {reason}")]
    Key { path: String, reason: String },
}

fn setting(setting: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Setting {
        setting,
        reason: reason.into(),
    }
}

/// A peer host: its id and where it listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    pub host: HostId,
    pub address: SocketAddr,
}

impl FromStr for Peer {
    type Err = String;

    /// `host1…@127.0.0.1:7001`
    fn from_str(text: &str) -> Result<Peer, String> {
        let (host, address) = text
            .split_once('@')
            .ok_or_else(|| format!("`{text}` is not of the form host1…@address:port"))?;
        Ok(Peer {
            host: host.parse().map_err(|e| format!("`{host}`: {e}"))?,
            address: address.parse().map_err(|e| format!("`{address}`: {e}"))?,
        })
    }
}

/// Bounds on what a host holds in memory.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Transactions one chain's mempool holds.
    pub mempool_txs_per_chain: usize,
    /// Bytes one chain's mempool holds.
    pub mempool_bytes_per_chain: usize,
    /// Bytes the root chain's mempool holds: its anchor transactions are up to 1 MiB each,
    /// and a root block takes 2 MiB of them. At least `ANCHOR_TX_BYTES_MAX`.
    pub mempool_bytes_root: usize,
    /// Transactions all mempools together hold.
    pub mempool_txs_total: usize,
    /// Bytes all mempools together hold.
    pub mempool_bytes_total: usize,
    /// Chains kept loaded in memory when idle; the rest are read from the store on demand.
    pub hot_chains: usize,
    /// Transactions one block holds.
    pub block_txs: usize,
    /// Inbound messages that end a tick early.
    pub tick_messages: usize,
    /// How long a transaction may wait in a mempool (for a nonce gap to fill) before it is
    /// dropped, in milliseconds.
    pub mempool_ttl_ms: u64,
    /// While a tick with work takes longer than this (smoothed, in milliseconds), the host is
    /// busy: it refuses new client transactions with "busy".
    pub busy_tick_ms: u64,
    /// How many undecided chains may resend their messages per second, across the host.
    pub resends_per_second: u64,
    /// Quotes the order book holds in all.
    pub book_quotes: usize,
    /// Quotes of one exchanger the order book holds.
    pub book_quotes_per_exchanger: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            mempool_txs_per_chain: 1024,
            mempool_bytes_per_chain: 1 << 20,
            mempool_bytes_root: 16 << 20,
            mempool_txs_total: 200_000,
            mempool_bytes_total: 256 << 20,
            hot_chains: 10_000,
            block_txs: 1024,
            tick_messages: 8192,
            mempool_ttl_ms: 120_000,
            busy_tick_ms: 100,
            resends_per_second: 2_000,
            book_quotes: 1_000_000,
            book_quotes_per_exchanger: 250_000,
        }
    }
}

/// Which chains a host agrees to validate when their genesis names it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Policy {
    /// Only chains owned by these accounts; `None` accepts any owner.
    pub owners: Option<Vec<Address>>,
    /// At most this many chains in all.
    pub chains_max: Option<u64>,
}

/// Everything a host needs to run.
#[derive(Debug, Clone)]
pub struct HostConfig {
    pub data_dir: PathBuf,
    pub key_file: PathBuf,
    /// Where peers reach this host (libp2p over TCP).
    pub listen: SocketAddr,
    /// Where the HTTP API listens.
    pub api: SocketAddr,
    pub peers: Vec<Peer>,
    pub tick_ms: u64,
    pub limits: Limits,
    pub policy: Policy,
    pub consensus: ConsensusConfig,
    /// Appends every vote received from peers to this file, one line each: an audit trail
    /// that shows whether any host ever signed two conflicting votes.
    pub vote_log: Option<PathBuf>,
    /// The swap watcher's settings (`[watcher]`); off by default.
    pub watcher: WatcherConfig,
    /// The root chain this host follows, registers in and anchors its chains on (`[root]`);
    /// none by default.
    pub root: Option<RootConfig>,
    /// A deliberately broken host for the simulator's canary: it acknowledges a tick's
    /// commits before its write is durable.
    #[cfg(feature = "canary")]
    pub canary_ack_before_durable: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    data_dir: Option<PathBuf>,
    key_file: Option<PathBuf>,
    listen: Option<String>,
    api: Option<String>,
    #[serde(default)]
    peers: Vec<String>,
    tick_ms: Option<u64>,
    #[serde(default)]
    limits: Limits,
    #[serde(default)]
    policy: FilePolicy,
    vote_log: Option<PathBuf>,
    #[serde(default)]
    watcher: WatcherConfig,
    root: Option<FileRoot>,
}

/// The root chain a host follows, and what it tells the directory about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootConfig {
    pub chain: ChainId,
    /// Where peers reach this host, as announced (by default its `listen` address).
    pub announce_p2p: String,
    /// Its API's base URL, as announced (by default `http://` and its `api` address).
    pub announce_api: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileRoot {
    chain: Option<String>,
    announce_p2p: Option<String>,
    announce_api: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FilePolicy {
    owners: Option<Vec<String>>,
    chains_max: Option<u64>,
}

impl File {
    fn read(path: &Path) -> Result<File, ConfigError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
            path: shown.clone(),
            reason: e.to_string(),
        })?;
        toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: shown,
            reason: e.to_string(),
        })
    }
}

impl FilePolicy {
    fn parse(self) -> Result<Policy, ConfigError> {
        let owners = match self.owners {
            None => None,
            Some(owners) => Some(
                owners
                    .iter()
                    .map(|o| {
                        o.parse()
                            .map_err(|e| setting("policy.owners", format!("`{o}`: {e}")))
                    })
                    .collect::<Result<Vec<Address>, _>>()?,
            ),
        };
        Ok(Policy {
            owners,
            chains_max: self.chains_max,
        })
    }
}

impl Limits {
    /// Every limit is positive, and blocks stay within the protocol's bound.
    fn check(&self) -> Result<(), ConfigError> {
        for (name, value) in [
            ("limits.mempool_txs_per_chain", self.mempool_txs_per_chain),
            (
                "limits.mempool_bytes_per_chain",
                self.mempool_bytes_per_chain,
            ),
            ("limits.mempool_txs_total", self.mempool_txs_total),
            ("limits.mempool_bytes_total", self.mempool_bytes_total),
            ("limits.hot_chains", self.hot_chains),
            ("limits.block_txs", self.block_txs),
            ("limits.tick_messages", self.tick_messages),
            ("limits.mempool_ttl_ms", self.mempool_ttl_ms as usize),
            ("limits.busy_tick_ms", self.busy_tick_ms as usize),
            (
                "limits.resends_per_second",
                self.resends_per_second as usize,
            ),
            ("limits.book_quotes", self.book_quotes),
            (
                "limits.book_quotes_per_exchanger",
                self.book_quotes_per_exchanger,
            ),
        ] {
            if value == 0 {
                return Err(setting(name, "must be greater than zero"));
            }
        }
        if self.block_txs > myriad_types::BLOCK_TXS_MAX {
            return Err(setting(
                "limits.block_txs",
                format!(
                    "{} is over the protocol's {}",
                    self.block_txs,
                    myriad_types::BLOCK_TXS_MAX
                ),
            ));
        }
        if self.mempool_bytes_root < myriad_ledger::ANCHOR_TX_BYTES_MAX {
            return Err(setting(
                "limits.mempool_bytes_root",
                format!(
                    "{} would not hold one anchor transaction of {} bytes",
                    self.mempool_bytes_root,
                    myriad_ledger::ANCHOR_TX_BYTES_MAX
                ),
            ));
        }
        Ok(())
    }
}

/// Settings given on the command line; each one overrides the file's.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub data_dir: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
    pub listen: Option<String>,
    pub api: Option<String>,
    pub peers: Vec<String>,
    pub tick_ms: Option<u64>,
    /// The root chain's id (`root.chain`).
    pub root: Option<String>,
}

impl HostConfig {
    /// Reads `file` (if given) and lays `overrides` over it.
    pub fn load(file: Option<&Path>, overrides: Overrides) -> Result<HostConfig, ConfigError> {
        let parsed = match file {
            None => File::default(),
            Some(path) => File::read(path)?,
        };
        let data_dir = overrides
            .data_dir
            .or(parsed.data_dir)
            .ok_or_else(|| setting("data_dir", "missing: the directory of the host's store"))?;
        let key_file = overrides
            .key_file
            .or(parsed.key_file)
            .unwrap_or_else(|| data_dir.join("host.key"));
        let listen = parse_address(
            "listen",
            overrides.listen.or(parsed.listen).as_deref(),
            "127.0.0.1:7000",
        )?;
        let api = parse_address(
            "api",
            overrides.api.or(parsed.api).as_deref(),
            "127.0.0.1:8000",
        )?;
        let peer_texts = if overrides.peers.is_empty() {
            parsed.peers
        } else {
            overrides.peers
        };
        let peers = peer_texts
            .iter()
            .map(|p| p.parse().map_err(|e| setting("peers", e)))
            .collect::<Result<Vec<Peer>, _>>()?;
        let tick_ms = overrides.tick_ms.or(parsed.tick_ms).unwrap_or(5);
        if !(1..=1000).contains(&tick_ms) {
            return Err(setting("tick_ms", format!("{tick_ms} is outside 1..=1000")));
        }
        let limits = parsed.limits;
        limits.check()?;
        let file_root = parsed.root.unwrap_or_default();
        // What the directory announces must be reachable: an unspecified address is not.
        let reachable = |name: &'static str, address: SocketAddr| {
            if address.ip().is_unspecified() {
                return Err(setting(
                    name,
                    format!("missing: {address} cannot be reached from elsewhere; say where peers and clients reach this host"),
                ));
            }
            Ok(address)
        };
        let root = match overrides.root.or(file_root.chain) {
            None => None,
            Some(text) => Some(RootConfig {
                chain: text
                    .parse()
                    .map_err(|e| setting("root.chain", format!("`{text}`: {e}")))?,
                announce_p2p: match file_root.announce_p2p {
                    Some(announce) => announce,
                    None => reachable("root.announce_p2p", listen)?.to_string(),
                },
                announce_api: match file_root.announce_api {
                    Some(announce) => announce,
                    None => format!("http://{}", reachable("root.announce_api", api)?),
                },
            }),
        };
        Ok(HostConfig {
            data_dir,
            key_file,
            listen,
            api,
            peers,
            tick_ms,
            limits,
            policy: parsed.policy.parse()?,
            consensus: ConsensusConfig::default(),
            vote_log: parsed.vote_log,
            watcher: parsed.watcher,
            root,
            #[cfg(feature = "canary")]
            canary_ack_before_durable: false,
        })
    }

    /// The configuration of a host whose caller brings its store and transport and runs its
    /// ticks (the simulator): no files, no listening addresses, no peers to dial.
    pub fn in_memory(tick_ms: u64, limits: Limits, consensus: ConsensusConfig) -> HostConfig {
        let nowhere = SocketAddr::from(([127, 0, 0, 1], 0));
        HostConfig {
            data_dir: PathBuf::new(),
            key_file: PathBuf::new(),
            listen: nowhere,
            api: nowhere,
            peers: Vec::new(),
            tick_ms,
            limits,
            policy: Policy::default(),
            consensus,
            vote_log: None,
            watcher: WatcherConfig::default(),
            root: None,
            #[cfg(feature = "canary")]
            canary_ack_before_durable: false,
        }
    }

    /// The host's store file.
    pub fn store_path(&self) -> PathBuf {
        self.data_dir.join("host.redb")
    }

    /// Reads the host key: 64 hex digits, the ed25519 seed.
    pub fn read_key(&self) -> Result<SecretKey, ConfigError> {
        read_key(&self.key_file)
    }
}

fn parse_address(
    name: &'static str,
    text: Option<&str>,
    default: &str,
) -> Result<SocketAddr, ConfigError> {
    let text = text.unwrap_or(default);
    text.parse()
        .map_err(|e| setting(name, format!("`{text}` is not an address:port ({e})")))
}

/// Reads a key file: 64 hex digits, the ed25519 seed.
pub fn read_key(path: &Path) -> Result<SecretKey, ConfigError> {
    let shown = path.display().to_string();
    let key_error = |reason: String| ConfigError::Key {
        path: shown.clone(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| {
        key_error(format!(
            "{e}; create one with `myriad host keygen --out {}`",
            path.display()
        ))
    })?;
    let text = text.trim();
    let mut seed = [0u8; 32];
    if text.len() != 64 || !text.is_ascii() {
        return Err(key_error("expected 64 hex digits".to_owned()));
    }
    for (i, byte) in seed.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16)
            .map_err(|_| key_error("expected 64 hex digits".to_owned()))?;
    }
    Ok(SecretKey::from_seed(seed))
}

/// Writes a new key file readable only by its owner; refuses to overwrite one.
pub fn write_key(path: &Path, key: &SecretKey) -> Result<(), ConfigError> {
    let hex: String = key.to_seed().iter().map(|b| format!("{b:02x}")).collect();
    myriad_client::files::create_private(path, &format!("{hex}\n")).map_err(|e| ConfigError::Key {
        path: path.display().to_string(),
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(toml: &str, overrides: Overrides) -> Result<HostConfig, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("host.toml");
        std::fs::write(&path, toml).unwrap();
        HostConfig::load(Some(&path), overrides)
    }

    fn error(toml: &str) -> String {
        load(toml, Overrides::default()).unwrap_err().to_string()
    }

    #[test]
    fn a_full_file_loads_and_flags_override_it() {
        let key = SecretKey::from_seed([1; 32]);
        let owner = SecretKey::from_seed([2; 32]).address();
        let toml = format!(
            "data_dir = \"d\"\nlisten = \"127.0.0.1:7001\"\napi = \"127.0.0.1:8001\"\n\
             peers = [\"{}@127.0.0.1:7002\"]\ntick_ms = 10\n\
             [limits]\nhot_chains = 5\n[policy]\nowners = [\"{owner}\"]\nchains_max = 3\n",
            key.host_id()
        );
        let config = load(&toml, Overrides::default()).unwrap();
        assert_eq!(config.peers[0].host, key.host_id());
        assert_eq!(config.limits.hot_chains, 5);
        assert_eq!(config.limits.block_txs, Limits::default().block_txs);
        assert_eq!(config.policy.owners, Some(vec![owner]));
        assert_eq!(config.key_file, PathBuf::from("d").join("host.key"));
        let flags = Overrides {
            tick_ms: Some(7),
            api: Some("127.0.0.1:9000".to_owned()),
            ..Overrides::default()
        };
        let config = load(&toml, flags).unwrap();
        assert_eq!((config.tick_ms, config.api.port()), (7, 9000));
        assert_eq!(config.root, None);
        let root = ChainId([4; 32]);
        let with_root =
            format!("{toml}[root]\nchain = \"{root}\"\nannounce_p2p = \"10.0.0.1:7001\"\n");
        let config = load(&with_root, Overrides::default()).unwrap();
        assert_eq!(
            config.root,
            Some(RootConfig {
                chain: root,
                announce_p2p: "10.0.0.1:7001".to_owned(),
                announce_api: "http://127.0.0.1:8001".to_owned(),
            })
        );
    }

    #[test]
    fn every_wrong_setting_is_named() {
        assert!(error("listen = \"x\"").contains("data_dir"));
        assert!(error("data_dir = \"d\"\nlisten = \"nowhere\"").contains("`listen`"));
        assert!(error("data_dir = \"d\"\npeers = [\"host1xyz\"]").contains("`peers`"));
        assert!(error("data_dir = \"d\"\ntick_ms = 0").contains("`tick_ms`"));
        assert!(error("data_dir = \"d\"\n[limits]\nhot_chains = 0").contains("limits.hot_chains"));
        assert!(
            error("data_dir = \"d\"\n[limits]\nmempool_bytes_root = 4096")
                .contains("limits.mempool_bytes_root")
        );
        assert!(error("data_dir = \"d\"\n[policy]\nowners = [\"bob\"]").contains("policy.owners"));
        assert!(error("data_dir = \"d\"\ntick = 5").contains("tick"));
        assert!(error("data_dir = 5").contains("data_dir"));
        assert!(error("data_dir = \"d\"\n[root]\nchain = \"x\"").contains("root.chain"));
        let root = ChainId([4; 32]);
        let open =
            format!("data_dir = \"d\"\nlisten = \"0.0.0.0:7000\"\n[root]\nchain = \"{root}\"");
        assert!(error(&open).contains("root.announce_p2p"));
    }

    #[test]
    fn key_files_round_trip_and_are_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("host.key");
        let key = SecretKey::from_seed([3; 32]);
        write_key(&path, &key).unwrap();
        assert_eq!(read_key(&path).unwrap().host_id(), key.host_id());
        assert!(
            write_key(&path, &key).is_err(),
            "an existing key is never overwritten"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(&path, "nothex").unwrap();
        assert!(read_key(&path)
            .unwrap_err()
            .to_string()
            .contains("64 hex digits"));
        let missing = read_key(&dir.path().join("none")).unwrap_err().to_string();
        assert!(missing.contains("myriad host keygen"), "{missing}");
    }
}
