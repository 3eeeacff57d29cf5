//! A host's swap watcher. A user registers a swap (its offer, no secret) with the watchers
//! of both chains' hosts; the watcher, acting only on committed escrows it has verified
//! (proofs against certified blocks), claims the maker's escrow for the taker as soon as the
//! maker's claim has revealed the secret on the other chain, and refunds any escrow of the
//! swap once it has expired. Claims pay an escrow's recipient and refunds its locker, never
//! the watcher, which signs with its own key: an account that needs no balance.
//!
//! What it watches is durable (a file in the host's data directory, replaced atomically
//! before a registration is answered) and bounded: at most `swaps_max` swaps, at most
//! `swaps_per_account_max` for any one maker or taker.
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use myriad_client::client::Client;
use myriad_client::files::{create_private, replace_private};
use myriad_client::genesis::now_ms;
use myriad_client::network::Network;
use myriad_client::swap::SwapError;
use myriad_client::transaction::SendOptions;
use myriad_types::{
    Address, Escrow, EscrowId, EscrowState, ParseOfferError, SecretKey, SwapOffer, TxKind,
};
use serde::{Deserialize, Serialize};

/// The file, in the host's data directory, that holds the swaps watched.
pub const WATCH_FILE: &str = "watcher.json";
/// The most hosts' URLs one registration may name.
pub const REQUEST_HOSTS_MAX: usize = 8;

/// A watcher's settings: the `[watcher]` section of a host's configuration.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WatcherConfig {
    pub enabled: bool,
    /// The watcher's key; created on first start. Default: `watcher.key` in the data dir.
    pub key_file: Option<PathBuf>,
    /// API URLs of hosts of other chains, for swaps whose other chain this host does not
    /// validate (a registration may name more).
    pub hosts: Vec<String>,
    /// How often every swap watched is looked at.
    pub interval_ms: u64,
    pub swaps_max: usize,
    pub swaps_per_account_max: usize,
}

impl Default for WatcherConfig {
    fn default() -> WatcherConfig {
        WatcherConfig {
            enabled: false,
            key_file: None,
            hosts: Vec::new(),
            interval_ms: 1_000,
            swaps_max: 10_000,
            swaps_per_account_max: 16,
        }
    }
}

/// A swap to watch: its offer, the taker's escrow if known (else it is looked for), and
/// hosts that serve its chains.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WatchRequest {
    pub offer: String,
    #[serde(default)]
    pub counter: Option<String>,
    #[serde(default)]
    pub hosts: Vec<String>,
}

/// Why a registration was refused.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    #[error("{0}")]
    Invalid(String),
    #[error("this host's watcher already watches {0} swaps, its limit")]
    Full(usize),
    #[error(
        "this host's watcher already watches {count} swaps of {account}, its limit for one account"
    )]
    AccountFull { account: Address, count: usize },
    #[error("cannot record the swap: {0}")]
    Io(String),
}

/// What a watcher has done since it started, for `/metrics`.
#[derive(Debug, Default)]
pub struct WatcherStats {
    pub registered: AtomicU64,
    /// Registrations refused because a limit was reached.
    pub refused: AtomicU64,
    pub claims: AtomicU64,
    pub refunds: AtomicU64,
    /// Looks at a swap that failed (a host unreachable, a proof that did not verify).
    pub failures: AtomicU64,
}

#[derive(Debug, Clone)]
struct Watched {
    request: WatchRequest,
    offer: SwapOffer,
    counter: Option<EscrowId>,
}

#[derive(Debug)]
struct Inner {
    config: WatcherConfig,
    file: PathBuf,
    key: SecretKey,
    /// This host's own API.
    own_api: String,
    swaps: Mutex<Vec<Watched>>,
    stats: WatcherStats,
    stop: AtomicBool,
}

/// A running watcher, shared by the API (registrations) and its own thread (the work).
#[derive(Debug, Clone)]
pub struct Watcher {
    inner: Arc<Inner>,
}

