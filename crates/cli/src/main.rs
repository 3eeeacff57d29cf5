//! `myriad`: run a host or a local devnet, keep keys in a wallet, create chains and send
//! transactions.

mod channel;
mod commands;
mod exchange;
mod explorer;
mod root;
mod swap;

use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context as _, Result};
use clap::{Args, Parser, Subcommand};
use std::time::Duration;

use myriad_bench::anchor::{self, AnchorOptions};
use myriad_bench::density::{self, DensityOptions};
use myriad_bench::load::{self, LoadOptions, Rate};
use myriad_bench::quotes::{self, QuotesOptions};
use myriad_bench::BenchDir;
use myriad_client::transaction::SendOptions;
use myriad_client::wallet::PassphraseSource;
use myriad_devnet::{Devnet, DevnetOptions};
use myriad_host::{write_key, HostConfig, Overrides};
use myriad_node::Node;
use myriad_types::{HostId, SecretKey};
use zeroize::Zeroizing;

use crate::commands::{parse_validators, Context};
use myriad_client::network::Network;

/// The devnet directory when none is named.
const DEVNET_DIR: &str = "devnet";

#[derive(Debug, Parser)]
#[command(
    name = "myriad",
    version,
    about = "Myriad: many small blockchains, validated together",
    after_help = "Start with `myriad devnet`: a local network of four hosts with a demo chain."
)]
struct Cli {
    /// The API URL of a host to talk to; repeat, or separate with commas. Default: the
    /// devnet's hosts.
    #[arg(
        id = "host_urls",
        long = "host",
        global = true,
        env = "MYRIAD_HOST",
        value_delimiter = ','
    )]
    host_urls: Vec<String>,
    /// The devnet whose hosts, wallet and demo chain commands use by default.
    #[arg(long, global = true, env = "MYRIAD_DEVNET_DIR", default_value = DEVNET_DIR)]
    devnet_dir: PathBuf,
    /// The wallet file. Default: the devnet's wallet if there is a devnet, else
    /// ~/.myriad/wallet.json.
    #[arg(long, global = true, env = "MYRIAD_WALLET")]
    wallet: Option<PathBuf>,
    /// Read the wallet passphrase from this file's first line (else MYRIAD_PASSPHRASE, else
    /// a prompt).
    #[arg(long, global = true, env = "MYRIAD_PASSPHRASE_FILE")]
    passphrase_file: Option<PathBuf>,
    /// Print JSON for scripts.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a local network of hosts with a demo chain, until Ctrl-C. Run it again to resume.
    Devnet {
        /// Hosts of a new devnet.
        #[arg(long)]
        hosts: Option<usize>,
        /// Chains to pre-create besides the demo chain.
        #[arg(long, default_value_t = 0)]
        chains: u64,
        /// Where the devnet lives. Default: --devnet-dir.
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Delete the devnet in the directory and start a new one.
        #[arg(long)]
        fresh: bool,
        /// First API port of a new devnet (host N gets port + N); 0 picks free ports.
        #[arg(long, default_value_t = 8000)]
        api_port: u16,
        /// First peer-to-peer port of a new devnet; 0 picks free ports.
        #[arg(long, default_value_t = 7000)]
        p2p_port: u16,
    },
    /// Serve the block explorer on its own, reading a host that follows the root chain; the
    /// page checks what hosts show it (certificates, state proofs, the root's anchors).
    Explorer {
        /// The API URL of a host that follows the root chain, e.g. http://127.0.0.1:8000.
        #[arg(long)]
        root: String,
        /// The root chain to trust (chain1…). Default: the one that host follows, as it
        /// names it now.
        #[arg(long)]
        root_chain: Option<myriad_types::ChainId>,
        /// Where to serve the explorer.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: std::net::SocketAddr,
    },
    /// Check what hosts say against what they cannot forge.
    Verify {
        #[command(subcommand)]
        command: VerifyCommand,
    },
    /// Run or set up a host: one process validating every chain that names it.
    Host {
        #[command(subcommand)]
        command: HostCommand,
    },
    /// Keys in an encrypted wallet file.
    Wallet {
        #[command(subcommand)]
        command: WalletCommand,
    },
    /// Create chains and look at them.
    Chain {
        #[command(subcommand)]
        command: ChainCommand,
    },
    /// Issue new currency on a chain (its owner only).
    Mint {
        /// The recipient: a wallet name or acct1….
        #[arg(long)]
        to: String,
        /// In the chain's units, e.g. 12.50.
        amount: String,
        #[command(flatten)]
        tx: TxArgs,
    },
    /// Send currency to another account.
    Transfer {
        /// The sender: a wallet name or acct1….
        #[arg(long)]
        from: String,
        /// The recipient: a wallet name or acct1….
        #[arg(long)]
        to: String,
        /// In the chain's units, e.g. 12.50.
        amount: String,
        /// A note for the recipient (up to 256 bytes).
        #[arg(long)]
        memo: Option<String>,
        #[command(flatten)]
        tx: TxArgs,
    },
    /// Destroy currency the sender holds.
    Burn {
        #[arg(long)]
        from: String,
        amount: String,
        #[command(flatten)]
        tx: TxArgs,
    },
    /// An account's balance on a chain.
    Balance {
        /// A wallet name or acct1….
        account: String,
        #[arg(long)]
        chain: Option<String>,
    },
    /// An account's committed transactions on a chain, newest first.
    History {
        account: String,
        #[arg(long)]
        chain: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Change a chain's validators (its owner only).
    Validators {
        #[command(subcommand)]
        command: ValidatorsCommand,
    },
    /// One-way payment channels, paid off-chain with vouchers.
    Channel {
        #[command(subcommand)]
        command: ChannelCommand,
    },
    /// Withdrawal allowlists: whom an account may pay, changes delayed.
    Allowlist {
        #[command(subcommand)]
        command: AllowlistCommand,
    },
    /// Exchange at the best live quote (`--from … --give … --give-chain … --get-chain …`),
    /// or an atomic swap between two people step by step: offer, accept, claim, status,
    /// refund.
    #[command(args_conflicts_with_subcommands = true)]
    Swap {
        #[command(subcommand)]
        command: Option<SwapCommand>,
        #[command(flatten)]
        at_quote: QuoteSwapArgs,
    },
    /// The live quotes of a pair, best first: what holders of GIVE_CHAIN get of GET_CHAIN.
    Quotes {
        give_chain: String,
        get_chain: String,
    },
    /// Run an automated exchanger.
    Exchanger {
        #[command(subcommand)]
        command: ExchangerCommand,
    },
    /// Transactions by hash.
    Tx {
        #[command(subcommand)]
        command: TxCommand,
    },
    /// Measure the whole system on this machine: a fresh devnet under `--dir`, driven through
    /// its API; a JSON result, an SVG plot and a summary table.
    Bench {
        /// Where the bench's devnet, result and plot go.
        #[arg(long, default_value = "bench")]
        dir: PathBuf,
        #[command(subcommand)]
        command: BenchCommand,
    },
}

