//! A local network: several host processes on loopback, a wallet with demo keys and a demo
//! chain, all kept under one directory so that running it again resumes where it stopped.
//!
//! Layout of the directory: `devnet.json` (hosts, ports, the demo chain), `wallet.json` and
//! `passphrase` (the demo keys and the passphrase that seals them), and one `host-N/` per host
//! with its key, configuration, store, log and pid.
//!
//! Each host is a child process running this executable as `host run`: the crate serves the
//! `myriad` binary (`myriad devnet`, `myriad bench`).
#![forbid(unsafe_code)]

use std::fs::File;
use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context as _, Result};
use indicatif::{ProgressBar, ProgressStyle};
use myriad_client::client::{BulkClient, Client, ClientError};
use myriad_client::files::create_private;
use myriad_client::genesis::{checked_genesis, now_ms};
use myriad_client::transaction::SendOptions;
use myriad_client::wallet::{PassphraseSource, Wallet};
use myriad_host::{write_key, GENESIS_CLOCK_SKEW_MS};
use myriad_types::{
    decode, encode, format_amount, Address, Amount, ChainId, ChainKind, Genesis, HostId,
    RootParams, SecretKey, SignedGenesis, Symbol, TxKind,
};
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};

/// The file that marks a directory as a devnet and describes it.
pub const DEVNET_FILE: &str = "devnet.json";
/// The most hosts a devnet runs, and how many a new one has unless told.
pub const HOSTS_MAX: usize = 64;
const HOSTS_DEFAULT: usize = 4;
/// Keys the demo wallet holds: the demo chain's owner and three holders.
const OWNER: &str = "owner";
const HOLDERS: [&str; 3] = ["alice", "bob", "carol"];
/// What each holder is minted on the demo chain, in base units (1,000.00 DEMO).
const DEMO_GRANT: Amount = 100_000;
const DEMO_SYMBOL: &str = "DEMO";
const ROOT_SYMBOL: &str = "ROOT";
const DEMO_DECIMALS: u8 = 2;
/// The most validators a chain made by `--chains` has.
const CHAIN_VALIDATORS_MAX: usize = 4;
/// Requests in flight while pre-creating chains (more in flight, bigger batches per fsync).
const CREATE_WORKERS: usize = 1024;
/// Of those, the most in flight to one host: each holds a connection, and a host's API takes
/// at most 256 from one address (`CONNECTIONS_PER_ADDRESS_MAX`), the pool's idle ones
/// included; more are refused (503) or closed.
const CREATE_WORKERS_PER_HOST: usize = 192;
/// How long hosts may take to answer after starting, and to stop after being asked.
const START_TIMEOUT: Duration = Duration::from_secs(60);
const STOP_TIMEOUT: Duration = Duration::from_secs(15);
/// A host restarted more than this many times in `RESTART_WINDOW` is given up on.
const RESTARTS_MAX: usize = 5;
const RESTART_WINDOW: Duration = Duration::from_secs(60);

/// One host of a devnet as `devnet.json` records it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DevnetHost {
    pub name: String,
    pub id: String,
    pub api: SocketAddr,
    pub p2p: SocketAddr,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct DevnetFile {
    created_at_ms: u64,
    hosts: Vec<DevnetHost>,
    demo_chain: Option<String>,
    /// How many chains `--chains` has created so far.
    chains: u64,
    /// Hex of the root chain's signed genesis (its validators are the first four hosts).
    #[serde(default)]
    root_genesis: Option<String>,
    /// When the geneses of the numbered chains from `first` on say they were created; those
    /// before the first entry, when the devnet was.
    #[serde(default)]
    chain_times: Vec<ChainTime>,
}

/// The creation time of the geneses of the numbered chains from `first` on.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct ChainTime {
    first: u64,
    created_at_ms: u64,
}

/// A genesis time recorded at `recorded_ms`, if a host still takes it now; else now. Hosts
/// take a new genesis only within `GENESIS_CLOCK_SKEW_MS` of their clocks: half of it leaves
/// the creation of many chains time to finish.
fn fresh_time(recorded_ms: u64) -> u64 {
    let now = now_ms();
    if now.abs_diff(recorded_ms) <= GENESIS_CLOCK_SKEW_MS / 2 {
        recorded_ms
    } else {
        now
    }
}

