//! `myriad swap`: an atomic swap between two chains, step by step. Every step acts only on
//! committed state it has verified (proofs against certified blocks), waits for its own
//! transaction to commit, and refuses what would lose money, saying why.

use anyhow::{bail, Context as _, Result};
use myriad_client::genesis::now_ms;
use myriad_client::swap::{check_escrow, MARGIN_MIN_MS};
use myriad_client::transaction::{SendOptions, Sent};
use myriad_types::{Escrow, EscrowId, EscrowState, Memo, Secret, SecretKey, SwapOffer, TxKind};
use serde_json::json;

use crate::commands::{Chain, Context};

const WAIT: SendOptions = SendOptions {
    wait: true,
    nonce: None,
};

/// Sends a lock; with `wait`, returns once it is committed. A refusal or rejection is an
/// error with the host's reason.
fn send_lock(chain: &Chain, key: &SecretKey, lock: TxKind, wait: bool) -> Result<Sent> {
    let options = SendOptions { wait, nonce: None };
    let sent = chain.client.send(&chain.id, key, lock, options)?;
    let expected = if wait { "committed" } else { "pending" };
    if sent.status.status != expected {
        bail!(
            "the lock was not {expected}: {}",
            sent.status.reason.as_deref().unwrap_or(&sent.status.status)
        );
    }
    Ok(sent)
}

/// A duration such as `90s`, `30m`, `2h` or `1d`, in ms.
pub fn parse_duration(text: &str) -> Result<u64> {
    let (number, unit) = text.split_at(
        text.find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len()),
    );
    let number: u64 = number
        .parse()
        .with_context(|| format!("`{text}` is not a duration such as 90s, 30m, 2h or 1d"))?;
    let unit_ms = match unit {
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => bail!("`{text}`: a duration ends in s, m, h or d"),
    };
    Ok(number.saturating_mul(unit_ms))
}

/// What an escrow's state is, in words.
fn state_of(escrow: &Escrow) -> &'static str {
    match escrow.state {
        EscrowState::Open => "open",
        EscrowState::Claimed { .. } => "claimed",
        EscrowState::Refunded { .. } => "refunded",
    }
}

/// Refuses an escrow that is already claimed or refunded, saying which and where its funds
/// went (a watcher may have claimed or refunded it for its owner).
fn require_open(chain: &Chain, escrow: &Escrow) -> Result<()> {
    let went_to = match escrow.state {
        EscrowState::Open => return Ok(()),
        EscrowState::Claimed { .. } => escrow.to,
        EscrowState::Refunded { .. } => escrow.locker,
    };
    bail!(
        "escrow {} on {} is already {}: its {} went to {went_to}",
        escrow.id,
        chain.id,
        state_of(escrow),
        chain.amount(escrow.amount)
    );
}

/// A claim or refund the ledger rejected may have lost to another's (a watcher's): if the
/// escrow is closed now, says so and where its funds went.
fn lost_to_another(chain: &Chain, escrow: &EscrowId, sent: &Sent) -> Result<()> {
    if sent.status.status == "rejected" {
        let now = chain
            .client
            .committed_escrow(&chain.id, &chain.info, escrow)?;
        require_open(chain, &now)?;
    }
    Ok(())
}

fn escrow_json(chain: &Chain, escrow: Option<&Escrow>) -> serde_json::Value {
    match escrow {
        None => json!({"chain_id": chain.id.to_string(), "state": "not locked"}),
        Some(escrow) => json!({
            "chain_id": chain.id.to_string(),
            "escrow": escrow.id.to_string(),
            "state": state_of(escrow),
            "locker": escrow.locker.to_string(),
            "to": escrow.to.to_string(),
            "amount": escrow.amount.to_string(),
            "expires_at_ms": escrow.expires_at_ms,
        }),
    }
}

