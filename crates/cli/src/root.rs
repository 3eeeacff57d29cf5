//! The root chain from the command line: a chain's directory entry (`chain info --root`) and
//! an account checked trusting only the root's committee (`verify account --root`).

use anyhow::{anyhow, Context as _, Result};
use myriad_client::client::Client;
use myriad_client::root::verify_account_via_root;
use myriad_types::ChainId;
use serde_json::json;

use crate::commands::Context;

impl Context {
    /// The root chain to trust: `--root-chain`, else the devnet's, else the one the root
    /// host names (said so in what was trusted).
    fn root_chain(&self, root: &Client, given: Option<&str>) -> Result<(ChainId, &'static str)> {
        if let Some(text) = given {
            let id = text
                .parse()
                .with_context(|| format!("`{text}` is not a chain id (chain1…)"))?;
            return Ok((id, "as given"));
        }
        if let Some(id) = self
            .devnet
            .as_ref()
            .map(|d| d.root_chain())
            .transpose()?
            .flatten()
        {
            return Ok((id, "as the devnet records it"));
        }
        let info = root.root_info()?;
        let id = info.chain_id.parse().map_err(|e| anyhow!("{e}"))?;
        Ok((
            id,
            "as the root host named it: pass --root-chain to trust your own",
        ))
    }

    /// A chain's entry in the root's directory: owner, symbol, validators and where to
    /// reach them, its last anchored head.
    pub fn chain_info_via_root(&self, chain: Option<&str>, root_url: &str) -> Result<()> {
        let chain = self.chain_id(chain)?;
        let root = Client::new(root_url);
        let entry = root.directory_chain(&chain)?;
        let mut human = format!(
            "chain      {}\nsymbol     {}\nowner      {}\nanchored   height {} at root height {} ({})\nhead       {}\nstate root {}\nvalidators set {} from height {}",
            entry.chain_id,
            entry.symbol,
            entry.owner,
            entry.height,
            entry.root_height,
            entry.anchored_at_ms,
            entry.block_hash,
            entry.state_root,
            entry.validators_hash,
            entry.validators_from,
        );
        for v in &entry.validators {
            let reach = match &v.entry {
                Some(e) => format!("api {}  p2p {}", e.api_url, e.p2p.join(" ")),
                None => "not in the directory".to_owned(),
            };
            human.push_str(&format!("\n  {} power {}  {reach}", v.host, v.power));
        }
        if let Some(forked) = entry.forked_at {
            human.push_str(&format!(
                "\nFORKED: the root was shown a certified block at height {forked} that cannot be of one chain with the anchored head"
            ));
        }
        self.print(human, serde_json::to_value(&entry)?);
        Ok(())
    }

    /// Checks an account on any chain trusting only the root's committee; fails (non-zero
    /// exit) on any mismatch, saying which step.
    pub fn verify_account(
        &self,
        chain: Option<&str>,
        who: &str,
        root_url: &str,
        root_chain: Option<&str>,
        host: Option<&str>,
    ) -> Result<()> {
        let chain = self.chain_id(chain)?;
        let address = self.address(who)?;
        let root = Client::new(root_url);
        let (root_id, why) = self.root_chain(&root, root_chain)?;
        let chain_host = host.map(Client::new);
        let checked =
            verify_account_via_root(&root, &root_id, &chain, &address, chain_host.as_ref())
                .with_context(|| {
                    format!("{who} on {chain} does NOT verify through root {root_id}")
                })?;
        let mut human = format!(
            "VERIFIED {who} ({address}) on {chain}: balance {} base units, nonce {}, at height {}\ntrusted:",
            checked.account.balance, checked.account.nonce, checked.height
        );
        let mut trusted = checked.trusted.clone();
        if let Some(first) = trusted.first_mut() {
            first.push_str(&format!(" ({why})"));
        }
        for line in &trusted {
            human.push_str(&format!("\n  - {line}"));
        }
        human.push_str("\nchecked:");
        for line in &checked.checked {
            human.push_str(&format!("\n  - {line}"));
        }
        self.print(
            human,
            json!({
                "verified": true,
                "chain_id": chain.to_string(),
                "address": address.to_string(),
                "balance": checked.account.balance.to_string(),
                "nonce": checked.account.nonce,
                "height": checked.height.0,
                "state_root": checked.state_root.to_string(),
                "root_chain_id": root_id.to_string(),
                "trusted": trusted,
                "checked": checked.checked,
            }),
        );
        Ok(())
    }
}
