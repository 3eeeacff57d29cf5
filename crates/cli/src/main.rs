//! `myriad`: run a host.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use myriad::Node;
use myriad_host::{write_key, HostConfig, Overrides};
use myriad_types::SecretKey;

#[derive(Debug, Parser)]
#[command(
    name = "myriad",
    version,
    about = "Myriad: many small blockchains, validated together"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run or set up a host: one process validating every chain that names it.
    Host {
        #[command(subcommand)]
        command: HostCommand,
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
    },
    /// Create a host key file and print the host id.
    Keygen {
        #[arg(long)]
        out: PathBuf,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<(), Box<dyn std::error::Error>> {
    match cli.command {
        Command::Host {
            command: HostCommand::Keygen { out },
        } => {
            let key = SecretKey::generate(rand_core::OsRng);
            write_key(&out, &key)?;
            println!("{}", key.host_id());
            Ok(())
        }
        Command::Host {
            command:
                HostCommand::Run {
                    config,
                    data_dir,
                    key_file,
                    listen,
                    api,
                    peers,
                    tick_ms,
                },
        } => {
            let overrides = Overrides {
                data_dir,
                key_file,
                listen,
                api,
                peers,
                tick_ms,
            };
            let config = HostConfig::load(config.as_deref(), overrides)?;
            let runtime = tokio::runtime::Runtime::new()?;
            runtime.block_on(async {
                let mut node = Node::start(config).await?;
                println!(
                    "host {} api http://{} p2p {}",
                    node.handle.host, node.api_address, node.p2p_address
                );
                let mut terminate =
                    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
                tokio::select! {
                    result = node.failed() => result?,
                    _ = tokio::signal::ctrl_c() => node.stop().await?,
                    _ = terminate.recv() => node.stop().await?,
                }
                Ok(())
            })
        }
    }
}