impl Context {
    /// Hands the swap to the watchers of the hosts of its two chains (those this command
    /// knows of), so that it finishes or is refunded even if its parties go offline.
    /// Returns how many watchers took it.
    pub(crate) fn register_watch(&self, offer: &SwapOffer, counter: Option<&EscrowId>) -> usize {
        let urls: Vec<String> = self
            .network
            .clients
            .iter()
            .map(|c| c.url().to_owned())
            .collect();
        self.network
            .clients
            .iter()
            .filter(|client| {
                client.chain(&offer.give_chain).is_ok() || client.chain(&offer.get_chain).is_ok()
            })
            .filter(|client| client.watch(offer, counter, &urls).is_ok())
            .count()
    }

    /// The swap named by `id`: an offer's text, or the offer's escrow id in this wallet.
    fn offer(&self, id: &str) -> Result<SwapOffer> {
        if id.starts_with(myriad_types::SWAP_OFFER_PREFIX) {
            return Ok(id.parse()?);
        }
        let wallet = self.open_wallet()?;
        let Some(entry) = wallet.swap(id) else {
            bail!(
                "wallet {} has no swap {id}: pass the offer itself (myriad-swap-2:…) instead",
                self.wallet.display()
            );
        };
        Ok(entry.offer.parse()?)
    }

    /// Both escrows of a swap as committed: the maker's, and the taker's once locked.
    fn escrows(&self, offer: &SwapOffer) -> Result<(Chain, Escrow, Chain, Option<Escrow>)> {
        let give = self.chain(Some(&offer.give_chain.to_string()))?;
        let get = self.chain(Some(&offer.get_chain.to_string()))?;
        let maker = give
            .client
            .committed_escrow(&give.id, &give.info, &offer.escrow)?;
        let taker = get.client.counter_escrow(&get.info, offer)?;
        Ok((give, maker, get, taker))
    }

    #[allow(clippy::too_many_arguments)]
    pub fn swap_offer(
        &self,
        from: &str,
        give: &str,
        give_chain: &str,
        get: &str,
        get_chain: &str,
        to: &str,
        expires: &str,
        wait: bool,
    ) -> Result<()> {
        let give_chain = self.chain(Some(give_chain))?;
        let get_chain = self.chain(Some(get_chain))?;
        if give_chain.id == get_chain.id {
            bail!("a swap is between two chains: --give-chain and --get-chain are the same");
        }
        let give_amount = give_chain.parse(give)?;
        let get_amount = get_chain.parse(get)?;
        let taker = self.address(to)?;
        let expires_in = parse_duration(expires)?;
        if expires_in < 2 * MARGIN_MIN_MS {
            bail!(
                "--expires {expires}: the taker needs at least {} s to lock and claim in turn",
                2 * MARGIN_MIN_MS / 1000
            );
        }
        let (mut wallet, unlocked) = self.unlocked_wallet(from)?;
        let key = wallet.secret(&unlocked, from)?;
        let secret = Secret::random();
        let expires_at_ms = now_ms() + expires_in;
        let lock = TxKind::Lock {
            to: taker,
            amount: give_amount,
            hash_lock: secret.hash_lock(),
            expires_at_ms,
            memo: Memo::default(),
        };
        let sent = send_lock(&give_chain, &key, lock, wait)?;
        let escrow = EscrowId::derive(&give_chain.id, &key.address(), sent.nonce);
        let offer = SwapOffer {
            maker: key.address(),
            taker,
            counter_locker: taker,
            give_chain: give_chain.id,
            give: give_amount,
            get_chain: get_chain.id,
            get: get_amount,
            hash_lock: secret.hash_lock(),
            escrow,
            expires_at_ms,
        };
        let text = offer.to_text();
        wallet.put_swap(&unlocked, &escrow.to_string(), &text, None, Some(&secret.0))?;
        wallet.save()?;
        let watchers = self.register_watch(&offer, None);
        self.print(
            format!(
                "locked {} for {to} until {expires_at_ms} ms in escrow {escrow} ({watchers} watchers)\nswap {escrow}: give this offer to {to}:\n{text}",
                give_chain.amount(give_amount)
            ),
            json!({"id": escrow.to_string(), "offer": text, "escrow": escrow.to_string(),
                "expires_at_ms": expires_at_ms, "tx": sent.status.hash, "watchers": watchers}),
        );
        Ok(())
    }

