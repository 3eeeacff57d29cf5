//! What the chain, transaction and wallet commands do, apart from how their flags are parsed:
//! find the hosts, check what can be checked before signing, sign, submit, show the result.

use std::collections::HashMap;
use std::path::PathBuf;

use anyhow::{anyhow, bail, Context as _, Result};
use myriad_api_types::{ChainInfo, TxStatusBody};
use myriad_client::client::{Client, ClientError};
use myriad_client::genesis::{checked_genesis, now_ms, validator_list};
use myriad_client::network::Network;
use myriad_client::transaction::SendOptions;
use myriad_client::wallet::{PassphraseSource, Unlocked, Wallet, WalletError};
use myriad_devnet::Devnet;
use myriad_types::{
    format_amount, parse_amount, Address, Amount, ChainId, Hash, HostId, Memo, SecretKey,
    SignedGenesis, Symbol, TxKind, DECIMALS_MAX, MEMO_BYTES_MAX,
};
use serde_json::json;

/// Everything a command needs: the hosts, the wallet, how to print.
#[derive(Debug)]
pub struct Context {
    pub network: Network,
    pub wallet: PathBuf,
    pub passphrase: PassphraseSource,
    /// The devnet whose hosts and wallet are used, if any.
    pub devnet: Option<Devnet>,
    pub json: bool,
}

/// A chain with what is needed to read and write amounts of its currency.
#[derive(Debug)]
pub(crate) struct Chain {
    pub(crate) id: ChainId,
    pub(crate) client: Client,
    pub(crate) info: ChainInfo,
}

impl Chain {
    pub(crate) fn amount(&self, amount: Amount) -> String {
        format!(
            "{} {}",
            format_amount(amount, self.info.decimals),
            self.info.symbol
        )
    }

    pub(crate) fn parse(&self, text: &str) -> Result<Amount> {
        let amount = parse_amount(text, self.info.decimals)?;
        if amount == 0 {
            bail!("amount must be greater than zero");
        }
        Ok(amount)
    }
}

fn amount_of(text: &str) -> Result<Amount> {
    text.parse::<Amount>()
        .with_context(|| format!("stored amount `{text}` is not a number"))
}

impl Context {
    pub(crate) fn print(&self, human: impl std::fmt::Display, machine: serde_json::Value) {
        if self.json {
            println!("{machine}");
        } else {
            println!("{human}");
        }
    }

    pub(crate) fn open_wallet(&self) -> Result<Wallet> {
        Ok(Wallet::open(&self.wallet)?)
    }

    /// The secret key `name` (a wallet name or address), unlocked with the passphrase.
    pub(crate) fn signer(&self, name: &str) -> Result<SecretKey> {
        let (wallet, unlocked) = self.unlocked_wallet(name)?;
        Ok(wallet.secret(&unlocked, name)?)
    }

    /// The wallet, unlocked with the passphrase, once it is known to hold `name`.
    pub(crate) fn unlocked_wallet(&self, name: &str) -> Result<(Wallet, Unlocked)> {
        let wallet = self.open_wallet()?;
        wallet.entry(name)?;
        let passphrase = self.passphrase.read(
            &format!("Passphrase for {}: ", wallet.path().display()),
            false,
        )?;
        let unlocked = wallet.unlock(&passphrase)?;
        Ok((wallet, unlocked))
    }

    /// An account given as `acct1…` or as a wallet name.
    pub(crate) fn address(&self, text: &str) -> Result<Address> {
        if let Ok(address) = text.parse::<Address>() {
            return Ok(address);
        }
        let wallet = Wallet::open(&self.wallet).with_context(|| {
            format!("`{text}` is not an address (acct1…), so it was looked up as a wallet name")
        })?;
        Ok(wallet.entry(text)?.address)
    }

    /// A function giving the wallet name of an address, or the address itself.
    pub(crate) fn namer(&self) -> impl Fn(&str) -> String {
        let names: HashMap<String, String> = Wallet::open(&self.wallet)
            .map(|w| {
                w.entries()
                    .iter()
                    .map(|e| (e.address.to_string(), e.name.clone()))
                    .collect()
            })
            .unwrap_or_default();
        move |address: &str| {
            names
                .get(address)
                .cloned()
                .unwrap_or_else(|| address.to_owned())
        }
    }

