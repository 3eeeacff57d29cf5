//! `myriad channel` and `myriad allowlist`: one-way payment channels, paid off-chain with
//! vouchers, and withdrawal allowlists.

use anyhow::{bail, Context as _, Result};
use myriad_client::genesis::now_ms;
use myriad_client::transaction::SendOptions;
use myriad_types::{
    decode, encode, AllowlistAddresses, Channel, ChannelId, ChannelState, Object, ObjectKey,
    SignedVoucher, TxKind, Voucher,
};
use serde_json::json;

use crate::commands::{Chain, Context};
use crate::swap::parse_duration;

/// The text a voucher starts with.
pub const VOUCHER_PREFIX: &str = "myriad-voucher-1:";

const WAIT: SendOptions = SendOptions {
    wait: true,
    nonce: None,
};

fn voucher_text(voucher: &SignedVoucher) -> String {
    format!("{VOUCHER_PREFIX}{}", hex::encode(encode(voucher)))
}

fn parse_voucher(text: &str) -> Result<SignedVoucher> {
    let hex_part = text
        .trim()
        .strip_prefix(VOUCHER_PREFIX)
        .with_context(|| format!("not a voucher: it does not start with {VOUCHER_PREFIX}"))?;
    let bytes = hex::decode(hex_part).context("not a voucher: not hex")?;
    decode("voucher", &bytes).context("not a voucher")
}

fn state_of(channel: &Channel) -> &'static str {
    match channel.state {
        ChannelState::Open => "open",
        ChannelState::Closed { .. } => "closed",
        ChannelState::Refunded { .. } => "refunded",
    }
}

impl Context {
    fn channel_id(text: &str) -> Result<ChannelId> {
        text.parse()
            .with_context(|| format!("`{text}` is not a channel id (chan1…)"))
    }

    /// The channel as committed on `chain`, verified against a certified block.
    fn committed_channel(&self, chain: &Chain, id: &ChannelId) -> Result<Channel> {
        Ok(chain.client.committed_channel(&chain.id, &chain.info, id)?)
    }

    fn sent(
        &self,
        chain: &Chain,
        from: &str,
        kind: TxKind,
    ) -> Result<myriad_client::transaction::Sent> {
        let key = self.signer(from)?;
        let sent = chain.client.send(&chain.id, &key, kind, WAIT)?;
        if sent.status.status != "committed" {
            bail!(
                "not committed: {}",
                sent.status.reason.as_deref().unwrap_or(&sent.status.status)
            );
        }
        Ok(sent)
    }

    pub fn channel_open(
        &self,
        chain: Option<&str>,
        from: &str,
        to: &str,
        amount: &str,
        expires: &str,
    ) -> Result<()> {
        let chain = self.chain(chain)?;
        let amount = chain.parse(amount)?;
        let payee = self.address(to)?;
        let expires_at_ms = now_ms() + parse_duration(expires)?;
        let key = self.signer(from)?;
        let open = TxKind::OpenChannel {
            payee,
            amount,
            expires_at_ms,
        };
        let sent = chain.client.send(&chain.id, &key, open, WAIT)?;
        if sent.status.status != "committed" {
            bail!(
                "the channel was not opened: {}",
                sent.status.reason.as_deref().unwrap_or(&sent.status.status)
            );
        }
        let id = ChannelId::derive(&chain.id, &key.address(), sent.nonce);
        self.print(
            format!(
                "opened channel {id}: {} for {to} until {expires_at_ms} ms",
                chain.amount(amount)
            ),
            json!({"channel": id.to_string(), "chain_id": chain.id.to_string(),
                "amount": amount.to_string(), "expires_at_ms": expires_at_ms,
                "tx": sent.status.hash}),
        );
        Ok(())
    }