#[derive(Debug, Subcommand)]
enum BenchCommand {
    /// How many chains one host holds: creation rate, memory, store, idle CPU, restart time.
    Density {
        #[arg(long, default_value_t = 100_000)]
        chains: u64,
        /// Hosts of the devnet; every chain is validated by up to four of them.
        #[arg(long, default_value_t = 1)]
        hosts: usize,
        /// How long idle CPU is sampled, in seconds.
        #[arg(long, default_value_t = 30)]
        idle_seconds: u64,
    },
    /// Open-loop transaction load on many chains: throughput and finality latency.
    Load {
        #[arg(long, default_value_t = 4)]
        hosts: usize,
        #[arg(long, default_value_t = 100_000)]
        chains: u64,
        /// Transactions offered per second: one rate, several run in order (`1000,3000,1000`),
        /// or `auto` to search for the saturation point.
        #[arg(long, default_value = "auto")]
        rate: String,
        /// How long each rate is held, in seconds.
        #[arg(long, default_value_t = 60)]
        duration: u64,
        /// Zipf exponent of the spread over chains (0: uniform).
        #[arg(long, default_value_t = 1.0)]
        zipf: f64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Run the hosts inside the bench's process, for profiling (CPU is then the whole
        /// process's, the sending client included).
        #[arg(long)]
        in_process: bool,
    },
    /// The order book at scale: quotes taken in per second, memory per live quote, latency
    /// of a best-quote query.
    Quotes {
        /// Currencies quoted against one reference currency.
        #[arg(long, default_value_t = 100_000)]
        currencies: u64,
        /// Exchangers quoting every currency, both ways.
        #[arg(long, default_value_t = 3)]
        exchangers: usize,
        /// Best-quote queries timed.
        #[arg(long, default_value_t = 10_000)]
        queries: usize,
        /// Batches of 1000 quotes posted at once.
        #[arg(long, default_value_t = 4)]
        connections: usize,
    },
    /// The root chain's ledger at scale, in process: chains entered into the directory,
    /// then their certified heads anchored, in full root blocks verified, executed and
    /// committed; time per root block, stored bytes per chain, anchor proof size.
    Anchor {
        #[arg(long, default_value_t = 1_000_000)]
        chains: u64,
        /// Chains whose precommits a validator signs in one tick, with as many other votes
        /// (one signature each tick).
        #[arg(long, default_value_t = 64)]
        tick: usize,
    },
}

