//! The JSON bodies of Myriad's HTTP API, for the API and for its clients alike.
//!
//! Signed objects (geneses, transactions) travel as hex of their canonical encoding; ids,
//! hashes and amounts as their text forms (amounts are decimal strings of base units).
#![forbid(unsafe_code)]

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The most entries one page of a list holds (`?limit=`).
pub const PAGE_ENTRIES_MAX: usize = 1000;
/// The most transactions one `POST /transactions` carries (`txs`).
pub const SUBMIT_BATCH_TXS_MAX: usize = 1000;
/// The largest `POST /transactions` body, in bytes: a full batch of ordinary transactions
/// (a transfer with a full memo is about 900 hex digits) fits, well under the host's message
/// bound. Other requests keep the API's smaller general limit.
pub const SUBMIT_BODY_BYTES_MAX: usize = 1024 * 1024;

/// Every error answer: what was wrong.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    pub error: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CreateChainRequest {
    /// Hex of the borsh-encoded `SignedGenesis`.
    pub genesis: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CreatedChain {
    pub chain_id: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ValidatorInfo {
    pub host: String,
    pub power: u64,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ChainInfo {
    pub chain_id: String,
    pub symbol: String,
    pub decimals: u8,
    pub owner: String,
    /// Height of the last committed block (0: only the genesis).
    pub height: u64,
    pub head_hash: String,
    pub state_root: String,
    /// Amounts are decimal strings of base units.
    pub supply: String,
    pub max_supply: Option<String>,
    pub validators: Vec<ValidatorInfo>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ChainList {
    pub chains: Vec<ChainInfo>,
    /// Pass as `?after=` for the next page; absent on the last page.
    pub next: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TxInfo {
    pub hash: String,
    pub sender: String,
    pub nonce: u64,
    pub kind: String,
    /// The recipient of a mint, transfer or lock, the payee of a channel, the new owner of
    /// an ownership transfer.
    pub to: Option<String>,
    pub amount: Option<String>,
    /// The escrow (`escrow1…`) or channel (`chan1…`) the transaction opens or acts on, or
    /// the allowlist it sets.
    pub object: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BlockInfo {
    pub chain_id: String,
    pub height: u64,
    pub hash: String,
    pub prev_hash: String,
    pub timestamp_ms: u64,
    pub proposer: String,
    pub state_root: String,
    pub txs: Vec<TxInfo>,
    /// Round and signers of the certificate that makes it final.
    pub round: u32,
    pub signers: Vec<String>,
    /// Hex of the borsh-encoded block and certificate, for independent verification.
    pub block_bytes: String,
    pub certificate_bytes: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AccountInfo {
    pub chain_id: String,
    pub address: String,
    pub balance: String,
    pub nonce: u64,
    /// The height and state root the proof is for.
    pub height: u64,
    pub state_root: String,
    /// Hex of the borsh-encoded `StateProof`: checks with `verify_account` against the root.
    pub proof: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct HistoryEntry {
    pub height: u64,
    pub timestamp_ms: u64,
    pub tx: TxInfo,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AccountHistory {
    pub chain_id: String,
    pub address: String,
    /// Newest first.
    pub txs: Vec<HistoryEntry>,
    /// Pass as `?before=` for the next (older) page; absent on the last page.
    pub next: Option<String>,
}

/// One transaction (`tx`), or a batch of them (`txs`): exactly one of the two.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SubmitRequest {
    /// Hex of the borsh-encoded `SignedTransaction`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tx: Option<String>,
    /// Hex of each borsh-encoded `SignedTransaction`, at most `SUBMIT_BATCH_TXS_MAX` (1000);
    /// each is answered on its own, in order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub txs: Option<Vec<String>>,
}

/// The answer to a batch (`txs`): one result per transaction, in the order sent.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SubmitBatchAnswer {
    pub results: Vec<SubmitResult>,
}

/// What became of one transaction of a batch.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SubmitResult {
    /// The HTTP status the transaction would have had on its own: 202 (pending), 200
    /// (committed or rejected, with `?wait=true`), or the refusal's 4xx/5xx.
    pub code: u16,
    /// Its status, when it was accepted.
    pub tx: Option<TxStatusBody>,
    /// Why it was refused, when it was.
    pub error: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TxStatusBody {
    pub hash: String,
    /// `pending`, `committed` or `rejected`.
    pub status: String,
    pub chain_id: Option<String>,
    pub height: Option<u64>,
    pub reason: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Health {
    pub status: String,
    pub host: String,
    pub chains: u64,
}

/// An escrow locked by a hash and a time.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EscrowInfo {
    /// `escrow1…`
    pub id: String,
    pub locker: String,
    pub to: String,
    pub amount: String,
    /// SHA-256 of the secret that claims it, 64 hex digits.
    pub hash_lock: String,
    pub expires_at_ms: u64,
    /// The lock's memo, in hex (empty if none); a swap with an exchanger names there the
    /// hash of the quote it takes.
    pub memo: String,
    /// `open`, `claimed` or `refunded`.
    pub state: String,
    /// The secret, once a claim revealed it.
    pub secret: Option<String>,
    /// The time of the block that claimed or refunded it.
    pub closed_at_ms: Option<u64>,
}

/// A one-way payment channel.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ChannelInfo {
    /// `chan1…`
    pub id: String,
    pub payer: String,
    pub payee: String,
    /// Everything the payer has put in.
    pub amount: String,
    pub expires_at_ms: u64,
    /// `open`, `closed` or `refunded`.
    pub state: String,
    /// What the closing voucher paid the payee.
    pub paid: Option<String>,
    pub closed_at_ms: Option<u64>,
}

/// A change an allowlist waits for.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PendingAllowlistInfo {
    /// Empty: the allowlist is removed.
    pub addresses: Vec<String>,
    pub delay_ms: u64,
    pub effective_at_ms: u64,
}

/// An account's withdrawal allowlist, as stored: a pending change whose time has come is in
/// force even before a transaction rewrites it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AllowlistInfo {
    pub owner: String,
    pub addresses: Vec<String>,
    pub delay_ms: u64,
    pub pending: Option<PendingAllowlistInfo>,
}

/// An object of a chain's state (one of `escrow`, `channel`, `allowlist` is set), with the
/// proof that the state of `height` holds it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ObjectInfo {
    pub chain_id: String,
    /// The height and state root the proof is for; the block of that height carries the
    /// root in its header.
    pub height: u64,
    pub state_root: String,
    pub escrow: Option<EscrowInfo>,
    pub channel: Option<ChannelInfo>,
    pub allowlist: Option<AllowlistInfo>,
    /// Hex of the borsh-encoded `Object`: what the proof is for.
    pub object: String,
    /// Hex of the borsh-encoded `StateProof`: checks with `verify_object` against the root.
    pub proof: String,
}

/// An exact rate: `give` base units of one currency buy `get` base units of the other.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RateBody {
    /// A positive integer, as a decimal string.
    pub give: String,
    /// A positive integer, as a decimal string.
    pub get: String,
    /// `get / give`, to 12 decimals, rounded down: for display, never for arithmetic.
    pub price: String,
}

/// An exchanger's quote as the order book serves it. `quote` is the signed quote itself:
/// check its signature rather than trust the fields beside it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct QuoteInfo {
    /// The quote's hash, 64 hex digits: what a holder's lock names in its memo.
    pub hash: String,
    /// `acct1…`: the key that signed it.
    pub exchanger: String,
    pub give_chain: String,
    pub get_chain: String,
    pub rate: RateBody,
    pub min_give: String,
    pub max_give: String,
    pub expires_at_ms: u64,
    /// The exchanger's account on the give chain, which the holder's escrow pays.
    pub give_account: String,
    /// The exchanger's account on the get chain, which locks the holder's side.
    pub get_account: String,
    pub sequence: u64,
    /// Hex of the signed quote's encoding.
    pub quote: String,
}