    pub fn swap_accept(&self, offer_text: &str, from: &str, wait: bool) -> Result<()> {
        let offer: SwapOffer = offer_text.parse()?;
        let (mut wallet, unlocked) = self.unlocked_wallet(from)?;
        let key = wallet.secret(&unlocked, from)?;
        if key.address() != offer.counter_locker {
            bail!(
                "the offer is for {}, not {from} ({})",
                offer.counter_locker,
                key.address()
            );
        }
        let give = self.chain(Some(&offer.give_chain.to_string()))?;
        let get = self.chain(Some(&offer.get_chain.to_string()))?;
        let escrow = give
            .client
            .committed_escrow(&give.id, &give.info, &offer.escrow)?;
        let now = now_ms();
        check_escrow(&offer, &escrow, now)?;
        let expires_at_ms = offer.counter_expiry(now);
        let lock = TxKind::Lock {
            to: offer.maker,
            amount: offer.get,
            hash_lock: offer.hash_lock,
            expires_at_ms,
            memo: Memo::default(),
        };
        let sent = send_lock(&get, &key, lock, wait)?;
        let counter = EscrowId::derive(&get.id, &key.address(), sent.nonce);
        let id = offer.escrow.to_string();
        wallet.put_swap(
            &unlocked,
            &id,
            offer_text.trim(),
            Some(&counter.to_string()),
            None,
        )?;
        wallet.save()?;
        let watchers = self.register_watch(&offer, Some(&counter));
        self.print(
            format!(
                "checked escrow {} on {}: {} for you until {} ms\nlocked {} for {} until {expires_at_ms} ms in escrow {counter} ({watchers} watchers)",
                offer.escrow,
                give.id,
                give.amount(offer.give),
                offer.expires_at_ms,
                get.amount(offer.get),
                offer.maker
            ),
            json!({"id": id, "escrow": counter.to_string(), "expires_at_ms": expires_at_ms,
                "tx": sent.status.hash, "watchers": watchers}),
        );
        Ok(())
    }

    /// The maker claims the taker's escrow with her secret; the taker claims the maker's
    /// with the secret the maker's claim revealed.
    pub fn swap_claim(&self, id: &str, from: &str) -> Result<()> {
        let offer = self.offer(id)?;
        let (wallet, unlocked) = self.unlocked_wallet(from)?;
        let key = wallet.secret(&unlocked, from)?;
        let (give, maker_escrow, get, taker_escrow) = self.escrows(&offer)?;
        let (chain, escrow, secret) = if key.address() == offer.maker {
            let Some(escrow) = taker_escrow else {
                bail!(
                    "the taker has not locked on {} yet: nothing to claim",
                    get.id
                );
            };
            let secret = wallet
                .swap_secret(&unlocked, &offer.escrow.to_string())?
                .with_context(|| {
                    format!(
                        "wallet {} holds no secret for swap {}",
                        self.wallet.display(),
                        offer.escrow
                    )
                })?;
            (get, escrow, Secret(*secret))
        } else if key.address() == offer.taker {
            let secret = match taker_escrow.as_ref().map(|e| e.state) {
                Some(EscrowState::Claimed { secret, .. }) => secret,
                _ => bail!(
                    "the maker has not claimed on {} yet, so the secret is not known: nothing to claim",
                    get.id
                ),
            };
            (give, maker_escrow, secret)
        } else {
            bail!("{from} is neither side of swap {}", offer.escrow);
        };
        require_open(&chain, &escrow)?;
        if now_ms() >= escrow.expires_at_ms {
            bail!(
                "escrow {} on {} has expired: it can only be refunded",
                escrow.id,
                chain.id
            );
        }
        let claim = TxKind::Claim {
            escrow: escrow.id,
            secret,
        };
        let sent = chain.client.send(&chain.id, &key, claim, WAIT)?;
        lost_to_another(&chain, &escrow.id, &sent)?;
        self.report(
            &format!(
                "claimed {} from escrow {}",
                chain.amount(escrow.amount),
                escrow.id
            ),
            &sent.status,
            Some(sent.latency.as_millis()),
        )
    }