    pub(crate) fn chain_id(&self, chain: Option<&str>) -> Result<ChainId> {
        if let Some(text) = chain {
            return text
                .parse()
                .with_context(|| format!("`{text}` is not a chain id (chain1…)"));
        }
        self.devnet
            .as_ref()
            .and_then(|d| d.demo_chain())
            .ok_or_else(|| anyhow!("which chain? pass --chain chain1… (see `myriad chain list`)"))
    }

    pub(crate) fn chain(&self, chain: Option<&str>) -> Result<Chain> {
        let id = self.chain_id(chain)?;
        let (client, info) = self.network.chain(&id)?;
        Ok(Chain { id, client, info })
    }

    /// Signs `kind` from `sender` with the next nonce and submits it.
    fn send(
        &self,
        chain: &Chain,
        sender: &SecretKey,
        kind: TxKind,
        what: String,
        options: SendOptions,
    ) -> Result<()> {
        let sent = chain.client.send(&chain.id, sender, kind, options)?;
        let latency_ms = sent.latency.as_millis();
        self.report(&what, &sent.status, options.wait.then_some(latency_ms))
    }

    pub(crate) fn report(
        &self,
        what: &str,
        status: &TxStatusBody,
        latency_ms: Option<u128>,
    ) -> Result<()> {
        if status.status == "rejected" {
            bail!(
                "{what}: rejected: {}",
                status.reason.as_deref().unwrap_or("no reason given")
            );
        }
        let human = match (status.status.as_str(), status.height, latency_ms) {
            ("committed", Some(height), Some(ms)) => {
                format!(
                    "{what}\ntx {}  committed at height {height} in {ms} ms",
                    status.hash
                )
            }
            ("committed", Some(height), None) => {
                format!("{what}\ntx {}  committed at height {height}", status.hash)
            }
            _ => format!(
                "{what}\ntx {}  pending (follow it with `myriad tx status {}`)",
                status.hash, status.hash
            ),
        };
        self.print(
            human,
            json!({"tx": status.hash, "status": status.status, "chain_id": status.chain_id,
                "height": status.height, "latency_ms": latency_ms}),
        );
        Ok(())
    }

    /// The wallet entry that holds the chain's owner key.
    fn owner(&self, chain: &Chain, action: &str) -> Result<SecretKey> {
        let wallet = self.open_wallet()?;
        let Some(entry) = wallet
            .entries()
            .iter()
            .find(|e| e.address.to_string() == chain.info.owner)
        else {
            bail!(
                "not the owner: only the owner {} of chain {} may {action}, and wallet {} holds no key for it",
                chain.info.owner,
                chain.id,
                self.wallet.display()
            );
        };
        let name = entry.name.clone();
        self.signer(&name)
    }

