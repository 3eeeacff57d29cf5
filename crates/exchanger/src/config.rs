//! `exchanger.toml`: the exchanger's wallet and key, the hosts it talks to, its pricing rule
//! per pair and its inventory limit per chain. Paths are relative to the file's directory.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use myriad_types::{ChainId, QUOTE_LIFETIME_MAX_MS};
use serde::Deserialize;

/// The most pairs one exchanger quotes.
pub const PAIRS_MAX: usize = 100_000;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExchangerConfig {
    /// The wallet holding the exchanger's key (the format `myriad wallet` writes).
    pub wallet: PathBuf,
    /// The wallet's passphrase, first line; without it, `MYRIAD_PASSPHRASE`.
    pub passphrase_file: Option<PathBuf>,
    /// The wallet entry whose key signs the quotes and holds the exchanger's account on
    /// every chain.
    pub key: String,
    /// API URLs of hosts of the chains it quotes; quotes go to all of them.
    pub hosts: Vec<String>,
    /// The durable journal. Default: `exchanger.journal` beside this file.
    #[serde(default = "default_journal")]
    pub journal: PathBuf,
    /// Where the status API (`GET /status`, `GET /metrics`) listens.
    pub status: SocketAddr,
    /// How often quotes are published afresh, in ms.
    #[serde(default = "default_refresh_ms")]
    pub refresh_ms: u64,
    /// How long a published quote stays firm, in ms (at most five minutes).
    #[serde(default = "default_quote_lifetime_ms")]
    pub quote_lifetime_ms: u64,
    /// How often the chains are looked at for new and open swaps, in ms.
    #[serde(default = "default_poll_ms")]
    pub poll_ms: u64,
    /// The longest a holder's escrow may run and still be taken, in ms: the exchanger's side
    /// stays locked up to half of it.
    #[serde(default = "default_swap_ms_max")]
    pub swap_ms_max: u64,
    #[serde(default, rename = "pair")]
    pub pairs: Vec<PairConfig>,
    #[serde(default)]
    pub inventory: Vec<InventoryConfig>,
}

fn default_journal() -> PathBuf {
    PathBuf::from("exchanger.journal")
}

fn default_refresh_ms() -> u64 {
    15_000
}

fn default_quote_lifetime_ms() -> u64 {
    60_000
}

fn default_poll_ms() -> u64 {
    500
}

fn default_swap_ms_max() -> u64 {
    3_600_000
}

fn chain_id<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<ChainId, D::Error> {
    let text = String::deserialize(deserializer)?;
    text.parse().map_err(serde::de::Error::custom)
}

/// One pair quoted: holders give `give`'s currency and get `get`'s.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PairConfig {
    #[serde(deserialize_with = "chain_id")]
    pub give: ChainId,
    #[serde(deserialize_with = "chain_id")]
    pub get: ChainId,
    /// A fixed rate: whole units of `get` for one whole unit of `give` (a decimal).
    pub rate: Option<String>,
    /// Without `rate`: the reference rate of the hosts' order book (the others' quotes),
    /// less this spread, in basis points.
    pub spread_bps: Option<u32>,
    /// The least and the most one swap gives, in whole units of `give` (decimals).
    pub min: String,
    pub max: String,
}

/// What the exchanger keeps of a chain's currency: it never locks below `reserve`, and
/// stops quoting the pairs that pay out of the chain when what is left above it cannot pay
/// their least swap.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InventoryConfig {
    #[serde(deserialize_with = "chain_id")]
    pub chain: ChainId,
    /// Whole units (a decimal).
    pub reserve: String,
}

impl ExchangerConfig {
    /// Reads and checks `path`; relative paths in it become relative to its directory.
    pub fn load(path: &Path) -> anyhow::Result<ExchangerConfig> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
        let mut config: ExchangerConfig =
            toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        config.wallet = base.join(&config.wallet);
        config.passphrase_file = config.passphrase_file.map(|p| base.join(p));
        config.journal = base.join(&config.journal);
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> anyhow::Result<()> {
        use anyhow::bail;
        if self.hosts.is_empty() {
            bail!("`hosts`: name at least one host's API URL");
        }
        if self.pairs.is_empty() {
            bail!("no `[[pair]]`: nothing to quote");
        }
        if self.pairs.len() > PAIRS_MAX {
            bail!("{} pairs, at most {PAIRS_MAX}", self.pairs.len());
        }
        if self.quote_lifetime_ms == 0 || self.quote_lifetime_ms > QUOTE_LIFETIME_MAX_MS {
            bail!("`quote_lifetime_ms` must be from 1 to {QUOTE_LIFETIME_MAX_MS}");
        }
        if self.refresh_ms == 0 || self.refresh_ms >= self.quote_lifetime_ms {
            bail!("`refresh_ms` must be positive and shorter than `quote_lifetime_ms`");
        }
        if self.poll_ms == 0 {
            bail!("`poll_ms` must be positive");
        }
        let shortest = 2 * myriad_client::swap::MARGIN_MIN_MS;
        if self.swap_ms_max < shortest {
            bail!(
                "`swap_ms_max` must be at least {shortest}: no swap is taken with less time left"
            );
        }
        for (n, pair) in self.pairs.iter().enumerate() {
            if pair.give == pair.get {
                bail!("pair {}: `give` and `get` are the same chain", n + 1);
            }
            match (&pair.rate, pair.spread_bps) {
                (Some(_), None) => {}
                (None, Some(spread)) if spread < 10_000 => {}
                (None, Some(_)) => bail!("pair {}: `spread_bps` must be below 10000", n + 1),
                _ => bail!(
                    "pair {}: give either `rate` (fixed) or `spread_bps` (around the reference rate)",
                    n + 1
                ),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_config_reads_with_paths_beside_it_and_refuses_what_cannot_work() {
        let dir = tempfile::tempdir().unwrap();
        let a = ChainId([1; 32]);
        let b = ChainId([2; 32]);
        let write = |extra: &str| {
            let path = dir.path().join("exchanger.toml");
            std::fs::write(
                &path,
                format!(
                    "wallet = \"wallet.json\"\nkey = \"desk\"\nhosts = [\"http://127.0.0.1:1\"]\nstatus = \"127.0.0.1:0\"\n{extra}"
                ),
            )
            .unwrap();
            ExchangerConfig::load(&path)
        };
        let pair = format!("[[pair]]\ngive = \"{a}\"\nget = \"{b}\"\nmin = \"1\"\nmax = \"10\"\n");
        let config = write(&format!("{pair}rate = \"0.5\"\n")).unwrap();
        assert_eq!(config.wallet, dir.path().join("wallet.json"));
        assert_eq!(config.journal, dir.path().join("exchanger.journal"));
        assert_eq!(config.pairs[0].rate.as_deref(), Some("0.5"));
        let error = write(&pair).unwrap_err().to_string();
        assert!(error.contains("either `rate`"), "{error}");
        let error = write(&format!("{pair}spread_bps = 10000\n"))
            .unwrap_err()
            .to_string();
        assert!(error.contains("below 10000"), "{error}");
        let error = write(&format!("{pair}rate = \"1\"\nquote_lifetime_ms = 900000\n"))
            .unwrap_err()
            .to_string();
        assert!(error.contains("quote_lifetime_ms"), "{error}");
        let error = write("").unwrap_err().to_string();
        assert!(error.contains("nothing to quote"), "{error}");
    }
}
