//! Quotes: exchangers' quotes from clients and peers, checked before their signatures
//! (which ride in the tick's one batch), kept in the order book, and gossiped once to the
//! peers that share a chain of their pair. A peer that sends a forged or malformed quote is
//! penalized; expired, replaced and surplus ones are dropped and counted.

use std::sync::PoisonError;

use myriad_net::{Msg, Transport};
use myriad_store::HostStore;
use myriad_types::{ChainId, HostId, Quote, SignedQuote};
use tokio::sync::oneshot;

use super::mempools::Origin;
use super::{Host, QuoteRefused, HOST_BUSY, QUOTES_GOSSIPED_PER_TICK};
use crate::book::{Admission, BookError, Pair};

/// A client's quote, and where its reply goes.
#[derive(Debug)]
pub(super) struct QuoteSubmission {
    pub(super) quote: SignedQuote,
    pub(super) reply: oneshot::Sender<Result<Admission, QuoteRefused>>,
}

fn origin_name(origin: Origin) -> &'static str {
    match origin {
        Origin::Client => "client",
        Origin::Peer => "peer",
    }
}

impl<S: HostStore> Host<S> {
    /// The checks of a quote that need no signature: one of its chains is hosted here (for a
    /// peer's, the chain it came under), and the book would take it now.
    pub(super) fn check_quote(
        &mut self,
        quote: &Quote,
        under: Option<ChainId>,
    ) -> Result<(), QuoteRefused> {
        let origin = match under {
            Some(_) => Origin::Peer,
            None => Origin::Client,
        };
        let result = self.quote_checks(quote, under);
        if let Err(refused) = &result {
            self.metrics
                .quote_refusals
                .get_or_create(&[
                    ("reason", refused.reason()),
                    ("origin", origin_name(origin)),
                ])
                .inc();
        }
        result
    }

    fn quote_checks(&mut self, quote: &Quote, under: Option<ChainId>) -> Result<(), QuoteRefused> {
        if under.is_none() && self.load.is_busy(&self.config.limits) {
            self.metrics.refused_busy.inc();
            return Err(QuoteRefused::Busy(HOST_BUSY));
        }
        let (give, get) = (quote.give_chain, quote.get_chain);
        let hosted = match under {
            Some(chain) => (chain == give || chain == get) && self.table.load(&*self.store, &chain),
            None => self.table.load(&*self.store, &give) || self.table.load(&*self.store, &get),
        };
        if !hosted {
            return Err(QuoteRefused::NotHosted { give, get });
        }
        self.book
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .check(quote, self.now_ms)
            .map_err(QuoteRefused::Book)
    }

    /// Takes a client's quotes whose signatures the batch checked, and answers.
    pub(super) fn handle_quote_submissions(&mut self, submissions: Vec<(QuoteSubmission, bool)>) {
        for (QuoteSubmission { quote, reply }, valid) in submissions {
            let result = if valid {
                self.take_quote(quote, None).map_err(QuoteRefused::Book)
            } else {
                Err(QuoteRefused::BadSignature)
            };
            if let Err(refused) = &result {
                self.metrics
                    .quote_refusals
                    .get_or_create(&[("reason", refused.reason()), ("origin", "client")])
                    .inc();
            }
            let _ = reply.send(result);
        }
    }

    /// Takes a peer's quote whose signature the batch checked; penalizes a peer that sent a
    /// malformed one.
    pub(super) fn handle_peer_quote(
        &mut self,
        peer: HostId,
        quote: SignedQuote,
        transport: &dyn Transport,
    ) {
        if let Err(error) = self.take_quote(quote, Some(peer)) {
            self.metrics
                .quote_refusals
                .get_or_create(&[("reason", error.name()), ("origin", "peer")])
                .inc();
            if error.is_malformed() {
                self.penalize(transport, peer, &format!("sent a malformed quote: {error}"));
            }
        }
    }

    /// Puts a verified quote in the book, tells subscribers its pair changed, and sends it
    /// once to every peer that shares a chain of its pair but `from` (within the tick's
    /// gossip budget).
    fn take_quote(
        &mut self,
        quote: SignedQuote,
        from: Option<HostId>,
    ) -> Result<Admission, BookError> {
        let pair = Pair::of(&quote.quote);
        let admission = self
            .book
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(quote.clone(), self.now_ms)?;
        self.metrics.quotes_taken.inc();
        let _ = self.quote_changes.send(pair);
        if self.quotes_gossiped >= QUOTES_GOSSIPED_PER_TICK {
            self.metrics.quotes_not_gossiped.inc();
            return Ok(admission);
        }
        self.quotes_gossiped += 1;
        let mut sent: Vec<HostId> = from.into_iter().collect();
        for chain in [pair.give, pair.get] {
            if !self.table.load(&*self.store, &chain) {
                continue;
            }
            let Some(slot) = self.table.get(&chain) else {
                continue;
            };
            for peer in slot.peers(&self.me) {
                if !sent.contains(&peer) {
                    sent.push(peer);
                    self.outbox.send(chain, Msg::Quote(quote.clone()), peer);
                }
            }
        }
        Ok(admission)
    }

    /// Drops the quotes that expired, telling subscribers which pairs changed.
    pub(super) fn expire_quotes(&mut self) {
        let changed = self
            .book
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .expire(self.now_ms);
        for pair in changed {
            let _ = self.quote_changes.send(pair);
        }
    }
}
