//! `myriad explorer`: the block explorer served on its own, for a browser on this machine,
//! reading the API of a host that follows the root chain (and, for chains that host does not
//! hold, the hosts the root's directory names). Every host serves the same explorer at
//! `/explorer/`; this one serves it from a machine the user trusts.

use std::net::SocketAddr;

use anyhow::{Context as _, Result};
use myriad_api::ApiLimits;
use myriad_client::client::Client;

/// Serves the explorer on `listen` until Ctrl-C, reading the host at `root`.
pub fn serve(root: &str, listen: SocketAddr) -> Result<()> {
    let root = root.trim_end_matches('/').to_owned();
    let info = Client::new(&root)
        .root_info()
        .with_context(|| format!("the host at {root} does not serve a root chain"))?;
    let runtime = tokio::runtime::Runtime::new().context("cannot start the runtime")?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        let address = listener
            .local_addr()
            .context("cannot read the listening address")?;
        println!(
            "explorer http://{address}/explorer/ reading {root} (root chain {}); Ctrl-C stops it",
            info.chain_id
        );
        myriad_api::serve_explorer(listener, root, ApiLimits::default(), async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await;
        Ok(())
    })
}
