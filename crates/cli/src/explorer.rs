//! `myriad explorer`: the block explorer served on its own, for a browser on this machine,
//! reading the API of a host that follows the root chain (and, for chains that host does not
//! hold, the hosts the root's directory names). Every host serves the same explorer at
//! `/explorer/`; this one serves it from a machine the user trusts.

use std::net::SocketAddr;

use anyhow::{bail, Context as _, Result};
use myriad_api::ApiLimits;
use myriad_client::client::Client;
use myriad_types::ChainId;

/// Serves the explorer on `listen` until Ctrl-C, reading the host at `root`, and trusting
/// the root chain `root_chain` (by default the one that host follows, as it names it now).
pub fn serve(root: &str, root_chain: Option<ChainId>, listen: SocketAddr) -> Result<()> {
    let root = root.trim_end_matches('/').to_owned();
    let named: ChainId = Client::new(&root)
        .root_info()
        .with_context(|| format!("the host at {root} does not serve a root chain"))?
        .chain_id
        .parse()
        .context("the host names a root chain id that does not parse")?;
    let trusted = root_chain.unwrap_or(named);
    if trusted != named {
        bail!("the host at {root} follows root chain {named}, not {trusted}");
    }
    let runtime = tokio::runtime::Runtime::new().context("cannot start the runtime")?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        let address = listener
            .local_addr()
            .context("cannot read the listening address")?;
        println!(
            "explorer http://{address}/explorer/ reading {root}, trusting root chain {trusted}; Ctrl-C stops it"
        );
        let limits = ApiLimits::default();
        myriad_api::serve_explorer(listener, root, trusted.to_string(), limits, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await;
        Ok(())
    })
}