    /// A voucher for `cumulative` in all, signed offline by the payer.
    pub fn channel_pay(
        &self,
        chain: Option<&str>,
        channel: &str,
        from: &str,
        cumulative: &str,
    ) -> Result<()> {
        let chain = self.chain(chain)?;
        let id = Self::channel_id(channel)?;
        let cumulative = chain.parse(cumulative)?;
        let key = self.signer(from)?;
        let voucher = SignedVoucher::sign(
            Voucher {
                chain_id: chain.id,
                channel: id,
                cumulative,
            },
            &key,
        );
        let text = voucher_text(&voucher);
        self.print(
            &text,
            json!({"voucher": text, "channel": id.to_string(), "cumulative": cumulative.to_string()}),
        );
        Ok(())
    }

    /// Checks a voucher as the payee would before taking it for a payment: the payer's
    /// signature, this chain and channel, the channel open and not expired, funds left.
    pub fn channel_accept(&self, chain: Option<&str>, voucher: &str) -> Result<()> {
        let chain = self.chain(chain)?;
        let voucher = parse_voucher(voucher)?;
        let terms = voucher.voucher;
        if terms.chain_id != chain.id {
            bail!(
                "the voucher is for chain {}, not {}",
                terms.chain_id,
                chain.id
            );
        }
        let channel = self.committed_channel(&chain, &terms.channel)?;
        voucher.verify(&channel.payer).map_err(|e| {
            anyhow::anyhow!(
                "the voucher is not signed by the payer {}: {e}",
                channel.payer
            )
        })?;
        if channel.state != ChannelState::Open {
            bail!("channel {} is already {}", channel.id, state_of(&channel));
        }
        if now_ms() >= channel.expires_at_ms {
            bail!(
                "channel {} has expired: the payer may take it back",
                channel.id
            );
        }
        if terms.cumulative > channel.amount {
            bail!(
                "the voucher pays {}, more than the channel's {}",
                chain.amount(terms.cumulative),
                chain.amount(channel.amount)
            );
        }
        self.print(
            format!(
                "voucher good: {} of {} in channel {} ({} left), until {} ms",
                chain.amount(terms.cumulative),
                chain.amount(channel.amount),
                channel.id,
                chain.amount(channel.amount - terms.cumulative),
                channel.expires_at_ms
            ),
            json!({"channel": channel.id.to_string(), "cumulative": terms.cumulative.to_string(),
                "amount": channel.amount.to_string(), "expires_at_ms": channel.expires_at_ms}),
        );
        Ok(())
    }

    pub fn channel_close(
        &self,
        chain: Option<&str>,
        channel: &str,
        from: &str,
        voucher: &str,
    ) -> Result<()> {
        let chain = self.chain(chain)?;
        let id = Self::channel_id(channel)?;
        let voucher = parse_voucher(voucher)?;
        let close = TxKind::CloseChannel {
            channel: id,
            voucher: Box::new(voucher),
        };
        let sent = self.sent(&chain, from, close)?;
        self.report(
            &format!(
                "closed channel {id}: {} to the payee",
                chain.amount(voucher.voucher.cumulative)
            ),
            &sent.status,
            Some(sent.latency.as_millis()),
        )
    }

    pub fn channel_top_up(
        &self,
        chain: Option<&str>,
        channel: &str,
        from: &str,
        amount: &str,
    ) -> Result<()> {
        let chain = self.chain(chain)?;
        let id = Self::channel_id(channel)?;
        let amount = chain.parse(amount)?;
        let sent = self.sent(
            &chain,
            from,
            TxKind::TopUpChannel {
                channel: id,
                amount,
            },
        )?;
        self.report(
            &format!("added {} to channel {id}", chain.amount(amount)),
            &sent.status,
            Some(sent.latency.as_millis()),
        )
    }

    pub fn channel_refund(&self, chain: Option<&str>, channel: &str, from: &str) -> Result<()> {
        let chain = self.chain(chain)?;
        let id = Self::channel_id(channel)?;
        let sent = self.sent(&chain, from, TxKind::RefundChannel { channel: id })?;
        self.report(
            &format!("took back channel {id}"),
            &sent.status,
            Some(sent.latency.as_millis()),
        )
    }

