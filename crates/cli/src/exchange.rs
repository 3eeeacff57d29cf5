//! Exchanging at an exchanger's quote: `myriad quotes A B` lists a pair's book, `myriad swap
//! --give … --give-chain A --get-chain B` takes the best quote that covers the amount and
//! runs the swap through, and `myriad exchanger run` runs an exchanger.

use std::collections::HashMap;
use std::io::{BufRead, IsTerminal};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _, Result};
use myriad_client::genesis::now_ms;
use myriad_client::swap::MARGIN_MIN_MS;
use myriad_client::transaction::SendOptions;
use myriad_client::wallet::{PassphraseSource, Wallet};
use myriad_exchanger::{Exchanger, ExchangerConfig};
use myriad_types::{
    format_amount, EscrowId, EscrowState, Memo, Rate, Secret, SignedQuote, SwapOffer, TxKind,
};
use serde_json::json;

use crate::commands::{Chain, Context};
use crate::swap::parse_duration;

/// A quote is taken only while it has at least this long to live: the lock must commit
/// before it expires.
const QUOTE_LEFT_MIN_MS: u64 = 10_000;
/// How often the exchanger's lock is looked for.
const COUNTER_POLL: Duration = Duration::from_millis(200);
/// The quotes of a pair `myriad quotes` shows.
const QUOTES_SHOWN: usize = 32;

/// What `myriad swap --give …` takes.
#[derive(Debug)]
pub struct QuoteSwap<'a> {
    pub from: &'a str,
    pub give: &'a str,
    pub give_chain: &'a str,
    pub get_chain: &'a str,
    /// The most of the give currency to pay for one whole unit of the get currency.
    pub max_rate: Option<&'a str>,
    pub expires: &'a str,
    pub yes: bool,
}

/// "1 A = x B" in whole units, for display.
fn rate_text(rate: &Rate, give: &Chain, get: &Chain) -> String {
    // One whole unit of give, converted, in get's base units.
    let one = 10u128.checked_pow(u32::from(give.info.decimals));
    let got = one.and_then(|one| rate.convert(one)).unwrap_or(0);
    format!(
        "1 {} = {} {}",
        give.info.symbol,
        format_amount(got, get.info.decimals),
        get.info.symbol
    )
}

impl Context {
    /// The live quotes of a pair from every host that has them, each checked (signature,
    /// pair), merged by hash, best first.
    fn book(&self, give: &Chain, get: &Chain) -> Result<Vec<SignedQuote>> {
        let mut quotes: HashMap<_, SignedQuote> = HashMap::new();
        let mut errors = Vec::new();
        for client in &self.network.clients {
            match client.quotes(&give.id, &get.id, QUOTES_SHOWN) {
                Ok(found) => quotes.extend(found.into_iter().map(|q| (q.hash(), q))),
                Err(error) => errors.push(error.to_string()),
            }
        }
        if quotes.is_empty() && !errors.is_empty() {
            bail!("no host served the book: {}", errors.join("; "));
        }
        let now = now_ms();
        let mut quotes: Vec<SignedQuote> = quotes
            .into_values()
            .filter(|q| q.quote.expires_at_ms > now)
            .collect();
        // The newest quote of each exchanger only: a host that has not heard of its
        // replacement yet still serves the older one.
        quotes.sort_by_key(|q| std::cmp::Reverse(q.quote.sequence));
        let mut seen = std::collections::HashSet::new();
        quotes.retain(|q| seen.insert(q.quote.exchanger));
        quotes.sort_by(|a, b| a.quote.cmp_best_first(&b.quote));
        Ok(quotes)
    }

    pub fn quotes_list(&self, give_chain: &str, get_chain: &str) -> Result<()> {
        let give = self.chain(Some(give_chain))?;
        let get = self.chain(Some(get_chain))?;
        let quotes = self.book(&give, &get)?;
        let now = now_ms();
        let mut lines = vec![format!(
            "{} quotes for {} → {}, best first",
            quotes.len(),
            give.info.symbol,
            get.info.symbol
        )];
        let mut machine = Vec::new();
        for signed in &quotes {
            let q = &signed.quote;
            lines.push(format!(
                "{}  seq {}  {} to {}  expires in {} s  exchanger {}  quote {}",
                rate_text(&q.rate, &give, &get),
                q.sequence,
                give.amount(q.min_give),
                give.amount(q.max_give),
                q.expires_at_ms.saturating_sub(now) / 1000,
                q.exchanger,
                signed.hash()
            ));
            machine.push(json!({
                "hash": signed.hash().to_string(), "exchanger": q.exchanger.to_string(),
                "rate": {"give": q.rate.give.to_string(), "get": q.rate.get.to_string()},
                "min_give": q.min_give.to_string(), "max_give": q.max_give.to_string(),
                "expires_at_ms": q.expires_at_ms, "sequence": q.sequence,
            }));
        }
        self.print(lines.join("\n"), json!({"quotes": machine}));
        Ok(())
    }