    pub fn swap_refund(&self, id: &str, from: &str) -> Result<()> {
        let offer = self.offer(id)?;
        let (wallet, unlocked) = self.unlocked_wallet(from)?;
        let key = wallet.secret(&unlocked, from)?;
        let (give, maker_escrow, get, taker_escrow) = self.escrows(&offer)?;
        let (chain, escrow) = if key.address() == offer.maker {
            (give, maker_escrow)
        } else if key.address() == offer.counter_locker {
            let Some(escrow) = taker_escrow else {
                bail!("{from} has not locked on {}: nothing to refund", get.id);
            };
            (get, escrow)
        } else {
            bail!("{from} is neither side of swap {}", offer.escrow);
        };
        require_open(&chain, &escrow)?;
        let now = now_ms();
        if now < escrow.expires_at_ms {
            bail!(
                "escrow {} on {} expires in {} s: it can be refunded only then",
                escrow.id,
                chain.id,
                (escrow.expires_at_ms - now).div_ceil(1000)
            );
        }
        let refund = TxKind::Refund { escrow: escrow.id };
        let sent = chain.client.send(&chain.id, &key, refund, WAIT)?;
        lost_to_another(&chain, &escrow.id, &sent)?;
        self.report(
            &format!(
                "refunded {} from escrow {}",
                chain.amount(escrow.amount),
                escrow.id
            ),
            &sent.status,
            Some(sent.latency.as_millis()),
        )
    }

    pub fn swap_status(&self, id: &str) -> Result<()> {
        let offer = self.offer(id)?;
        let (give, maker_escrow, get, taker_escrow) = self.escrows(&offer)?;
        let now = now_ms();
        let next = match (&maker_escrow.state, taker_escrow.as_ref().map(|e| &e.state)) {
            (EscrowState::Open, None) if now < offer.expires_at_ms => {
                "the taker may accept: lock on the get chain".to_owned()
            }
            (EscrowState::Open, None) => "the maker may refund her escrow".to_owned(),
            (EscrowState::Open, Some(EscrowState::Open)) => {
                "the maker may claim on the get chain with her secret (or, once it expires, the taker refund it)".to_owned()
            }
            (EscrowState::Open, Some(EscrowState::Claimed { .. })) => {
                "the taker may claim the maker's escrow with the revealed secret".to_owned()
            }
            (EscrowState::Open, Some(EscrowState::Refunded { .. })) => {
                "the maker may refund her escrow once it expires".to_owned()
            }
            (EscrowState::Claimed { .. }, _) => "done: both sides claimed".to_owned(),
            (EscrowState::Refunded { .. }, _) => "over: the maker's escrow was refunded".to_owned(),
        };
        let line = |chain: &Chain, escrow: Option<&Escrow>| match escrow {
            Some(escrow) => format!(
                "{} on {}: {} {}, expires at {} ms",
                escrow.id,
                chain.id,
                chain.amount(escrow.amount),
                state_of(escrow),
                escrow.expires_at_ms
            ),
            None => format!("not locked yet on {}", chain.id),
        };
        self.print(
            format!(
                "swap {}\nmaker's escrow  {}\ntaker's escrow  {}\nnext: {next}",
                offer.escrow,
                line(&give, Some(&maker_escrow)),
                line(&get, taker_escrow.as_ref())
            ),
            json!({"id": offer.escrow.to_string(),
                "maker": escrow_json(&give, Some(&maker_escrow)),
                "taker": escrow_json(&get, taker_escrow.as_ref()),
                "next": next}),
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    #[test]
    fn durations_read_with_their_unit() {
        assert_eq!(super::parse_duration("90s").unwrap(), 90_000);
        assert_eq!(super::parse_duration("2h").unwrap(), 7_200_000);
        assert_eq!(super::parse_duration("1d").unwrap(), 86_400_000);
        assert!(super::parse_duration("2").is_err());
        assert!(super::parse_duration("h").is_err());
        assert!(super::parse_duration("3w").is_err());
    }
}