    pub fn channel_status(&self, chain: Option<&str>, channel: &str) -> Result<()> {
        let chain = self.chain(chain)?;
        let id = Self::channel_id(channel)?;
        let channel = self.committed_channel(&chain, &id)?;
        let paid = match channel.state {
            ChannelState::Closed { paid, .. } => Some(paid),
            _ => None,
        };
        self.print(
            format!(
                "channel {id} on {}: {} from {} to {}, {}, expires at {} ms{}",
                chain.id,
                chain.amount(channel.amount),
                channel.payer,
                channel.payee,
                state_of(&channel),
                channel.expires_at_ms,
                paid.map(|paid| format!(", paid {}", chain.amount(paid)))
                    .unwrap_or_default()
            ),
            json!({"channel": id.to_string(), "payer": channel.payer.to_string(),
                "payee": channel.payee.to_string(), "amount": channel.amount.to_string(),
                "expires_at_ms": channel.expires_at_ms, "state": state_of(&channel),
                "paid": paid.map(|paid| paid.to_string())}),
        );
        Ok(())
    }

    /// Sets `from`'s allowlist (none: clears it) with `delay` on its later changes.
    pub fn allowlist_set(
        &self,
        chain: Option<&str>,
        from: &str,
        addresses: &[String],
        delay: &str,
    ) -> Result<()> {
        let chain = self.chain(chain)?;
        let listed = addresses
            .iter()
            .map(|who| self.address(who))
            .collect::<Result<Vec<_>>>()?;
        let count = listed.len();
        let addresses = AllowlistAddresses::new(listed).map_err(|listed| {
            anyhow::anyhow!(
                "{} addresses: an allowlist holds at most {}",
                listed.len(),
                myriad_types::ALLOWLIST_MAX
            )
        })?;
        let delay_ms = parse_duration(delay)?;
        let sent = self.sent(
            &chain,
            from,
            TxKind::SetAllowlist {
                addresses,
                delay_ms,
            },
        )?;
        let what = match count {
            0 => "cleared the allowlist (once its delay has passed)".to_owned(),
            _ => format!("set an allowlist of {count} addresses"),
        };
        self.report(&what, &sent.status, Some(sent.latency.as_millis()))
    }

    pub fn allowlist_show(&self, chain: Option<&str>, who: &str) -> Result<()> {
        let chain = self.chain(chain)?;
        let owner = self.address(who)?;
        let key = ObjectKey::Allowlist(owner);
        let list = match chain.client.committed_object(&chain.id, &chain.info, key) {
            Ok(Object::Allowlist(list)) => Some(list),
            Ok(_) => bail!("the host answered with another object"),
            Err(myriad_client::objects::ObjectError::Client(
                myriad_client::client::ClientError::NotFound { .. },
            )) => None,
            Err(error) => return Err(error.into()),
        };
        let Some(list) = list else {
            self.print(
                format!("{who} has no allowlist on {}", chain.id),
                json!({"allowlist": null}),
            );
            return Ok(());
        };
        let namer = self.namer();
        let names = |addresses: &[myriad_types::Address]| {
            addresses
                .iter()
                .map(|a| namer(&a.to_string()))
                .collect::<Vec<_>>()
        };
        let pending = list.pending.as_ref().map(|p| {
            json!({"addresses": names(&p.addresses), "delay_ms": p.delay_ms,
                "effective_at_ms": p.effective_at_ms})
        });
        self.print(
            format!(
                "{who} may pay only: {}\nchanges wait {} ms{}",
                names(&list.addresses).join(", "),
                list.delay_ms,
                list.pending
                    .as_ref()
                    .map(|p| format!(
                        "\npending from {} ms: {}",
                        p.effective_at_ms,
                        match p.addresses.is_empty() {
                            true => "no allowlist".to_owned(),
                            false => names(&p.addresses).join(", "),
                        }
                    ))
                    .unwrap_or_default()
            ),
            json!({"allowlist": {"addresses": names(&list.addresses), "delay_ms": list.delay_ms,
                "pending": pending}}),
        );
        Ok(())
    }
}