/// The most quotes one `POST /quotes` carries (`quotes`).
pub const POST_QUOTES_MAX: usize = 1000;

/// `POST /quotes`: one quote (`quote`) or a batch (`quotes`, at most 1000), each as hex of
/// a signed quote's encoding.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
pub struct PostQuoteRequest {
    pub quote: Option<String>,
    pub quotes: Option<Vec<String>>,
}

/// What a batch of quotes got: one result per quote, in order.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct QuoteBatchAnswer {
    pub results: Vec<QuoteResult>,
}

/// One quote of a batch: the status it would have had alone, and what the book did with it
/// or why it was refused.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct QuoteResult {
    pub code: u16,
    pub taken: Option<QuoteTaken>,
    pub error: Option<String>,
}

/// What the order book did with a posted quote.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct QuoteTaken {
    pub hash: String,
    /// `added`, or `replaced` (the exchanger's older quote for the pair).
    pub admission: String,
}

/// A pair's live quotes, best first for the holder.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct QuoteBook {
    pub give_chain: String,
    pub get_chain: String,
    /// How many quotes of the pair are live in all (`quotes` holds at most `depth` of them).
    pub live: usize,
    pub quotes: Vec<QuoteInfo>,
}

/// A reference rate of `chain`'s currency in `in_chain`'s, from the live quotes both ways.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReferenceRateInfo {
    pub chain: String,
    pub in_chain: String,
    /// The volume-weighted median: `give` units of `chain` for `get` units of `in_chain`.
    pub median: RateBody,
    /// The best rate a holder gets selling `chain`'s currency.
    pub bid: Option<RateBody>,
    /// The best rate a holder gets buying it, read the same way as `bid`.
    pub ask: Option<RateBody>,
    /// `(ask − bid) / ask` in basis points, when there are both (for display).
    pub spread_bps: Option<f64>,
    /// The quotes it came from: those giving `chain`, then those getting it.
    pub quotes: Vec<QuoteInfo>,
}