    /// Takes the best live quote that covers the amount (within `--max-rate`), asks to
    /// confirm, locks with the quote's hash as the memo, waits for the exchanger's lock,
    /// checks it as committed and claims it.
    pub fn swap_at_quote(&self, request: &QuoteSwap<'_>) -> Result<()> {
        let started = Instant::now();
        let give = self.chain(Some(request.give_chain))?;
        let get = self.chain(Some(request.get_chain))?;
        if give.id == get.id {
            bail!("a swap is between two chains: --give-chain and --get-chain are the same");
        }
        let amount = give.parse(request.give)?;
        let expires_in = parse_duration(request.expires)?;
        if expires_in < 2 * MARGIN_MIN_MS + QUOTE_LEFT_MIN_MS {
            bail!(
                "--expires {}: the exchanger needs at least {} s to lock and claim in turn",
                request.expires,
                (2 * MARGIN_MIN_MS + QUOTE_LEFT_MIN_MS) / 1000
            );
        }
        let floor = request
            .max_rate
            .map(|max| {
                Rate::from_decimal(max, get.info.decimals, give.info.decimals)
                    .map(|r| r.inverse())
                    .map_err(anyhow::Error::msg)
            })
            .transpose()?;
        let now = now_ms();
        let quotes = self.book(&give, &get)?;
        let Some(signed) = quotes.iter().find(|q| {
            q.quote.expires_at_ms > now + QUOTE_LEFT_MIN_MS && q.quote.get_for(amount).is_some()
        }) else {
            bail!(
                "no live quote for {} → {} covers {} ({} quotes in the book; `myriad quotes {} {}` lists them)",
                give.info.symbol,
                get.info.symbol,
                give.amount(amount),
                quotes.len(),
                give.id,
                get.id
            );
        };
        let quote = &signed.quote;
        if let Some(floor) = floor {
            if quote.rate.cmp_for_holder(&floor) == std::cmp::Ordering::Less {
                bail!(
                    "the best quote, {}, is worse than --max-rate {} (of {} for 1 {})",
                    rate_text(&quote.rate, &give, &get),
                    request.max_rate.unwrap_or_default(),
                    give.info.symbol,
                    get.info.symbol
                );
            }
        }
        let payout = quote.get_for(amount).unwrap_or(0);
        let expires_at_ms = now + expires_in;
        let summary = format!(
            "{} for {} at {} from exchanger {}\nthe exchanger must lock within {} s; otherwise your lock is refunded after {} s",
            give.amount(amount),
            get.amount(payout),
            rate_text(&quote.rate, &give, &get),
            quote.exchanger,
            (expires_in - 2 * MARGIN_MIN_MS) / 1000,
            expires_in / 1000
        );
        if !request.yes {
            if !std::io::stdin().is_terminal() {
                bail!("{summary}\nconfirm with --yes (no terminal to ask on)");
            }
            eprintln!("{summary}\nSwap? [y/N] ");
            let mut answer = String::new();
            std::io::stdin().lock().read_line(&mut answer)?;
            if !matches!(answer.trim(), "y" | "Y" | "yes") {
                bail!("not confirmed: nothing was locked");
            }
        }

        let (mut wallet, unlocked) = self.unlocked_wallet(request.from)?;
        let key = wallet.secret(&unlocked, request.from)?;
        let secret = Secret::random();
        let lock = TxKind::Lock {
            to: quote.give_account,
            amount,
            hash_lock: secret.hash_lock(),
            expires_at_ms,
            memo: Memo::new(signed.hash().0.to_vec()).map_err(|_| anyhow::anyhow!("memo"))?,
        };
        let options = SendOptions {
            wait: true,
            nonce: None,
        };
        let sent = give.client.send(&give.id, &key, lock, options)?;
        if sent.status.status != "committed" {
            bail!(
                "the lock was not committed: {}",
                sent.status.reason.as_deref().unwrap_or(&sent.status.status)
            );
        }
        let escrow = EscrowId::derive(&give.id, &key.address(), sent.nonce);
        let offer = SwapOffer {
            maker: key.address(),
            taker: quote.give_account,
            counter_locker: quote.get_account,
            give_chain: give.id,
            give: amount,
            get_chain: get.id,
            get: payout,
            hash_lock: secret.hash_lock(),
            escrow,
            expires_at_ms,
        };
        wallet.put_swap(
            &unlocked,
            &escrow.to_string(),
            &offer.to_text(),
            None,
            Some(&secret.0),
        )?;
        wallet.save()?;
        let watchers = self.register_watch(&offer, None);

        // The exchanger locks only while at least twice the margin is left.
        let deadline = expires_at_ms.saturating_sub(2 * MARGIN_MIN_MS);
        let counter = loop {
            let found = get.client.counter_escrow(&get.info, &offer).with_context(|| {
                format!(
                    "while waiting for the exchanger's lock on {}: your escrow {escrow} is refunded at {expires_at_ms} ms by the watchers, or by `myriad swap refund {escrow} --from {}`; `myriad swap status {escrow}` shows where it stands",
                    get.id, request.from
                )
            })?;
            if let Some(counter) = found {
                break counter;
            }
            if now_ms() >= deadline {
                bail!(
                    "the exchanger did not lock its side on {}: your {} in escrow {escrow} is refunded at {expires_at_ms} ms by the watchers ({watchers} took the swap), or by `myriad swap refund {escrow} --from {}`",
                    get.id,
                    give.amount(amount),
                    request.from
                );
            }
            std::thread::sleep(COUNTER_POLL);
        };
        self.register_watch(&offer, Some(&counter.id));
        if counter.state != EscrowState::Open || counter.to != key.address() {
            bail!(
                "the exchanger's escrow {} on {} is not open for you: your lock is refunded at {expires_at_ms} ms",
                counter.id,
                get.id
            );
        }
        if now_ms() + MARGIN_MIN_MS / 2 >= counter.expires_at_ms {
            bail!(
                "the exchanger's escrow {} expires too soon to claim safely: your lock is refunded at {expires_at_ms} ms",
                counter.id
            );
        }
        let claim = TxKind::Claim {
            escrow: counter.id,
            secret,
        };
        let claimed = get.client.send(&get.id, &key, claim, options)?;
        if claimed.status.status != "committed" {
            bail!(
                "the claim of escrow {} was not committed: {}",
                counter.id,
                claimed
                    .status
                    .reason
                    .as_deref()
                    .unwrap_or(&claimed.status.status)
            );
        }
        let elapsed = started.elapsed().as_millis();
        self.print(
            format!(
                "swapped {} for {} with exchanger {} in {elapsed} ms: you claimed escrow {} on {}; the exchanger claims yours ({escrow}) with the secret",
                give.amount(amount),
                get.amount(payout),
                quote.exchanger,
                counter.id,
                get.id
            ),
            json!({"id": escrow.to_string(), "quote": signed.hash().to_string(),
                "exchanger": quote.exchanger.to_string(), "give": amount.to_string(),
                "get": payout.to_string(), "counter": counter.id.to_string(),
                "claim_tx": claimed.status.hash, "watchers": watchers, "elapsed_ms": elapsed}),
        );
        Ok(())
    }
}