/// What every transaction command takes.
#[derive(Debug, Args)]
struct TxArgs {
    /// The chain (chain1…). Default: the devnet's demo chain.
    #[arg(long)]
    chain: Option<String>,
    /// Wait until the transaction is committed; print its height and latency.
    #[arg(long)]
    wait: bool,
    /// Use this nonce instead of the sender's next one.
    #[arg(long)]
    nonce: Option<u64>,
}

impl TxArgs {
    fn options(&self) -> SendOptions {
        SendOptions {
            wait: self.wait,
            nonce: self.nonce,
        }
    }
}

#[derive(Debug, Subcommand)]
enum ChannelCommand {
    /// Lock an amount in a channel to a payee until it expires.
    Open {
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
        amount: String,
        /// How long it lasts, e.g. 1h or 7d; then the payer may take back what is not paid.
        #[arg(long, default_value = "1d")]
        expires: String,
        #[arg(long)]
        chain: Option<String>,
    },
    /// Sign a voucher (offline) for a cumulative amount: it replaces the ones before it.
    Pay {
        channel: String,
        #[arg(long)]
        from: String,
        /// The total paid so far, in the chain's units.
        cumulative: String,
        #[arg(long)]
        chain: Option<String>,
    },
    /// Check a voucher as the payee: signature, cumulative, funds left.
    Accept {
        voucher: String,
        #[arg(long)]
        chain: Option<String>,
    },
    /// The payee closes the channel with a voucher: it is paid, the rest goes back.
    Close {
        channel: String,
        #[arg(long)]
        from: String,
        voucher: String,
        #[arg(long)]
        chain: Option<String>,
    },
    /// Add to an open channel.
    TopUp {
        channel: String,
        #[arg(long)]
        from: String,
        amount: String,
        #[arg(long)]
        chain: Option<String>,
    },
    /// The payer takes back an expired channel the payee never closed.
    Refund {
        channel: String,
        #[arg(long)]
        from: String,
        #[arg(long)]
        chain: Option<String>,
    },
    /// A channel as committed: amount, parties, state, expiry.
    Status {
        channel: String,
        #[arg(long)]
        chain: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum AllowlistCommand {
    /// From now on (or, to change one in force, after its delay) let WHO pay only these.
    Set {
        #[arg(long)]
        from: String,
        /// Wallet names or acct1… addresses, comma-separated.
        #[arg(value_delimiter = ',', required = true)]
        addresses: Vec<String>,
        /// How long later changes wait, e.g. 1d.
        #[arg(long, default_value = "1d")]
        delay: String,
        #[arg(long)]
        chain: Option<String>,
    },
    /// Remove the allowlist, once its delay has passed.
    Clear {
        #[arg(long)]
        from: String,
        #[arg(long)]
        chain: Option<String>,
    },
    /// An account's allowlist, with a pending change.
    Show {
        who: String,
        #[arg(long)]
        chain: Option<String>,
    },
}

/// `myriad swap` at the best quote.
#[derive(Debug, Args)]
struct QuoteSwapArgs {
    /// Who gives: a wallet name or acct1….
    #[arg(long)]
    from: Option<String>,
    /// What you give, in the give chain's units.
    #[arg(long)]
    give: Option<String>,
    #[arg(long)]
    give_chain: Option<String>,
    #[arg(long)]
    get_chain: Option<String>,
    /// The most of the give currency you pay for one unit of the get currency.
    #[arg(long)]
    max_rate: Option<String>,
    /// How long your lock lasts; the exchanger's lasts half as long.
    #[arg(long, default_value = "10m")]
    expires: String,
    /// Do not ask to confirm.
    #[arg(long)]
    yes: bool,
}

#[derive(Debug, Subcommand)]
enum ExchangerCommand {
    /// Publish quotes and complete the swaps holders open at them, until interrupted.
    Run {
        #[arg(long, default_value = "exchanger.toml")]
        config: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum SwapCommand {
    /// Lock what you give for the taker, with a fresh secret kept sealed in your wallet, and
    /// print the offer to hand to the taker.
    Offer {
        /// The maker: a wallet name or acct1….
        #[arg(long)]
        from: String,
        /// What you give, in the give chain's units.
        #[arg(long)]
        give: String,
        #[arg(long)]
        give_chain: String,
        /// What you get, in the get chain's units.
        #[arg(long)]
        get: String,
        #[arg(long)]
        get_chain: String,
        /// The taker: a wallet name or acct1….
        #[arg(long)]
        to: String,
        /// How long your lock lasts, e.g. 30m or 2h; the taker's lasts half as long.
        #[arg(long, default_value = "2h")]
        expires: String,
        /// Wait until the lock is committed (the taker can check it only then).
        #[arg(long)]
        wait: bool,
    },
    /// Check the maker's lock as committed (proof and certificate), then lock what the
    /// offer asks of you with the same hash lock and an earlier expiry.
    Accept {
        /// The offer (myriad-swap-2:…).
        offer: String,
        #[arg(long)]
        from: String,
        /// Wait until the counter-lock is committed.
        #[arg(long)]
        wait: bool,
    },
    /// The maker claims the taker's lock with her secret; the taker then claims the
    /// maker's with the secret her claim revealed.
    Claim {
        /// The swap: its id (the maker's escrow, in your wallet) or the offer.
        id: String,
        #[arg(long)]
        from: String,
    },
    /// Both escrows of a swap, their deadlines, and who can do what next.
    Status { id: String },
    /// Take back your expired lock.
    Refund {
        id: String,
        #[arg(long)]
        from: String,
    },
}

#[derive(Debug, Subcommand)]
enum HostCommand {
    /// Run a host until interrupted.
    Run {
        /// TOML configuration file; flags override its settings.
        #[arg(long)]
        config: Option<PathBuf>,
        #[arg(long)]
        data_dir: Option<PathBuf>,
        #[arg(long)]
        key_file: Option<PathBuf>,
        /// Peer-to-peer listen address, e.g. 127.0.0.1:7000.
        #[arg(long)]
        listen: Option<String>,
        /// API listen address, e.g. 127.0.0.1:8000.
        #[arg(long)]
        api: Option<String>,
        /// A peer, as host1…@address:port (repeat for each).
        #[arg(long = "peer")]
        peers: Vec<String>,
        #[arg(long)]
        tick_ms: Option<u64>,
        /// The root chain's id: the host follows it (through its `--peer`s), registers in its
        /// directory and anchors its chains there.
        #[arg(long)]
        root: Option<String>,
        /// Stop cleanly when standard input closes (how a devnet stops its hosts).
        #[arg(long, hide = true)]
        stop_with_stdin: bool,
    },
    /// Create a host key file and print the host id.
    Keygen {
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum WalletCommand {
    /// Create a key and add it to the wallet (creating the wallet if needed).
    New { name: String },
    /// Add an existing secret key (64 hex digits, from --secret-file, standard input or a
    /// prompt).
    Import {
        name: String,
        #[arg(long)]
        secret_file: Option<PathBuf>,
    },
    /// Names and addresses of the wallet's keys.
    List,
    /// A key's address and public key; its secret only with --secret.
    Show {
        name: String,
        /// Also print the secret key.
        #[arg(long)]
        secret: bool,
    },
    /// A key's address, for sharing.
    ExportPublic { name: String },
}

#[derive(Debug, Subcommand)]
enum ChainCommand {
    /// Create a chain: sign its genesis with the owner's key and hand it to its validators.
    Create {
        /// The owner: a wallet name.
        #[arg(long)]
        owner: String,
        #[arg(long)]
        symbol: String,
        #[arg(long)]
        decimals: u8,
        /// The most that may ever be minted, in the chain's units.
        #[arg(long)]
        max_supply: Option<String>,
        /// Validators as host1…[:power],… (devnet host names like host-0 work too).
        #[arg(long, required_unless_present = "devnet", conflicts_with = "devnet")]
        validators: Option<String>,
        /// Every host of the devnet validates the chain.
        #[arg(long)]
        devnet: bool,
    },
    /// A chain's head, supply, owner and validators; with --root, its entry in the root's
    /// directory: validators and where to reach them, last anchored head.
    Info {
        /// Default: the devnet's demo chain.
        chain: Option<String>,
        /// A root host's API URL: ask the root's directory instead of the chain's hosts.
        #[arg(long)]
        root: Option<String>,
    },
    /// The chains a host validates.
    List {
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
}

#[derive(Debug, Subcommand)]
enum VerifyCommand {
    /// An account on any chain, trusting only the root's committee: the root's certified
    /// block, the chain's anchor in it, the chain's blocks since, the account's proof.
    /// Prints what it trusted and what it checked; fails on any mismatch.
    Account {
        /// The account: a wallet name or acct1….
        who: String,
        /// The chain (chain1…). Default: the devnet's demo chain.
        #[arg(long)]
        chain: Option<String>,
        /// A root host's API URL.
        #[arg(long)]
        root: String,
        /// The root chain's id to trust. Default: the devnet's, else the root host's word.
        #[arg(long)]
        root_chain: Option<String>,
        /// The chain host to ask (an API URL). Default: one the root's directory names.
        #[arg(long)]
        chain_host: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum ValidatorsCommand {
    /// Replace a chain's validators from its next block on.
    Set {
        /// host1…[:power],… (devnet host names like host-0 work too).
        validators: String,
        #[command(flatten)]
        tx: TxArgs,
    },
}

#[derive(Debug, Subcommand)]
enum TxCommand {
    /// Pending, committed (at which height) or rejected (why).
    Status { hash: String },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn context(cli: &Cli) -> Result<Context> {
    let devnet = Devnet::load(&cli.devnet_dir)?;
    let urls = match (&devnet, cli.host_urls.is_empty()) {
        (_, false) => cli.host_urls.clone(),
        (Some(devnet), true) => devnet.api_urls(),
        (None, true) => Vec::new(),
    };
    let devnet_wallet = cli.wallet.is_none() && devnet.is_some();
    let wallet = match (&cli.wallet, &devnet) {
        (Some(path), _) => path.clone(),
        (None, Some(devnet)) => devnet.wallet_path(),
        (None, None) => std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_default()
            .join(".myriad")
            .join("wallet.json"),
    };
    let passphrase_file = match (&cli.passphrase_file, &devnet) {
        (Some(path), _) => Some(path.clone()),
        (None, Some(devnet)) if devnet_wallet => Some(devnet.passphrase_path()),
        (None, _) => None,
    };
    Ok(Context {
        network: Network::new(&urls),
        wallet,
        passphrase: PassphraseSource {
            file: passphrase_file,
        },
        devnet,
        json: cli.json,
    })
}

/// Validators from `--validators`, with devnet host names resolved.
fn validators(context: &Context, text: &str) -> Result<Vec<(HostId, u64)>> {
    parse_validators(text, |name| {
        context.devnet.as_ref().and_then(|d| d.host_named(name))
    })
}

/// A secret key from a file, standard input or a hidden prompt.
fn read_secret(file: Option<&PathBuf>) -> Result<SecretKey> {
    let text = Zeroizing::new(match file {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?,
        None if std::io::stdin().is_terminal() => {
            rpassword::prompt_password("Secret key (64 hex digits): ")?
        }
        None => {
            let mut text = String::new();
            std::io::stdin().read_to_string(&mut text)?;
            text
        }
    });
    let bytes = Zeroizing::new(
        hex::decode(text.trim()).context("the secret key is not hex: expected 64 hex digits")?,
    );
    let seed: Zeroizing<[u8; 32]> = Zeroizing::new(
        bytes
            .as_slice()
            .try_into()
            .context("the secret key is not 64 hex digits")?,
    );
    Ok(SecretKey::from_seed(*seed))
}

fn run(cli: Cli) -> Result<()> {
    // Commands that talk to hosts read the devnet description; the others must work even
    // when it is missing or broken.
    let prepared = match &cli.command {
        Command::Devnet { .. }
        | Command::Host { .. }
        | Command::Bench { .. }
        | Command::Explorer { .. }
        | Command::Exchanger { .. } => None,
        _ => Some(context(&cli)?),
    };
    let context = || prepared.as_ref().context("no command context");
    match cli.command {
        Command::Devnet {
            hosts,
            chains,
            dir,
            fresh,
            api_port,
            p2p_port,
        } => {
            let dir = dir.unwrap_or(cli.devnet_dir);
            let default_dir = dir == std::path::Path::new(DEVNET_DIR);
            let options = DevnetOptions {
                dir,
                hosts,
                chains,
                fresh,
                api_port,
                p2p_port,
            };
            myriad_devnet::run(&options, default_dir)
        }
        Command::Host { command } => host(command),
        Command::Explorer {
            root,
            root_chain,
            listen,
        } => explorer::serve(&root, root_chain, listen),
        Command::Wallet { command } => match command {
            WalletCommand::New { name } => context()?.wallet_new(&name),
            WalletCommand::Import { name, secret_file } => {
                context()?.wallet_add(&name, read_secret(secret_file.as_ref())?)
            }
            WalletCommand::List => context()?.wallet_list(),
            WalletCommand::Show { name, secret } => context()?.wallet_show(&name, secret),
            WalletCommand::ExportPublic { name } => context()?.wallet_export_public(&name),
        },
        Command::Chain { command } => match command {
            ChainCommand::Create {
                owner,
                symbol,
                decimals,
                max_supply,
                validators: list,
                devnet,
            } => {
                let set = match (list, devnet, &context()?.devnet) {
                    (Some(list), _, _) => validators(context()?, &list)?,
                    (None, true, Some(devnet)) => devnet.validators()?,
                    (None, _, _) => bail!(
                        "--devnet: no devnet in {}; start one with `myriad devnet` or name --validators",
                        cli.devnet_dir.display()
                    ),
                };
                context()?.chain_create(&owner, &symbol, decimals, max_supply.as_deref(), &set)
            }
            ChainCommand::Info { chain, root: None } => context()?.chain_info(chain.as_deref()),
            ChainCommand::Info {
                chain,
                root: Some(root),
            } => context()?.chain_info_via_root(chain.as_deref(), &root),
            ChainCommand::List { limit } => context()?.chain_list(limit),
        },
        Command::Mint { to, amount, tx } => {
            context()?.mint(tx.chain.as_deref(), &to, &amount, tx.options())
        }
        Command::Transfer {
            from,
            to,
            amount,
            memo,
            tx,
        } => context()?.transfer(
            tx.chain.as_deref(),
            &from,
            &to,
            &amount,
            memo.as_deref(),
            tx.options(),
        ),
        Command::Burn { from, amount, tx } => {
            context()?.burn(tx.chain.as_deref(), &from, &amount, tx.options())
        }
        Command::Balance { account, chain } => context()?.balance(chain.as_deref(), &account),
        Command::History {
            account,
            chain,
            limit,
        } => context()?.history(chain.as_deref(), &account, limit),
        Command::Validators {
            command:
                ValidatorsCommand::Set {
                    validators: list,
                    tx,
                },
        } => {
            let set = validators(context()?, &list)?;
            context()?.validators_set(tx.chain.as_deref(), &set, tx.options())
        }
        Command::Tx {
            command: TxCommand::Status { hash },
        } => context()?.tx_status(&hash),
        Command::Channel { command } => match command {
            ChannelCommand::Open {
                from,
                to,
                amount,
                expires,
                chain,
            } => context()?.channel_open(chain.as_deref(), &from, &to, &amount, &expires),
            ChannelCommand::Pay {
                channel,
                from,
                cumulative,
                chain,
            } => context()?.channel_pay(chain.as_deref(), &channel, &from, &cumulative),
            ChannelCommand::Accept { voucher, chain } => {
                context()?.channel_accept(chain.as_deref(), &voucher)
            }
            ChannelCommand::Close {
                channel,
                from,
                voucher,
                chain,
            } => context()?.channel_close(chain.as_deref(), &channel, &from, &voucher),
            ChannelCommand::TopUp {
                channel,
                from,
                amount,
                chain,
            } => context()?.channel_top_up(chain.as_deref(), &channel, &from, &amount),
            ChannelCommand::Refund {
                channel,
                from,
                chain,
            } => context()?.channel_refund(chain.as_deref(), &channel, &from),
            ChannelCommand::Status { channel, chain } => {
                context()?.channel_status(chain.as_deref(), &channel)
            }
        },
        Command::Allowlist { command } => match command {
            AllowlistCommand::Set {
                from,
                addresses,
                delay,
                chain,
            } => context()?.allowlist_set(chain.as_deref(), &from, &addresses, &delay),
            AllowlistCommand::Clear { from, chain } => {
                context()?.allowlist_set(chain.as_deref(), &from, &[], "0s")
            }
            AllowlistCommand::Show { who, chain } => {
                context()?.allowlist_show(chain.as_deref(), &who)
            }
        },
        Command::Quotes {
            give_chain,
            get_chain,
        } => context()?.quotes_list(&give_chain, &get_chain),
        Command::Verify {
            command:
                VerifyCommand::Account {
                    who,
                    chain,
                    root,
                    root_chain,
                    chain_host,
                },
        } => context()?.verify_account(
            chain.as_deref(),
            &who,
            &root,
            root_chain.as_deref(),
            chain_host.as_deref(),
        ),
        Command::Exchanger {
            command: ExchangerCommand::Run { config },
        } => exchange::exchanger_run(&config),
        Command::Swap {
            command: None,
            at_quote,
        } => {
            let required = |value: &Option<String>, flag: &str| {
                value.clone().with_context(|| {
                    format!("{flag} is required (or a step: `myriad swap offer` …)")
                })
            };
            let (from, give) = (
                required(&at_quote.from, "--from")?,
                required(&at_quote.give, "--give")?,
            );
            let give_chain = required(&at_quote.give_chain, "--give-chain")?;
            let get_chain = required(&at_quote.get_chain, "--get-chain")?;
            context()?.swap_at_quote(&exchange::QuoteSwap {
                from: &from,
                give: &give,
                give_chain: &give_chain,
                get_chain: &get_chain,
                max_rate: at_quote.max_rate.as_deref(),
                expires: &at_quote.expires,
                yes: at_quote.yes,
            })
        }
        Command::Swap {
            command: Some(command),
            ..
        } => match command {
            SwapCommand::Offer {
                from,
                give,
                give_chain,
                get,
                get_chain,
                to,
                expires,
                wait,
            } => context()?.swap_offer(
                &from,
                &give,
                &give_chain,
                &get,
                &get_chain,
                &to,
                &expires,
                wait,
            ),
            SwapCommand::Accept { offer, from, wait } => {
                context()?.swap_accept(&offer, &from, wait)
            }
            SwapCommand::Claim { id, from } => context()?.swap_claim(&id, &from),
            SwapCommand::Status { id } => context()?.swap_status(&id),
            SwapCommand::Refund { id, from } => context()?.swap_refund(&id, &from),
        },
        Command::Bench { dir, command } => bench(&dir, command),
    }
}

fn bench(dir: &std::path::Path, command: BenchCommand) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let dir = BenchDir {
        dir: dir.canonicalize()?,
    };
    let summary = match command {
        BenchCommand::Density {
            chains,
            hosts,
            idle_seconds,
        } => {
            let options = DensityOptions {
                chains,
                hosts,
                idle: Duration::from_secs(idle_seconds),
            };
            density::report(&dir, &density::run(&dir, &options)?)?
        }
        BenchCommand::Load {
            hosts,
            chains,
            rate,
            duration,
            zipf,
            seed,
            in_process,
        } => {
            let rate: Rate = rate.parse().map_err(anyhow::Error::msg)?;
            let options = LoadOptions {
                hosts,
                chains,
                rate,
                duration: Duration::from_secs(duration.max(1)),
                zipf,
                seed,
                in_process,
            };
            load::report(&dir, &load::run(&dir, &options)?)?
        }
        BenchCommand::Quotes {
            currencies,
            exchangers,
            queries,
            connections,
        } => {
            let options = QuotesOptions {
                currencies: currencies.max(1),
                exchangers: exchangers.max(1),
                queries: queries.max(1),
                connections: connections.max(1),
            };
            quotes::report(&dir, &quotes::run(&dir, &options)?)?
        }
        BenchCommand::Anchor { chains, tick } => {
            let options = AnchorOptions {
                chains: chains.max(1),
                tick: tick.max(1),
            };
            anchor::report(&dir, &anchor::run(&dir, &options)?)?
        }
    };
    println!("{summary}");
    Ok(())
}

fn host(command: HostCommand) -> Result<()> {
    match command {
        HostCommand::Keygen { out } => {
            let key = SecretKey::generate(rand_core::OsRng);
            write_key(&out, &key)?;
            println!("{}", key.host_id());
            Ok(())
        }
        HostCommand::Run {
            config,
            data_dir,
            key_file,
            listen,
            api,
            peers,
            tick_ms,
            root,
            stop_with_stdin,
        } => {
            let overrides = Overrides {
                data_dir,
                key_file,
                listen,
                api,
                peers,
                tick_ms,
                root,
            };
            let config = HostConfig::load(config.as_deref(), overrides)?;
            let runtime = tokio::runtime::Runtime::new()?;
            runtime.block_on(async {
                let mut node = Node::start(config).await?;
                println!(
                    "host {} api http://{} p2p {}",
                    node.handle.host, node.api_address, node.p2p_address
                );
                let (closed, stdin_closed) = tokio::sync::oneshot::channel::<()>();
                if stop_with_stdin {
                    // A plain thread: a blocked read must not hold up the runtime's shutdown.
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
                        let _ = closed.send(());
                    });
                }
                let stdin_closed = async {
                    match stdin_closed.await {
                        Ok(()) => (),
                        Err(_) => std::future::pending().await,
                    }
                };
                let mut terminate =
                    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
                tokio::select! {
                    result = node.failed() => result?,
                    _ = tokio::signal::ctrl_c() => node.stop().await?,
                    _ = terminate.recv() => node.stop().await?,
                    () = stdin_closed => node.stop().await?,
                }
                Ok(())
            })
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_command_line_is_well_formed() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