impl Watcher {
    /// Opens the watcher of a host whose data is in `data_dir` and whose API is `own_api`:
    /// its key (created if missing) and what it was watching.
    pub fn open(
        config: &WatcherConfig,
        data_dir: &Path,
        own_api: String,
    ) -> Result<Watcher, WatchError> {
        let io = |what: &str, e: &dyn std::fmt::Display| WatchError::Io(format!("{what}: {e}"));
        let key_file = config
            .key_file
            .clone()
            .unwrap_or_else(|| data_dir.join("watcher.key"));
        let key = match std::fs::read_to_string(&key_file) {
            Ok(text) => {
                let seed: [u8; 32] = hex::decode(text.trim())
                    .ok()
                    .and_then(|bytes| bytes.try_into().ok())
                    .ok_or_else(|| io(&key_file.display().to_string(), &"not 64 hex digits"))?;
                SecretKey::from_seed(seed)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = SecretKey::generate(rand_core::OsRng);
                create_private(&key_file, &hex::encode(key.to_seed()))
                    .map_err(|e| io(&key_file.display().to_string(), &e))?;
                key
            }
            Err(e) => return Err(io(&key_file.display().to_string(), &e)),
        };
        let file = data_dir.join(WATCH_FILE);
        let requests: Vec<WatchRequest> = match std::fs::read_to_string(&file) {
            Ok(text) => {
                serde_json::from_str(&text).map_err(|e| io(&file.display().to_string(), &e))?
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(io(&file.display().to_string(), &e)),
        };
        let swaps = requests
            .into_iter()
            .map(watched)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Watcher {
            inner: Arc::new(Inner {
                config: config.clone(),
                file,
                key,
                own_api,
                swaps: Mutex::new(swaps),
                stats: WatcherStats::default(),
                stop: AtomicBool::new(false),
            }),
        })
    }

    /// The account the watcher signs claims and refunds with.
    pub fn address(&self) -> Address {
        self.inner.key.address()
    }

    pub fn stats(&self) -> &WatcherStats {
        &self.inner.stats
    }

    /// How many swaps it watches.
    pub fn watching(&self) -> usize {
        self.swaps().len()
    }