/// Runs an exchanger until interrupted: its loop on a thread, its status API here.
pub fn exchanger_run(config_path: &Path) -> Result<()> {
    let config = ExchangerConfig::load(config_path)?;
    let wallet = Wallet::open(&config.wallet)?;
    let passphrase = PassphraseSource {
        file: config.passphrase_file.clone(),
    }
    .read(
        &format!("Passphrase for {}: ", config.wallet.display()),
        false,
    )?;
    let unlocked = wallet.unlock(&passphrase)?;
    let key = wallet
        .secret(&unlocked, &config.key)
        .with_context(|| format!("the exchanger's key `{}`", config.key))?;
    let status = config.status;
    let pairs = config.pairs.len();
    let exchanger = Exchanger::open(config, key)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(status)
            .await
            .with_context(|| format!("cannot listen on {status}"))?;
        let bound = listener.local_addr()?;
        println!(
            "exchanger {} quoting {pairs} pairs; status at http://{bound}/status",
            exchanger.address()
        );
        let looping = exchanger.clone();
        let mut worker = tokio::task::spawn_blocking(move || looping.run());
        let (stop_serving, stopped) = tokio::sync::oneshot::channel::<()>();
        let router = myriad_exchanger::router(exchanger.clone());
        let server = tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await
        });
        let outcome = tokio::select! {
            () = interrupted() => {
                exchanger.stop();
                (&mut worker).await?
            }
            // The loop ends by itself only when its journal cannot be written.
            ended = &mut worker => ended?,
        };
        let _ = stop_serving.send(());
        server.await??;
        outcome
    })
}

/// Resolves on SIGINT or SIGTERM.
async fn interrupted() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut terminate) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = terminate.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
