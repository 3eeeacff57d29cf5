//! What hosts send each other: envelopes of messages, each about one chain.

use borsh::{BorshDeserialize, BorshSerialize};
use myriad_types::{
    encode, Block, BoundedVec, Certificate, ChainId, Height, SignedGenesis, SignedProposal,
    SignedQuote, SignedTransaction, SignedVote, MESSAGE_BYTES_MAX,
};

/// The most messages one envelope carries.
pub const ENVELOPE_ITEMS_MAX: usize = 65_536;

/// One message between hosts. The encoding is a one-byte variant index followed by the
/// fields; variants are only ever appended.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum Msg {
    /// A transaction for the chain's mempools.
    Tx(SignedTransaction),
    /// Boxed (the encoding is the proposal's own): the largest message by far.
    Proposal(Box<SignedProposal>),
    Vote(SignedVote),
    /// A decided block with its certificate, for a host that is behind.
    Commit(Block, Certificate),
    /// "I am missing blocks from this height on."
    Need(Height),
    /// A chain's genesis, for a host named in it (or added to its validators later).
    Genesis(SignedGenesis),
    /// An exchanger's quote for a pair of chains, sent under one of the two (see the host's
    /// order book).
    Quote(SignedQuote),
}

impl Msg {
    pub fn name(&self) -> &'static str {
        match self {
            Msg::Tx(_) => "tx",
            Msg::Proposal(_) => "proposal",
            Msg::Vote(_) => "vote",
            Msg::Commit(..) => "commit",
            Msg::Need(_) => "need",
            Msg::Genesis(_) => "genesis",
            Msg::Quote(_) => "quote",
        }
    }
}

/// A message and the chain it is about.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct ChainMsg {
    pub chain: ChainId,
    pub msg: Msg,
}

/// Everything one host sends one peer in one tick (split only when it would pass
/// [`MESSAGE_BYTES_MAX`]).
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Envelope {
    pub items: BoundedVec<ChainMsg, ENVELOPE_ITEMS_MAX>,
}

/// Packs messages for one peer into as few envelopes as fit the message size limit.
#[derive(Debug, Default)]
pub struct EnvelopeBuilder {
    done: Vec<Envelope>,
    items: Vec<ChainMsg>,
    bytes: usize,
}

/// Room kept for the envelope's own length prefix.
const ENVELOPE_OVERHEAD: usize = 16;

impl EnvelopeBuilder {
    pub fn push(&mut self, item: ChainMsg) {
        let size = encode(&item).len();
        if !self.items.is_empty()
            && (self.bytes + size + ENVELOPE_OVERHEAD > MESSAGE_BYTES_MAX
                || self.items.len() == ENVELOPE_ITEMS_MAX)
        {
            self.seal();
        }
        self.bytes += size;
        self.items.push(item);
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty() && self.done.is_empty()
    }

    fn seal(&mut self) {
        let items = std::mem::take(&mut self.items);
        self.bytes = 0;
        if let Ok(items) = BoundedVec::new(items) {
            self.done.push(Envelope { items });
        }
    }

    /// The envelopes, each within the size limit.
    pub fn finish(mut self) -> Vec<Envelope> {
        if !self.items.is_empty() {
            self.seal();
        }
        self.done
    }
}