/// A devnet directory and what its `devnet.json` says.
#[derive(Debug, Clone)]
pub struct Devnet {
    pub dir: PathBuf,
    file: DevnetFile,
}

impl Devnet {
    /// The devnet in `dir`, or `None` if `dir` holds none.
    pub fn load(dir: &Path) -> Result<Option<Devnet>> {
        let path = dir.join(DEVNET_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        let file: DevnetFile = serde_json::from_str(&text).with_context(|| {
            format!(
                "{} is not a devnet description; delete the directory to start afresh",
                path.display()
            )
        })?;
        let hosts = &file.hosts;
        let well_formed = (1..=HOSTS_MAX).contains(&hosts.len())
            && hosts.iter().enumerate().all(|(index, host)| {
                host.name == format!("host-{index}") && host.id.parse::<HostId>().is_ok()
            });
        if !well_formed {
            bail!(
                "{} lists its hosts wrongly (1 to {HOSTS_MAX} hosts named host-0, host-1, … with host1… ids); delete the directory to start afresh",
                path.display()
            );
        }
        Ok(Some(Devnet {
            dir: dir.to_owned(),
            file,
        }))
    }

    /// Deletes what the devnet made — its description, wallet, passphrase and host
    /// directories — and nothing else.
    fn delete(&self) -> Result<()> {
        for host in self.hosts() {
            let path = self.host_dir(&host.name);
            if path.exists() {
                std::fs::remove_dir_all(&path)
                    .with_context(|| format!("cannot delete {}", path.display()))?;
            }
        }
        for name in [
            DEVNET_FILE,
            "devnet.json.tmp",
            "wallet.json",
            "wallet.json.tmp",
            "passphrase",
        ] {
            let path = self.dir.join(name);
            if path.exists() {
                std::fs::remove_file(&path)
                    .with_context(|| format!("cannot delete {}", path.display()))?;
            }
        }
        Ok(())
    }

    fn save(&self) -> Result<()> {
        let path = self.dir.join(DEVNET_FILE);
        let temporary = self.dir.join(format!("{DEVNET_FILE}.tmp"));
        let text = serde_json::to_string_pretty(&self.file)?;
        let write = || -> std::io::Result<()> {
            let mut file = File::create(&temporary)?;
            file.write_all(text.as_bytes())?;
            file.sync_all()?;
            std::fs::rename(&temporary, &path)
        };
        write().with_context(|| format!("cannot write {}", path.display()))
    }

    pub fn hosts(&self) -> &[DevnetHost] {
        &self.file.hosts
    }

    pub fn api_urls(&self) -> Vec<String> {
        self.file
            .hosts
            .iter()
            .map(|h| format!("http://{}", h.api))
            .collect()
    }

    pub fn wallet_path(&self) -> PathBuf {
        self.dir.join("wallet.json")
    }

    pub fn passphrase_path(&self) -> PathBuf {
        self.dir.join("passphrase")
    }

    pub fn demo_chain(&self) -> Option<ChainId> {
        self.file.demo_chain.as_ref()?.parse().ok()
    }

    /// The id of the host called `name` (`host-0`, …).
    pub fn host_named(&self, name: &str) -> Option<HostId> {
        let host = self.file.hosts.iter().find(|h| h.name == name)?;
        host.id.parse().ok()
    }

    /// Every host of the devnet, with power 1.
    pub fn validators(&self) -> Result<Vec<(HostId, u64)>> {
        self.file
            .hosts
            .iter()
            .map(|h| Ok((h.id.parse()?, 1)))
            .collect()
    }

    pub fn host_dir(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// The key of the demo chain's owner, who also owns every numbered chain.
    pub fn owner_key(&self) -> Result<SecretKey> {
        self.wallet_key(OWNER)
    }

    fn wallet_key(&self, name: &str) -> Result<SecretKey> {
        let wallet = Wallet::open(&self.wallet_path())?;
        let passphrase = PassphraseSource {
            file: Some(self.passphrase_path()),
        }
        .read("", false)?;
        let unlocked = wallet.unlock(&passphrase)?;
        Ok(wallet.secret(&unlocked, name)?)
    }
}

/// A devnet host's configuration file (see `myriad host run --config`).
#[derive(Debug, Serialize)]
struct HostToml {
    data_dir: String,
    listen: String,
    api: String,
    peers: Vec<String>,
    watcher: WatcherToml,
    root: RootToml,
}

/// Every devnet host follows the devnet's root chain.
#[derive(Debug, Serialize)]
struct RootToml {
    chain: String,
}

/// Every devnet host runs a swap watcher that can reach every other host's API.
#[derive(Debug, Serialize)]
struct WatcherToml {
    enabled: bool,
    hosts: Vec<String>,
}

/// What `myriad devnet` was asked for.
#[derive(Debug, Clone)]
pub struct DevnetOptions {
    pub dir: PathBuf,
    /// Hosts of a new devnet (4 when not given); a resumed devnet keeps its own.
    pub hosts: Option<usize>,
    /// Chains to have pre-created besides the demo chain.
    pub chains: u64,
    pub fresh: bool,
    /// First API and peer-to-peer ports of a new devnet (host N uses port + N); 0 picks free ports.
    pub api_port: u16,
    pub p2p_port: u16,
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn port(base: u16, index: usize) -> Result<u16> {
    if base == 0 {
        return free_port();
    }
    u16::try_from(index)
        .ok()
        .and_then(|i| base.checked_add(i))
        .ok_or_else(|| anyhow!("port {base} + {index} is past 65535; choose a lower port"))
}

fn check_hosts(count: usize) -> Result<()> {
    if !(1..=HOSTS_MAX).contains(&count) {
        bail!("--hosts {count}: a devnet has 1 to {HOSTS_MAX} hosts");
    }
    Ok(())
}

/// Creates a new devnet in `options.dir`: host keys and configurations, the demo wallet.
fn create(options: &DevnetOptions) -> Result<Devnet> {
    let count = options.hosts.unwrap_or(HOSTS_DEFAULT);
    check_hosts(count)?;
    let dir = options
        .dir
        .canonicalize()
        .with_context(|| format!("cannot resolve {}", options.dir.display()))?;
    let mut hosts = Vec::with_capacity(count);
    let mut keys = Vec::with_capacity(count);
    for index in 0..count {
        let key = SecretKey::generate(OsRng);
        hosts.push(DevnetHost {
            name: format!("host-{index}"),
            id: key.host_id().to_string(),
            api: SocketAddr::from(([127, 0, 0, 1], port(options.api_port, index)?)),
            p2p: SocketAddr::from(([127, 0, 0, 1], port(options.p2p_port, index)?)),
        });
        keys.push(key);
    }
    let owner = SecretKey::generate(OsRng);
    let created_at_ms = now_ms();
    let validators: Vec<(HostId, u64)> = keys.iter().map(|key| (key.host_id(), 1)).collect();
    let root = root_genesis(&owner, &validators, created_at_ms)?;
    let devnet = Devnet {
        dir,
        file: DevnetFile {
            created_at_ms,
            hosts,
            demo_chain: None,
            chains: 0,
            root_genesis: Some(hex::encode(encode(&root))),
            chain_times: Vec::new(),
        },
    };
    for (host, key) in devnet.file.hosts.iter().zip(&keys) {
        let host_dir = devnet.host_dir(&host.name);
        std::fs::create_dir_all(&host_dir)?;
        write_key(&host_dir.join("host.key"), key)?;
        let peers: Vec<String> = devnet
            .file
            .hosts
            .iter()
            .filter(|peer| peer.name != host.name)
            .map(|peer| format!("{}@{}", peer.id, peer.p2p))
            .collect();
        let config = toml::to_string(&HostToml {
            data_dir: host_dir.display().to_string(),
            listen: host.p2p.to_string(),
            api: host.api.to_string(),
            peers,
            watcher: WatcherToml {
                enabled: true,
                hosts: devnet.api_urls(),
            },
            root: RootToml {
                chain: root.genesis.chain_id().to_string(),
            },
        })?;
        std::fs::write(host_dir.join("host.toml"), config)?;
    }
    let mut secret = [0u8; 16];
    OsRng.fill_bytes(&mut secret);
    let passphrase = hex::encode(secret);
    let passphrase_path = devnet.passphrase_path();
    create_private(&passphrase_path, &format!("{passphrase}\n"))
        .with_context(|| format!("cannot create {}", passphrase_path.display()))?;
    let mut wallet = Wallet::open_or_new(&devnet.wallet_path())?;
    let unlocked = wallet.unlock(&passphrase)?;
    wallet.add(&unlocked, OWNER, &owner)?;
    for name in HOLDERS {
        wallet.add(&unlocked, name, &SecretKey::generate(OsRng))?;
    }
    wallet.save()?;
    devnet.save()?;
    Ok(devnet)
}

/// The file a running devnet holds locked.
const LOCK_FILE: &str = "devnet.lock";

/// Whether `dir` holds anything besides the lock file (a missing `dir` holds nothing).
fn has_files(dir: &Path) -> Result<bool> {
    if !dir.exists() {
        return Ok(false);
    }
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
        if entry?.file_name() != LOCK_FILE {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Takes the devnet directory for this process: creates it and locks its lock file.
fn lock(dir: &Path) -> Result<File> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let path = dir.join(LOCK_FILE);
    let lock = File::create(&path).with_context(|| format!("cannot create {}", path.display()))?;
    if lock.try_lock().is_err() {
        bail!(
            "the devnet in {} is already running (another `myriad devnet` holds {})",
            dir.display(),
            path.display()
        );
    }
    Ok(lock)
}

/// Takes the devnet in `options.dir` for this process (or makes a new one there): the lock
/// is held as long as the returned file is open.
pub fn take(options: &DevnetOptions) -> Result<(File, Devnet)> {
    let lock = lock(&options.dir)?;
    Ok((lock, prepare(options)?))
}

/// The devnet to run: the one in the (locked) directory, or a new one.
fn prepare(options: &DevnetOptions) -> Result<Devnet> {
    let dir = &options.dir;
    let found = Devnet::load(dir)?;
    if found.is_none() && has_files(dir)? {
        bail!(
            "{} is not a devnet (it has no {DEVNET_FILE}) and is not empty; choose another --dir",
            dir.display()
        );
    }
    match found {
        Some(old) if options.fresh => {
            check_hosts(options.hosts.unwrap_or(HOSTS_DEFAULT))?;
            old.delete()?;
            create(options)
        }
        Some(devnet) => {
            let count = devnet.file.hosts.len();
            if options.hosts.is_some_and(|asked| asked != count) {
                bail!(
                    "the devnet in {} has {count} hosts; pass --fresh to start a new one with {}",
                    dir.display(),
                    options.hosts.unwrap_or(count)
                );
            }
            Ok(devnet)
        }
        None => create(options),
    }
}

/// One host process of the devnet.
#[derive(Debug)]
struct HostProcess {
    name: String,
    dir: PathBuf,
    child: Child,
    /// Closing it tells the host to stop.
    stdin: Option<ChildStdin>,
    restarts: Vec<Instant>,
}

impl HostProcess {
    fn spawn(name: &str, dir: &Path) -> Result<HostProcess> {
        let exe = std::env::current_exe().context("cannot find the myriad executable")?;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("host.log"))
            .with_context(|| format!("cannot open {}", dir.join("host.log").display()))?;
        // In a process group of its own, Ctrl-C at the terminal reaches only the devnet, which
        // then stops the hosts itself (and does not take their exit for a crash).
        let mut child = Command::new(exe)
            .process_group(0)
            .args(["host", "run", "--stop-with-stdin", "--config"])
            .arg(dir.join("host.toml"))
            .stdin(Stdio::piped())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("cannot start {name}"))?;
        std::fs::write(dir.join("host.pid"), format!("{}\n", child.id()))?;
        let stdin = child.stdin.take();
        Ok(HostProcess {
            name: name.to_owned(),
            dir: dir.to_owned(),
            child,
            stdin,
            restarts: Vec::new(),
        })
    }

    /// Waits until the host answers on its API at `api`.
    fn wait_ready(&mut self, api: SocketAddr) -> Result<()> {
        let client = Client::new(&api.to_string());
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "{} exited ({status}) while starting; last lines of {}:\n{}",
                    self.name,
                    self.dir.join("host.log").display(),
                    self.log_tail()
                );
            }
            if client.health().is_ok() {
                return Ok(());
            }
            if started.elapsed() > START_TIMEOUT {
                bail!(
                    "{} did not answer at {} within {START_TIMEOUT:?}; see {}",
                    self.name,
                    client.url(),
                    self.dir.join("host.log").display()
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The last lines of the host's log, to show why it failed.
    fn log_tail(&self) -> String {
        use std::io::{Read, Seek, SeekFrom};
        const TAIL_BYTES: u64 = 64 * 1024;
        let mut bytes = Vec::new();
        if let Ok(mut file) = File::open(self.dir.join("host.log")) {
            let length = file.metadata().map_or(0, |m| m.len());
            let _ = file.seek(SeekFrom::Start(length.saturating_sub(TAIL_BYTES)));
            let _ = file.take(TAIL_BYTES).read_to_end(&mut bytes);
        }
        let text = String::from_utf8_lossy(&bytes);
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(10)..].join("\n")
    }

    /// Asks the host to stop, and waits for it (killing it past `STOP_TIMEOUT`).
    fn stop(&mut self) {
        drop(self.stdin.take());
        let asked = Instant::now();
        while asked.elapsed() < STOP_TIMEOUT {
            if let Ok(Some(_)) = self.child.try_wait() {
                let _ = std::fs::remove_file(self.dir.join("host.pid"));
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        eprintln!(
            "{} did not stop within {STOP_TIMEOUT:?}; killing it",
            self.name
        );
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts the host again after it exited; refuses once it keeps failing.
    fn restart(&mut self, status: std::process::ExitStatus) -> Result<()> {
        self.restarts.retain(|at| at.elapsed() < RESTART_WINDOW);
        if self.restarts.len() >= RESTARTS_MAX {
            bail!(
                "{} exited {} times within {RESTART_WINDOW:?}; last lines of {}:\n{}",
                self.name,
                RESTARTS_MAX + 1,
                self.dir.join("host.log").display(),
                self.log_tail()
            );
        }
        eprintln!(
            "{} exited ({status}); restarting it (log: {})",
            self.name,
            self.dir.join("host.log").display()
        );
        let restarts = std::mem::take(&mut self.restarts);
        *self = HostProcess::spawn(&self.name, &self.dir)?;
        self.restarts = restarts;
        self.restarts.push(Instant::now());
        Ok(())
    }
}

/// Every host process; dropping it stops them.
#[derive(Debug)]
pub struct Hosts(Vec<HostProcess>);

impl Drop for Hosts {
    fn drop(&mut self) {
        for host in &mut self.0 {
            drop(host.stdin.take());
        }
        for host in &mut self.0 {
            host.stop();
        }
    }
}

fn progress(length: u64, message: &'static str) -> ProgressBar {
    let bar = ProgressBar::new(length).with_message(message);
    if let Ok(style) =
        ProgressStyle::with_template("{msg:24} [{bar:40}] {pos}/{len} {per_sec} eta {eta}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

impl Hosts {
    /// The process id of host `index`.
    pub fn pid(&self, index: usize) -> u32 {
        self.0[index].child.id()
    }

    /// Stops host `index` cleanly and waits for it to exit.
    pub fn stop(&mut self, index: usize) {
        self.0[index].stop();
    }

    /// Starts host `index` again and waits until it answers.
    pub fn start(&mut self, devnet: &Devnet, index: usize) -> Result<()> {
        let host = &devnet.hosts()[index];
        self.0[index] = HostProcess::spawn(&host.name, &devnet.host_dir(&host.name))?;
        self.0[index].wait_ready(host.api)
    }
}

/// Starts every host and waits until each answers on its API.
pub fn start_hosts(devnet: &Devnet) -> Result<Hosts> {
    let mut hosts = Hosts(Vec::new());
    for host in devnet.hosts() {
        hosts.0.push(HostProcess::spawn(
            &host.name,
            &devnet.host_dir(&host.name),
        )?);
    }
    let bar = progress(hosts.0.len() as u64, "starting hosts");
    for (process, host) in hosts.0.iter_mut().zip(devnet.hosts()) {
        process.wait_ready(host.api)?;
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(hosts)
}

/// Waits until every host at `clients` holds `chain`.
fn wait_for_chain(clients: &[Client], chain: &ChainId) -> Result<()> {
    let started = Instant::now();
    for client in clients {
        loop {
            match client.chain(chain) {
                Ok(_) => break,
                Err(ClientError::NotFound { .. }) if started.elapsed() < START_TIMEOUT => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(error) => {
                    return Err(error)
                        .with_context(|| format!("waiting for {} to hold {chain}", client.url()))
                }
            }
        }
    }
    Ok(())
}

/// The devnet's root chain: owned by the demo owner, validated by the first four hosts,
/// with the default root rules; its currency `ROOT` is what hosts bond.
fn root_genesis(
    owner: &SecretKey,
    hosts: &[(HostId, u64)],
    created_at_ms: u64,
) -> Result<SignedGenesis> {
    let validators = &hosts[..hosts.len().min(CHAIN_VALIDATORS_MAX)];
    let genesis = checked_genesis(
        owner.address(),
        Symbol::new(ROOT_SYMBOL).map_err(|e| anyhow!(e))?,
        0,
        None,
        validators,
        created_at_ms,
        0,
    )?;
    Ok(SignedGenesis::sign(
        Genesis {
            kind: ChainKind::Root(RootParams::default()),
            ..genesis
        },
        owner,
    ))
}

impl Devnet {
    /// The root chain's genesis, for a devnet made with one.
    pub fn root_genesis(&self) -> Result<Option<SignedGenesis>> {
        let Some(text) = &self.file.root_genesis else {
            return Ok(None);
        };
        let bytes = hex::decode(text).context("devnet.json: the root genesis is not hex")?;
        Ok(Some(decode("root genesis", &bytes)?))
    }

    pub fn root_chain(&self) -> Result<Option<ChainId>> {
        Ok(self.root_genesis()?.map(|g| g.genesis.chain_id()))
    }
}

/// Starts the root chain on its validators and gives every host root currency to bond,
/// once (a devnet made before roots existed has none).
pub fn ensure_root(devnet: &Devnet) -> Result<()> {
    let Some(genesis) = devnet.root_genesis()? else {
        return Ok(());
    };
    let root = genesis.genesis.chain_id();
    let clients: Vec<Client> = devnet.api_urls().iter().map(|u| Client::new(u)).collect();
    let validators = genesis.genesis.validators.len();
    if clients[0].chain(&root).is_err() {
        clients[0].create_chain(&genesis)?;
    }
    wait_for_chain(&clients[..validators], &root)?;
    let owner = devnet.owner_key()?;
    // Each host is given twice the least bond.
    let grant = match genesis.genesis.kind {
        ChainKind::Root(params) => params.host_bond_min.saturating_mul(2),
        ChainKind::Personal => bail!("the devnet's root genesis is not a root's"),
    };
    let mut nonce = clients[0].account(&root, &owner.address())?.nonce;
    for (host, _) in devnet.validators()? {
        let to = Address::from(host);
        if clients[0].account(&root, &to)?.balance != "0" {
            continue;
        }
        nonce += 1;
        let mint = TxKind::Mint { to, amount: grant };
        let options = SendOptions {
            wait: true,
            nonce: Some(nonce),
        };
        let status = clients[0].send(&root, &owner, mint, options)?.status;
        if status.status != "committed" {
            bail!(
                "minting root currency to host {host}: {} {}",
                status.status,
                status.reason.unwrap_or_default()
            );
        }
    }
    Ok(())
}

/// Creates the demo chain and funds the holders, once.
fn ensure_demo(devnet: &mut Devnet) -> Result<()> {
    if devnet.file.demo_chain.is_some() {
        return Ok(());
    }
    let owner = devnet.owner_key()?;
    let demo_genesis = |created_at_ms| -> Result<SignedGenesis> {
        let genesis = checked_genesis(
            owner.address(),
            Symbol::new(DEMO_SYMBOL).map_err(|e| anyhow!(e))?,
            DEMO_DECIMALS,
            None,
            &devnet.validators()?,
            created_at_ms,
            0,
        )?;
        Ok(SignedGenesis::sign(genesis, &owner))
    };
    let clients: Vec<Client> = devnet.api_urls().iter().map(|u| Client::new(u)).collect();
    // An earlier start may have created it, long enough ago that hosts would now refuse its
    // genesis as new: then it is the chain, else one created now.
    let mut genesis = demo_genesis(devnet.file.created_at_ms)?;
    if clients[0].chain(&genesis.genesis.chain_id()).is_err() {
        genesis = demo_genesis(fresh_time(devnet.file.created_at_ms))?;
    }
    let chain: ChainId = clients[0].create_chain(&genesis)?.chain_id.parse()?;
    wait_for_chain(&clients, &chain)?;
    // An earlier start may have stopped halfway: fund only who holds nothing yet.
    let wallet = Wallet::open(&devnet.wallet_path())?;
    let mut nonce = clients[0].account(&chain, &owner.address())?.nonce;
    for holder in HOLDERS {
        let to = wallet.entry(holder)?.address;
        if clients[0].account(&chain, &to)?.balance != "0" {
            continue;
        }
        nonce += 1;
        let mint = TxKind::Mint {
            to,
            amount: DEMO_GRANT,
        };
        let options = SendOptions {
            wait: true,
            nonce: Some(nonce),
        };
        let status = clients[0].send(&chain, &owner, mint, options)?.status;
        if status.status != "committed" {
            bail!(
                "minting the demo grant to {holder}: {} {}",
                status.status,
                status.reason.unwrap_or_default()
            );
        }
    }
    devnet.file.demo_chain = Some(chain.to_string());
    devnet.save()
}

/// The genesis of the devnet's chain number `salt` (1, 2, …), owned by `owner`, and the
/// indexes of its validators: up to four hosts, starting at `salt` modulo the number of hosts.
pub fn numbered_chain(
    devnet: &Devnet,
    owner: Address,
    hosts: &[(HostId, u64)],
    salt: u64,
) -> Result<(Genesis, Vec<usize>)> {
    let start = salt as usize % hosts.len();
    let count = hosts.len().min(CHAIN_VALIDATORS_MAX);
    let members: Vec<usize> = (0..count).map(|i| (start + i) % hosts.len()).collect();
    let mut set: Vec<(HostId, u64)> = members.iter().map(|m| hosts[*m]).collect();
    set.sort();
    let symbol = Symbol::new(&format!("C{salt}")).map_err(|e| anyhow!(e))?;
    let created_at_ms = devnet
        .file
        .chain_times
        .iter()
        .rev()
        .find(|time| time.first <= salt)
        .map_or(devnet.file.created_at_ms, |time| time.created_at_ms);
    let genesis = checked_genesis(owner, symbol, 2, None, &set, created_at_ms, salt)?;
    Ok((genesis, members))
}

/// Creates chains `devnet.file.chains + 1 ..= target` ([`numbered_chain`]), `CREATE_WORKERS`
/// requests at a time. Creation is idempotent (a genesis names its chain), so an interrupted
/// run just resumes; resumed after hosts would refuse its geneses' time, it goes on with
/// geneses of a new time (the chains created but not recorded are left as they are).
pub fn create_chains(devnet: &mut Devnet, target: u64) -> Result<()> {
    use futures::{StreamExt, TryStreamExt};
    let first = devnet.file.chains + 1;
    if target < first {
        return Ok(());
    }
    let times = &mut devnet.file.chain_times;
    let recorded = times
        .last()
        .map_or(devnet.file.created_at_ms, |time| time.created_at_ms);
    let created_at_ms = fresh_time(recorded);
    if created_at_ms != recorded {
        times.retain(|time| time.first < first);
        times.push(ChainTime {
            first,
            created_at_ms,
        });
        devnet.save()?;
    }
    let owner = devnet.owner_key()?;
    let hosts = devnet.validators()?;
    let uris: Vec<hyper::Uri> = devnet
        .hosts()
        .iter()
        .map(|h| format!("http://{}/chains", h.api).parse())
        .collect::<Result<_, _>>()?;
    let bar = progress(target - first + 1, "creating chains");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let shared: &Devnet = devnet;
    runtime.block_on(async {
        let client = BulkClient::default();
        let permits: Vec<tokio::sync::Semaphore> = (0..uris.len())
            .map(|_| tokio::sync::Semaphore::new(CREATE_WORKERS_PER_HOST))
            .collect();
        futures::stream::iter(first..=target)
            .map(|salt| {
                let (client, owner, hosts, uris, bar) = (&client, &owner, &hosts, &uris, &bar);
                let permits = &permits;
                async move {
                    let (genesis, members) = numbered_chain(shared, owner.address(), hosts, salt)?;
                    let genesis = SignedGenesis::sign(genesis, owner);
                    let body = format!("{{\"genesis\":\"{}\"}}", hex::encode(encode(&genesis)));
                    let uri = &uris[members[0]];
                    let _permit = permits[members[0]].acquire().await?;
                    let (status, answer) = client
                        .post(uri, body.into())
                        .await
                        .map_err(|e| anyhow!(e))?;
                    if status != 201 {
                        bail!(
                            "creating chain {salt} at {uri}: {status} {}",
                            String::from_utf8_lossy(&answer)
                        );
                    }
                    bar.inc(1);
                    anyhow::Ok(())
                }
            })
            .buffer_unordered(CREATE_WORKERS)
            .try_collect::<()>()
            .await
    })?;
    bar.finish_and_clear();
    devnet.file.chains = target;
    devnet.save()
}

fn summary(devnet: &Devnet, default_dir: bool) -> String {
    let mut text = format!(
        "Myriad devnet: {} hosts, data in {}\n",
        devnet.hosts().len(),
        devnet.dir.display()
    );
    for host in devnet.hosts() {
        text.push_str(&format!(
            "  {:<7} {}  api http://{}  p2p {}\n",
            host.name, host.id, host.api, host.p2p
        ));
    }
    if let Ok(Some(root)) = devnet.root_chain() {
        text.push_str(&format!(
            "root chain {root} ({ROOT_SYMBOL}): the directory of hosts and chains; every chain's head is anchored there\n"
        ));
    }
    let chain = devnet.file.demo_chain.as_deref().unwrap_or("?");
    text.push_str(&format!(
        "demo chain {chain} ({DEMO_SYMBOL}): owner `{OWNER}`; alice, bob and carol were minted {} {DEMO_SYMBOL} each\n",
        format_amount(DEMO_GRANT, DEMO_DECIMALS)
    ));
    if devnet.file.chains > 0 {
        text.push_str(&format!("{} more chains pre-created\n", devnet.file.chains));
    }
    if let Some(first) = devnet.hosts().first() {
        text.push_str(&format!(
            "explorer http://{}/explorer/ (every host serves it; it checks what it shows in the browser)\n",
            first.api
        ));
    }
    text.push_str(&format!(
        "wallet {} (passphrase in {})\n\nTry, from another terminal in this directory:\n",
        devnet.wallet_path().display(),
        devnet.passphrase_path().display()
    ));
    let flag = if default_dir {
        String::new()
    } else {
        format!(" --devnet-dir {}", devnet.dir.display())
    };
    for example in [
        "balance alice",
        "transfer --from alice --to bob 12.50 --wait",
        "chain create --owner carol --symbol CAROL --decimals 2 --devnet",
    ] {
        text.push_str(&format!("  myriad{flag} {example}\n"));
    }
    text.push_str(
        "\nCtrl-C stops the devnet; `myriad devnet` again resumes it (--fresh starts over).",
    );
    text
}

/// Runs a devnet until Ctrl-C or SIGTERM: starts (or resumes) it, makes the demo chain and
/// the asked-for chains, then restarts any host that exits until asked to stop.
pub fn run(options: &DevnetOptions, default_dir: bool) -> Result<()> {
    let (_lock, mut devnet) = take(options)?;
    let mut hosts = start_hosts(&devnet)?;
    ensure_root(&devnet)?;
    ensure_demo(&mut devnet)?;
    create_chains(&mut devnet, options.chains)?;
    println!("{}", summary(&devnet, default_dir));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        use tokio::signal::unix::{signal, SignalKind};
        let mut interrupt = signal(SignalKind::interrupt())?;
        let mut terminate = signal(SignalKind::terminate())?;
        let mut check = tokio::time::interval(Duration::from_millis(500));
        loop {
            tokio::select! {
                _ = interrupt.recv() => break,
                _ = terminate.recv() => break,
                _ = check.tick() => {
                    for host in &mut hosts.0 {
                        if let Some(status) = host.child.try_wait()? {
                            host.restart(status)?;
                        }
                    }
                }
            }
        }
        anyhow::Ok(())
    })?;
    eprintln!("stopping the devnet…");
    drop(hosts);
    eprintln!(
        "devnet stopped; `myriad devnet{}` resumes it",
        if default_dir {
            String::new()
        } else {
            format!(" --dir {}", devnet.dir.display())
        }
    );
    Ok(())
}