    fn swaps(&self) -> std::sync::MutexGuard<'_, Vec<Watched>> {
        self.inner
            .swaps
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds a swap, durably, within the limits; a swap already watched is merged (its
    /// counter-escrow and hosts added). Returns the swap's id.
    pub fn register(&self, request: WatchRequest) -> Result<EscrowId, WatchError> {
        let config = &self.inner.config;
        let new = watched(request)?;
        let id = new.offer.escrow;
        let mut swaps = self.swaps();
        if let Some(known) = swaps.iter_mut().find(|s| s.offer.escrow == id) {
            if known.counter.is_none() {
                known.counter = new.counter;
                known.request.counter = new.request.counter;
            }
            for host in new.request.hosts {
                if !known.request.hosts.contains(&host)
                    && known.request.hosts.len() < REQUEST_HOSTS_MAX
                {
                    known.request.hosts.push(host);
                }
            }
        } else {
            let refuse = |error| {
                self.inner.stats.refused.fetch_add(1, Ordering::Relaxed);
                Err(error)
            };
            if swaps.len() >= config.swaps_max {
                return refuse(WatchError::Full(swaps.len()));
            }
            for account in [new.offer.maker, new.offer.taker] {
                let count = swaps
                    .iter()
                    .filter(|s| s.offer.maker == account || s.offer.taker == account)
                    .count();
                if count >= config.swaps_per_account_max {
                    return refuse(WatchError::AccountFull { account, count });
                }
            }
            swaps.push(new);
        }
        self.save(&swaps)?;
        self.inner.stats.registered.fetch_add(1, Ordering::Relaxed);
        Ok(id)
    }

    fn save(&self, swaps: &[Watched]) -> Result<(), WatchError> {
        let requests: Vec<&WatchRequest> = swaps.iter().map(|s| &s.request).collect();
        let text = serde_json::to_string(&requests).map_err(|e| WatchError::Io(e.to_string()))?;
        replace_private(&self.inner.file, &text)
            .map_err(|e| WatchError::Io(format!("{}: {e}", self.inner.file.display())))
    }

    /// Runs the watcher on its own thread until [`Watcher::stop`].
    pub fn start(&self) -> std::thread::JoinHandle<()> {
        let watcher = self.clone();
        std::thread::spawn(move || {
            let interval = Duration::from_millis(watcher.inner.config.interval_ms.max(1));
            while !watcher.inner.stop.load(Ordering::Relaxed) {
                watcher.pass();
                std::thread::sleep(interval);
            }
        })
    }

    pub fn stop(&self) {
        self.inner.stop.store(true, Ordering::Relaxed);
    }

    /// Looks once at every swap watched, acts where it can, and forgets those that are over.
    pub fn pass(&self) {
        let swaps: Vec<Watched> = self.swaps().clone();
        let mut over = Vec::new();
        let mut found = Vec::new();
        for swap in &swaps {
            match self.look(swap) {
                Ok((done, counter)) => {
                    if done {
                        over.push(swap.offer.escrow);
                    }
                    if swap.counter.is_none() {
                        if let Some(counter) = counter {
                            found.push((swap.offer.escrow, counter));
                        }
                    }
                }
                Err(error) => {
                    self.inner.stats.failures.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(swap = %swap.offer.escrow, %error, "watcher could not look at a swap");
                }
            }
            if self.inner.stop.load(Ordering::Relaxed) {
                break;
            }
        }
        if over.is_empty() && found.is_empty() {
            return;
        }
        let mut swaps = self.swaps();
        swaps.retain(|s| !over.contains(&s.offer.escrow));
        for (id, counter) in found {
            if let Some(swap) = swaps.iter_mut().find(|s| s.offer.escrow == id) {
                swap.counter = Some(counter);
                swap.request.counter = Some(counter.to_string());
            }
        }
        if let Err(error) = self.save(&swaps) {
            tracing::error!(%error, "watcher cannot record what it watches");
        }
    }

    /// Acts on one swap: returns whether it is over, and the taker's escrow if found.
    fn look(&self, swap: &Watched) -> Result<(bool, Option<EscrowId>), SwapError> {
        let offer = &swap.offer;
        let mut urls = vec![self.inner.own_api.clone()];
        for url in swap.request.hosts.iter().chain(&self.inner.config.hosts) {
            if !urls.contains(url) {
                urls.push(url.clone());
            }
        }
        let network = Network::new(&urls);
        let chain = |id| {
            network
                .chain(id)
                .map_err(|e| SwapError::Refused(e.to_string()))
        };
        let (give, give_info) = chain(&offer.give_chain)?;
        let (get, get_info) = chain(&offer.get_chain)?;
        let maker = give.committed_escrow(&offer.give_chain, &give_info, &offer.escrow)?;
        let taker = match swap.counter {
            Some(id) => Some(get.committed_escrow(&offer.get_chain, &get_info, &id)?),
            None => get.counter_escrow(&get_info, offer)?,
        };
        let now = now_ms();
        if maker.state == EscrowState::Open {
            match taker.as_ref().map(|t| t.state) {
                Some(EscrowState::Claimed { secret, .. }) if now < maker.expires_at_ms => {
                    let claim = TxKind::Claim {
                        escrow: maker.id,
                        secret,
                    };
                    self.send(&give, offer.give_chain, claim, &self.inner.stats.claims);
                }
                _ if now >= maker.expires_at_ms => {
                    let refund = TxKind::Refund { escrow: maker.id };
                    self.send(&give, offer.give_chain, refund, &self.inner.stats.refunds);
                }
                _ => {}
            }
        }
        if let Some(taker) = taker.as_ref().filter(|t| t.state == EscrowState::Open) {
            if now >= taker.expires_at_ms {
                let refund = TxKind::Refund { escrow: taker.id };
                self.send(&get, offer.get_chain, refund, &self.inner.stats.refunds);
            }
        }
        let closed = |escrow: &Escrow| escrow.state != EscrowState::Open;
        let done = closed(&maker) && taker.as_ref().is_none_or(closed);
        Ok((done, taker.map(|t| t.id)))
    }

    /// Sends a claim or refund and waits for its commit; a failure is left for the next pass.
    fn send(
        &self,
        client: &Client,
        chain: myriad_types::ChainId,
        kind: TxKind,
        counter: &AtomicU64,
    ) {
        let options = SendOptions {
            wait: true,
            nonce: None,
        };
        let what = kind.name();
        match client.send(&chain, &self.inner.key, kind, options) {
            Ok(sent) if sent.status.status == "committed" => {
                counter.fetch_add(1, Ordering::Relaxed);
                tracing::info!(%chain, what, tx = %sent.status.hash, "watcher acted on a swap");
            }
            Ok(sent) => {
                tracing::info!(%chain, what, status = %sent.status.status, reason = ?sent.status.reason, "watcher's transaction did not commit");
            }
            Err(error) => {
                self.inner.stats.failures.fetch_add(1, Ordering::Relaxed);
                tracing::info!(%chain, what, %error, "watcher could not send");
            }
        }
    }
}

/// A request checked: an offer that parses, a counter-escrow id if given, few hosts.
fn watched(request: WatchRequest) -> Result<Watched, WatchError> {
    let offer: SwapOffer = request
        .offer
        .parse()
        .map_err(|e: ParseOfferError| WatchError::Invalid(e.to_string()))?;
    let counter = request
        .counter
        .as_deref()
        .map(|text| {
            text.parse::<EscrowId>()
                .map_err(|e| WatchError::Invalid(format!("counter: {e}")))
        })
        .transpose()?;
    if request.hosts.len() > REQUEST_HOSTS_MAX {
        return Err(WatchError::Invalid(format!(
            "{} hosts named, at most {REQUEST_HOSTS_MAX}",
            request.hosts.len()
        )));
    }
    Ok(Watched {
        request,
        offer,
        counter,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use myriad_types::{ChainId, Hash};

    use super::*;

    fn request(maker: u8, taker: u8, escrow: u8) -> WatchRequest {
        let offer = SwapOffer {
            maker: Address([maker; 32]),
            taker: Address([taker; 32]),
            counter_locker: Address([taker; 32]),
            give_chain: ChainId([1; 32]),
            give: 10,
            get_chain: ChainId([2; 32]),
            get: 5,
            hash_lock: Hash([3; 32]),
            escrow: EscrowId([escrow; 32]),
            expires_at_ms: 1_000,
        };
        WatchRequest {
            offer: offer.to_text(),
            counter: None,
            hosts: Vec::new(),
        }
    }

    #[test]
    fn what_a_watcher_watches_is_durable_and_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let config = WatcherConfig {
            enabled: true,
            swaps_max: 3,
            swaps_per_account_max: 2,
            ..WatcherConfig::default()
        };
        let api = "http://127.0.0.1:1".to_owned();
        let watcher = Watcher::open(&config, dir.path(), api.clone()).unwrap();
        let account = watcher.address();
        assert_eq!(
            watcher.register(request(10, 20, 1)).unwrap(),
            EscrowId([1; 32])
        );
        // The same swap again, now with its counter-escrow: one swap, updated.
        let with_counter = WatchRequest {
            counter: Some(EscrowId([9; 32]).to_string()),
            ..request(10, 20, 1)
        };
        watcher.register(with_counter).unwrap();
        watcher.register(request(10, 21, 2)).unwrap();
        assert!(matches!(
            watcher.register(request(10, 22, 3)),
            Err(WatchError::AccountFull { count: 2, .. })
        ));
        watcher.register(request(11, 23, 4)).unwrap();
        assert!(matches!(
            watcher.register(request(12, 24, 5)),
            Err(WatchError::Full(3))
        ));
        let bad = WatchRequest {
            offer: "myriad-swap-2:00".into(),
            ..request(1, 2, 6)
        };
        assert!(matches!(watcher.register(bad), Err(WatchError::Invalid(_))));
        assert_eq!(watcher.stats().refused.load(Ordering::Relaxed), 2);

        // After a restart: the same key, the same swaps.
        let reopened = Watcher::open(&config, dir.path(), api).unwrap();
        assert_eq!(reopened.address(), account);
        assert_eq!(reopened.watching(), 3);
        let swaps = reopened.swaps();
        assert_eq!(swaps[0].counter, Some(EscrowId([9; 32])));
    }
}