    pub fn chain_create(
        &self,
        owner: &str,
        symbol: &str,
        decimals: u8,
        max_supply: Option<&str>,
        validators: &[(HostId, u64)],
    ) -> Result<()> {
        let symbol = Symbol::new(symbol).map_err(|e| anyhow!(e))?;
        if decimals > DECIMALS_MAX {
            bail!("--decimals {decimals}: a currency has at most {DECIMALS_MAX} decimals");
        }
        let max_supply = max_supply
            .map(|text| parse_amount(text, decimals))
            .transpose()?;
        let key = self.signer(owner)?;
        let genesis = SignedGenesis::sign(
            checked_genesis(
                key.address(),
                symbol.clone(),
                decimals,
                max_supply,
                validators,
                now_ms(),
                0,
            )?,
            &key,
        );
        let hosts: Vec<HostId> = validators.iter().map(|(host, _)| *host).collect();
        let Some(client) = self.network.named(&hosts).into_iter().next() else {
            let urls: Vec<&str> = self.network.clients.iter().map(Client::url).collect();
            bail!(
                "none of the hosts at {} is among the validators (or none answers): pass --host with the API URL of one of them",
                urls.join(", ")
            );
        };
        let created = client.create_chain(&genesis)?;
        self.print(
            format!(
                "created chain {} ({}, {decimals} decimals, owner {}) on {}\nvalidators: {}",
                created.chain_id,
                symbol.as_str(),
                self.namer()(&key.address().to_string()),
                client.url(),
                hosts
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            json!({"chain_id": created.chain_id, "symbol": symbol.as_str(), "decimals": decimals,
                "owner": key.address().to_string()}),
        );
        Ok(())
    }

    pub fn chain_info(&self, chain: Option<&str>) -> Result<()> {
        let chain = self.chain(chain)?;
        let info = &chain.info;
        let mut human = format!(
            "chain      {}\nsymbol     {} ({} decimals)\nowner      {} ({})\nheight     {}\nhead       {}\nstate root {}\nsupply     {}\n",
            info.chain_id,
            info.symbol,
            info.decimals,
            info.owner,
            self.namer()(&info.owner),
            info.height,
            info.head_hash,
            info.state_root,
            chain.amount(amount_of(&info.supply)?),
        );
        if let Some(max) = &info.max_supply {
            human.push_str(&format!("max supply {}\n", chain.amount(amount_of(max)?)));
        }
        human.push_str("validators");
        for v in &info.validators {
            human.push_str(&format!("\n  {} power {}", v.host, v.power));
        }
        self.print(human, serde_json::to_value(info)?);
        Ok(())
    }

    pub fn chain_list(&self, limit: usize) -> Result<()> {
        let (client, _) = self.network.any()?;
        let chains = collect_pages(limit, |after, size| {
            let page = client.chains(after, size)?;
            Ok((page.chains, page.next))
        })?;
        let mut human = format!("{} chains on {}", chains.len(), client.url());
        for c in &chains {
            let supply = format_amount(amount_of(&c.supply)?, c.decimals);
            human.push_str(&format!(
                "\n{}  {:<8} height {:<6} supply {supply}",
                c.chain_id, c.symbol, c.height
            ));
        }
        self.print(human, json!({ "chains": chains }));
        Ok(())
    }

    pub fn mint(
        &self,
        chain: Option<&str>,
        to: &str,
        amount: &str,
        options: SendOptions,
    ) -> Result<()> {
        let chain = self.chain(chain)?;
        let amount = chain.parse(amount)?;
        let to_address = self.address(to)?;
        let owner = self.owner(&chain, "mint")?;
        let what = format!("mint {} to {to} on {}", chain.amount(amount), chain.id);
        self.send(
            &chain,
            &owner,
            TxKind::Mint {
                to: to_address,
                amount,
            },
            what,
            options,
        )
    }

    /// Refuses to sign what the sender's balance cannot cover.
    fn check_balance(
        &self,
        chain: &Chain,
        sender: &str,
        address: &Address,
        need: Amount,
    ) -> Result<()> {
        let have = amount_of(&chain.client.account(&chain.id, address)?.balance)?;
        if have < need {
            bail!(
                "insufficient balance: {sender} has {} on chain {}, needs {}",
                chain.amount(have),
                chain.id,
                chain.amount(need)
            );
        }
        Ok(())
    }

    pub fn transfer(
        &self,
        chain: Option<&str>,
        from: &str,
        to: &str,
        amount: &str,
        memo: Option<&str>,
        options: SendOptions,
    ) -> Result<()> {
        let chain = self.chain(chain)?;
        let amount = chain.parse(amount)?;
        let to_address = self.address(to)?;
        let memo = Memo::new(memo.unwrap_or_default().as_bytes().to_vec()).map_err(|e| {
            anyhow!(
                "memo is {} bytes, over the limit of {MEMO_BYTES_MAX}",
                e.len()
            )
        })?;
        let from_address = self.address(from)?;
        self.check_balance(&chain, from, &from_address, amount)?;
        let sender = self.signer(from)?;
        let what = format!(
            "transfer {} from {from} to {to} on {}",
            chain.amount(amount),
            chain.id
        );
        let kind = TxKind::Transfer {
            to: to_address,
            amount,
            memo,
        };
        self.send(&chain, &sender, kind, what, options)
    }

    pub fn burn(
        &self,
        chain: Option<&str>,
        from: &str,
        amount: &str,
        options: SendOptions,
    ) -> Result<()> {
        let chain = self.chain(chain)?;
        let amount = chain.parse(amount)?;
        let from_address = self.address(from)?;
        self.check_balance(&chain, from, &from_address, amount)?;
        let sender = self.signer(from)?;
        let what = format!("burn {} from {from} on {}", chain.amount(amount), chain.id);
        self.send(&chain, &sender, TxKind::Burn { amount }, what, options)
    }

    pub fn balance(&self, chain: Option<&str>, account: &str) -> Result<()> {
        let chain = self.chain(chain)?;
        let address = self.address(account)?;
        let info = chain.client.account(&chain.id, &address)?;
        let balance = amount_of(&info.balance)?;
        self.print(
            format!(
                "{}  ({account} on {} at height {})",
                chain.amount(balance),
                chain.id,
                info.height
            ),
            json!({"chain_id": chain.id.to_string(), "address": address.to_string(),
                "balance": info.balance, "display": format_amount(balance, chain.info.decimals),
                "symbol": chain.info.symbol, "nonce": info.nonce, "height": info.height}),
        );
        Ok(())
    }

    pub fn history(&self, chain: Option<&str>, account: &str, limit: usize) -> Result<()> {
        let chain = self.chain(chain)?;
        let address = self.address(account)?;
        let entries = collect_pages(limit, |before, size| {
            let page = chain.client.history(&chain.id, &address, before, size)?;
            Ok((page.txs, page.next))
        })?;
        let mut human = format!(
            "{} transactions of {account} on {}, newest first",
            entries.len(),
            chain.id
        );
        let who = self.namer();
        for entry in &entries {
            let tx = &entry.tx;
            let amount = match &tx.amount {
                Some(amount) => chain.amount(amount_of(amount)?),
                None => String::new(),
            };
            let parties = match &tx.to {
                Some(to) => format!("{} -> {}", who(&tx.sender), who(to)),
                None => who(&tx.sender),
            };
            human.push_str(&format!(
                "\nheight {:<6} {:<18} {amount:>20}  {parties}  tx {}",
                entry.height, tx.kind, tx.hash
            ));
        }
        self.print(human, json!({ "chain_id": chain.id.to_string(), "address": address.to_string(), "txs": entries }));
        Ok(())
    }

    pub fn validators_set(
        &self,
        chain: Option<&str>,
        validators: &[(HostId, u64)],
        options: SendOptions,
    ) -> Result<()> {
        let chain = self.chain(chain)?;
        let owner = self.owner(&chain, "set the validators")?;
        let list = validator_list(validators)?;
        let what = format!(
            "set the validators of {} to {}",
            chain.id,
            validators
                .iter()
                .map(|(host, power)| format!("{host}:{power}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        self.send(
            &chain,
            &owner,
            TxKind::SetValidators { validators: list },
            what,
            options,
        )
    }

    pub fn tx_status(&self, hash: &str) -> Result<()> {
        let hash: Hash = hash
            .parse()
            .with_context(|| format!("`{hash}` is not a transaction hash (64 hex digits)"))?;
        let mut found: Option<TxStatusBody> = None;
        let mut last_error = None;
        for client in &self.network.clients {
            match client.tx_status(&hash) {
                Ok(status) if status.status != "pending" => {
                    found = Some(status);
                    break;
                }
                Ok(status) => found = Some(status),
                Err(error) => last_error = Some(error),
            }
        }
        let Some(status) = found else {
            return Err(match last_error {
                Some(ClientError::NotFound { .. }) | None => {
                    anyhow!("transaction {hash} is unknown to every host asked")
                }
                Some(error) => error.into(),
            });
        };
        let human = match (&status.status[..], status.height, &status.reason) {
            ("committed", Some(height), _) => format!(
                "committed at height {height} on {}",
                status.chain_id.as_deref().unwrap_or("?")
            ),
            ("rejected", _, Some(reason)) => format!("rejected: {reason}"),
            (other, _, _) => other.to_owned(),
        };
        self.print(human, serde_json::to_value(&status)?);
        Ok(())
    }

    pub fn wallet_new(&self, name: &str) -> Result<()> {
        self.wallet_add(name, SecretKey::generate(rand_core::OsRng))
    }

    /// Adds `key` to the wallet (creating the wallet if needed).
    pub fn wallet_add(&self, name: &str, key: SecretKey) -> Result<()> {
        let mut wallet = Wallet::open_or_new(&self.wallet)?;
        let creating = wallet.entries().is_empty();
        let passphrase = self.passphrase.read(
            &format!("Passphrase for {}: ", self.wallet.display()),
            creating,
        )?;
        if creating && passphrase.is_empty() {
            return Err(WalletError::EmptyPassphrase.into());
        }
        let unlocked = wallet.unlock(&passphrase)?;
        let address = wallet.add(&unlocked, name, &key)?;
        wallet.save()?;
        let devnet_wallet = self
            .devnet
            .as_ref()
            .is_some_and(|d| d.wallet_path() == self.wallet);
        let note = if devnet_wallet {
            "; this is the devnet's wallet, which `myriad devnet --fresh` deletes: use --wallet for keys to keep"
        } else {
            ""
        };
        self.print(
            format!(
                "{name}  {address}  (saved in {}{note})",
                self.wallet.display()
            ),
            json!({"name": name, "address": address.to_string()}),
        );
        Ok(())
    }

    pub fn wallet_list(&self) -> Result<()> {
        let wallet = self.open_wallet()?;
        let width = wallet
            .entries()
            .iter()
            .map(|e| e.name.len())
            .max()
            .unwrap_or(0);
        let human: Vec<String> = wallet
            .entries()
            .iter()
            .map(|e| format!("{:<width$}  {}", e.name, e.address))
            .collect();
        let machine: Vec<_> = wallet
            .entries()
            .iter()
            .map(|e| json!({"name": e.name, "address": e.address.to_string()}))
            .collect();
        self.print(human.join("\n"), json!({ "keys": machine }));
        Ok(())
    }

    /// Shows a key's address and public key; its secret only when `secret` is asked for.
    pub fn wallet_show(&self, name: &str, secret: bool) -> Result<()> {
        let wallet = self.open_wallet()?;
        let entry = wallet.entry(name)?;
        let mut human = format!(
            "name       {}\naddress    {}\npublic key {}",
            entry.name,
            entry.address,
            hex::encode(entry.address.0)
        );
        let mut machine = json!({"name": entry.name, "address": entry.address.to_string(),
            "public_key": hex::encode(entry.address.0)});
        if secret {
            let key = self.signer(name)?;
            let seed =
                zeroize::Zeroizing::new(hex::encode(*zeroize::Zeroizing::new(key.to_seed())));
            human.push_str(&format!("\nsecret     {}", *seed));
            machine["secret"] = json!(*seed);
        }
        self.print(human, machine);
        Ok(())
    }

    pub fn wallet_export_public(&self, name: &str) -> Result<()> {
        let entry_address = self.open_wallet()?.entry(name)?.address;
        self.print(
            entry_address.to_string(),
            json!({"address": entry_address.to_string(), "public_key": hex::encode(entry_address.0)}),
        );
        Ok(())
    }
}

/// Up to `limit` entries of a paged list: `fetch(cursor, size)` answers one page (of at most
/// `size` entries) and the cursor of the next, if there is one.
fn collect_pages<T>(
    limit: usize,
    mut fetch: impl FnMut(Option<&str>, usize) -> Result<(Vec<T>, Option<String>)>,
) -> Result<Vec<T>> {
    let mut entries = Vec::new();
    let mut cursor: Option<String> = None;
    while entries.len() < limit {
        let size = (limit - entries.len()).min(myriad_api_types::PAGE_ENTRIES_MAX);
        let (page, next) = fetch(cursor.as_deref(), size)?;
        entries.extend(page);
        match next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    Ok(entries)
}

/// Parses `host1…[:power],…` (power 1 when left out); `resolve` turns names into host ids.
pub fn parse_validators(
    text: &str,
    resolve: impl Fn(&str) -> Option<HostId>,
) -> Result<Vec<(HostId, u64)>> {
    text.split(',')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(|part| {
            let (host, power) = match part.rsplit_once(':') {
                Some((host, power)) => (
                    host,
                    power.parse::<u64>().with_context(|| {
                        format!("validator `{part}`: power `{power}` is not a number")
                    })?,
                ),
                None => (part, 1),
            };
            let id = match host.parse::<HostId>() {
                Ok(id) => id,
                Err(_) => resolve(host).ok_or_else(|| {
                    anyhow!(
                        "validator `{host}` is neither a host id (host1…) nor a devnet host name"
                    )
                })?,
            };
            Ok((id, power))
        })
        .collect()
}
