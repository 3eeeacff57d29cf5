//! What a host reports to Prometheus.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// Declares the metrics, each with its type, how it is made and its help text, and
/// `Metrics::new`, which registers them all under the `myriad` prefix.
macro_rules! metrics {
    ($($name:ident: $kind:ty = $make:expr, $help:literal;)*) => {
        #[derive(Debug)]
        pub struct Metrics {
            registry: Registry,
            $(pub $name: $kind,)*
        }

        impl Metrics {
            pub fn new() -> Metrics {
                let mut registry = Registry::with_prefix("myriad");
                $(
                    let $name: $kind = $make;
                    registry.register(stringify!($name), $help, $name.clone());
                )*
                Metrics { registry, $($name,)* }
            }
        }
    };
}

/// The labels of a transaction refused admission: why, and whether from a client or a peer.
pub type RefusalLabels = [(&'static str, &'static str); 2];

metrics! {
    chains_hosted: Gauge = Gauge::default(), "Chains in this host's store";
    chains_loaded: Gauge = Gauge::default(), "Chains loaded in memory";
    active_heights: Gauge = Gauge::default(), "Consensus instances running";
    mempool_txs: Gauge = Gauge::default(), "Pending transactions, all chains";
    mempool_bytes: Gauge = Gauge::default(), "Bytes of pending transactions, all chains";
    peers: Gauge = Gauge::default(), "Peers connected";
    tick_seconds: Histogram = Histogram::new(exponential_buckets(0.000_25, 2.0, 14)),
        "Duration of one tick, fsync included";
    tick_messages: Histogram = Histogram::new(exponential_buckets(1.0, 2.0, 16)),
        "Messages handled in one tick";
    tick_signatures: Histogram = Histogram::new(exponential_buckets(1.0, 2.0, 16)),
        "Signatures verified in one tick's batch";
    blocks_committed: Counter = Counter::default(), "Blocks committed";
    txs_committed: Counter = Counter::default(), "Transactions committed";
    signatures_verified: Counter = Counter::default(), "Signatures verified";
    admit_refusals: Family<RefusalLabels, Counter> = Family::default(),
        "Transactions refused admission to a mempool, by reason and origin (client or peer)";
    peers_penalized: Counter = Counter::default(), "Peers disconnected for misbehaving";
    evidence: Counter = Counter::default(), "Equivocations seen from validators";
    sends_dropped: Counter = Counter::default(),
        "Envelopes dropped because a peer's queue was full";
    tick_smoothed_ms: Gauge = Gauge::default(),
        "A tick's smoothed duration beyond the pace, in ms: over limits.busy_tick_ms the host is busy";
    refused_busy: Counter = Counter::default(),
        "Client transactions refused because the host was busy";
    resends_deferred: Counter = Counter::default(),
        "Resends of undecided chains put off to their next period: the host's budget was spent";
    copies_dropped: Counter = Counter::default(),
        "Votes and proposals received again (resends), dropped before their signatures are checked";
    messages_received: Family<Kind, Counter> = Family::default(),
        "Messages received from peers, by kind";
    messages_sent: Family<Kind, Counter> = Family::default(),
        "Messages sent to peers (once per recipient), by kind";
    timeouts_fired: Family<Kind, Counter> = Family::default(),
        "Consensus timeouts that fired, by kind";
    p2p_connections_refused: Counter = Counter::default(),
        "Peer-to-peer connections refused at accept: over the total or per-address bound";
    store_checkpoints: Counter = Counter::default(),
        "Checkpoints of the store's journal written into its file";
    store_stalls: Counter = Counter::default(),
        "Store commits that waited for a checkpoint: the journaled batches had reached their bound";
    store_journaled_bytes: Gauge = Gauge::default(),
        "Bytes of journaled batches held in memory, not yet checkpointed into the store's file";
    quotes_taken: Counter = Counter::default(),
        "Quotes the order book took, new or replacing an older one";
    quote_refusals: Family<RefusalLabels, Counter> = Family::default(),
        "Quotes the order book refused, by reason and origin (client or peer)";
    quotes_not_gossiped: Counter = Counter::default(),
        "Quotes taken but not sent on to peers: over the tick's gossip budget";
    book_quotes: Gauge = Gauge::default(), "Quotes in the order book";
    book_pairs: Gauge = Gauge::default(), "Pairs of chains with quotes in the order book";
    root_txs_sent: Family<Kind, Counter> = Family::default(),
        "Root transactions this host signed and sent, by kind (register-host, anchor)";
    anchored_heads_sent: Counter = Counter::default(),
        "Geneses and certified heads this host sent to the root to anchor";
    anchors_refused: Counter = Counter::default(),
        "Chains left out of an anchor transaction because the root would refuse their entry";
    forks_shown: Counter = Counter::default(),
        "Chains' own headers sent to the root as evidence that it anchored a block the chain did not decide";
    anchor_backlog: Gauge = Gauge::default(),
        "Chains waiting to be looked at for anchoring";
    evidence_dropped: Counter = Counter::default(),
        "Equivocations not sent to the root: its queue was full";
    anchor_backlog_dropped: Counter = Counter::default(),
        "Chains left out of the full anchor backlog (the store scan finds them again)";
    api_connections: Gauge = Gauge::default(), "HTTP API connections open";
    api_connections_refused: Counter = Counter::default(),
        "HTTP API connections refused at accept: over the total or per-address bound";
}

/// The label of a counter by kind: `kind="vote"`.
pub type Kind = [(&'static str, &'static str); 1];

/// The label `kind="name"`.
pub fn kind(name: &'static str) -> Kind {
    [("kind", name)]
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

impl Metrics {
    /// The metrics in Prometheus' text format.
    pub fn render(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut text, &self.registry);
        text
    }
}