/// The root chain a host follows: its id, its latest durable block, its rules and committee.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RootInfo {
    pub chain_id: String,
    pub height: u64,
    pub state_root: String,
    /// The least bond a registered host holds, in root base units (a decimal string).
    pub host_bond_min: String,
    pub host_lease_ms: u64,
    pub unbond_ms: u64,
    pub anchor_interval_ms: u64,
    pub validators: Vec<ValidatorInfo>,
    /// Hosts in the directory, and chains anchored.
    pub hosts: u64,
    pub validator_sets: u64,
}

/// A host's entry in the root's directory.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct HostInfo {
    /// `host1…`
    pub host: String,
    /// Where peers reach it: `ip:port`.
    pub p2p: Vec<String>,
    pub api_url: String,
    /// Root currency bonded, in base units (a decimal string).
    pub bond: String,
    pub registered_at_ms: u64,
    pub expires_at_ms: u64,
    /// Whether the registration is in force at the root's latest block.
    pub registered: bool,
    /// What evidence has slashed, how many pieces, and the last one's id.
    pub slashed: String,
    pub evidence: u32,
    pub last_evidence: Option<String>,
    /// How many anchored chains the host validates (by the sets the root knows).
    pub chains: u64,
}

/// A page of the root's directory of hosts, in host id order.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct HostList {
    pub hosts: Vec<HostInfo>,
    /// Pass as `?after=` for the next page; absent on the last page.
    pub next: Option<String>,
}

/// A chain in the root's directory, with its validators and where to reach them.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DirectoryChain {
    pub chain_id: String,
    pub owner: String,
    pub symbol: String,
    /// The validator set the root knows in force from `validators_from` on.
    pub validators_hash: String,
    pub validators_from: u64,
    pub validators: Vec<DirectoryValidator>,
    /// The latest anchored head: height 0 until a block is anchored.
    pub height: u64,
    pub block_hash: String,
    pub state_root: String,
    pub anchored_at_ms: u64,
    /// The height of a second certified block the root was shown, if ever.
    pub forked_at: Option<u64>,
    /// The root's height and state root this entry was read at.
    pub root_height: u64,
}

/// A validator of a chain, with its directory entry if it is registered.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DirectoryValidator {
    pub host: String,
    pub power: u64,
    pub entry: Option<HostInfo>,
}

/// A chain's anchor with its proof: check it trusting only the root's committee.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AnchorProofBody {
    pub chain_id: String,
    pub root_chain_id: String,
    pub root_height: u64,
    /// The anchored head, as the proof shows it.
    pub height: u64,
    pub block_hash: String,
    pub state_root: String,
    /// Hex of the borsh-encoded `AnchorProof`: the anchor, its path to the root block's
    /// state root, the root block's header and certificate.
    pub proof: String,
    pub proof_bytes: usize,
}
