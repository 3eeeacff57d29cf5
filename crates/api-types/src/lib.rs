//! The JSON bodies of Myriad's HTTP API, for the API and for its clients alike.
//!
//! Signed objects (geneses, transactions) travel as hex of their canonical encoding; ids,
//! hashes and amounts as their text forms (amounts are decimal strings of base units).
#![forbid(unsafe_code)]

use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, OneOfBuilder, Schema, Type};
use utoipa::openapi::RefOr;
use utoipa::ToSchema;

/// A hex string of whole bytes, as signed objects travel in bodies.
const HEX_PATTERN: &str = "^([0-9a-fA-F]{2})+$";

/// The schema of a body that holds exactly one of two fields: `one`, a hex string (one
/// signed object), or `many`, a list of 1 to `many_max` of them. A list's items are any
/// strings: each is answered on its own, one that is not hex of a signed object with a 400
/// in its own result.
fn one_or_many_hex(one: &str, many: &str, many_max: usize) -> RefOr<Schema> {
    let hex = ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(HEX_PATTERN));
    let single = ObjectBuilder::new().property(one, hex).required(one);
    let list = ArrayBuilder::new()
        .items(ObjectBuilder::new().schema_type(Type::String))
        .min_items(Some(1))
        .max_items(Some(many_max));
    let batch = ObjectBuilder::new().property(many, list).required(many);
    OneOfBuilder::new().item(single).item(batch).into()
}

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
    #[schema(pattern = "^([0-9a-fA-F]{2})+$")]
    pub genesis: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CreatedChain {
    pub chain_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ValidatorInfo {
    /// `host1…`
    #[schema(pattern = "^host1[02-9ac-hj-np-z]{58}$")]
    pub host: String,
    pub power: u64,
}

/// A chain's parameters, fixed by its genesis: the clock bounds of its block times and the
/// bounds of its locks' expiries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ChainParamsInfo {
    pub precision_ms: u64,
    pub msg_delay_ms: u64,
    pub lock_min_ms: u64,
    pub lock_max_ms: u64,
}

/// A chain at its head: every field of its metadata, and what a verifier needs to check
/// them against the state root (the metadata's encoding and the roots of the accounts and
/// objects trees; see `docs/api.md`, "Verifying what a host says").
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ChainInfo {
    /// `chain1…`
    #[schema(pattern = "^chain1[02-9ac-hj-np-z]{58}$")]
    pub chain_id: String,
    pub symbol: String,
    pub decimals: u8,
    /// `acct1…`
    #[schema(pattern = "^acct1[02-9ac-hj-np-z]{58}$")]
    pub owner: String,
    /// Height of the last committed block (0: only the genesis).
    pub height: u64,
    /// The hash of the block at `height`; 64 zeros at height 0.
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub head_hash: String,
    /// The state root of `height`, which its block's header carries.
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub state_root: String,
    /// Amounts are decimal strings of base units. `supply` = `minted` − `burned`.
    #[schema(pattern = "^[0-9]+$")]
    pub supply: String,
    #[schema(pattern = "^[0-9]+$")]
    pub max_supply: Option<String>,
    #[schema(pattern = "^[0-9]+$")]
    pub minted: String,
    #[schema(pattern = "^[0-9]+$")]
    pub burned: String,
    /// The set that validates the next block.
    pub validators: Vec<ValidatorInfo>,
    /// The hash of `validators`, as the next block's header names it.
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub validators_hash: String,
    /// A set chosen by the block being executed, taking over once it ends: always absent
    /// between blocks, as at a head, but part of the metadata all the same.
    pub next_validators: Option<Vec<ValidatorInfo>>,
    /// The time of the block at `height` (of the genesis at height 0), in milliseconds since
    /// the Unix epoch: the next block's time must be later.
    pub time_ms: u64,
    pub params: ChainParamsInfo,
    /// Hex of the borsh-encoded `ChainMeta`, which holds every field above but the head hash
    /// and the roots; `blake3("myriad/chain-meta/1" ‖ meta)` is the meta hash.
    #[schema(pattern = "^([0-9a-f]{2})+$")]
    pub meta: String,
    /// The roots of the accounts and objects trees: with the meta hash they give
    /// `state_root = blake3("myriad/state/2" ‖ accounts_root ‖ objects_root ‖ meta hash)`.
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub accounts_root: String,
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub objects_root: String,
}

/// A chain's genesis, signed by its owner: the chain id is the hash of `genesis`'s genesis
/// part, and the owner's signature is over it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct GenesisInfo {
    /// `chain1…`
    #[schema(pattern = "^chain1[02-9ac-hj-np-z]{58}$")]
    pub chain_id: String,
    /// `acct1…`
    #[schema(pattern = "^acct1[02-9ac-hj-np-z]{58}$")]
    pub owner: String,
    pub symbol: String,
    pub decimals: u8,
    #[schema(pattern = "^[0-9]+$")]
    pub max_supply: Option<String>,
    /// The set that validates the chain from its first block until a block changes it.
    pub validators: Vec<ValidatorInfo>,
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub validators_hash: String,
    /// In milliseconds since the Unix epoch: every block's time is later.
    pub created_at_ms: u64,
    pub salt: u64,
    pub params: ChainParamsInfo,
    /// The state root of height 0, before any block.
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub state_root: String,
    /// Hex of the borsh-encoded `SignedGenesis`: what to check the fields above against.
    #[schema(pattern = "^([0-9a-f]{2})+$")]
    pub genesis: String,
}

/// The validator set in force at a height of a chain: the one whose certificate makes the
/// block of that height final (at height 0, the genesis's).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ValidatorSetInfo {
    /// `chain1…`
    #[schema(pattern = "^chain1[02-9ac-hj-np-z]{58}$")]
    pub chain_id: String,
    /// The height asked about.
    pub height: u64,
    /// The first height of this set: 0 for the genesis's, `h + 1` for a set chosen by the
    /// block at height `h`.
    pub from_height: u64,
    /// The first height of the set that follows, when a block has chosen one; absent while
    /// this set is in force.
    pub until_height: Option<u64>,
    pub validators: Vec<ValidatorInfo>,
    pub total_power: u64,
    /// The hash the headers of the blocks it validates carry (`validators_hash`).
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub hash: String,
    /// Hex of the borsh-encoded `ValidatorSet`.
    #[schema(pattern = "^([0-9a-f]{2})+$")]
    pub set: String,
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

/// What `GET /chains/{chain}/blocks/{height}` answers: a committed block with its
/// certificate, or at height 0 the chain's genesis.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum BlockAnswer {
    Block(BlockInfo),
    Genesis(GenesisInfo),
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
#[derive(Debug, Serialize, Deserialize)]
pub struct SubmitRequest {
    /// Hex of the borsh-encoded `SignedTransaction`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tx: Option<String>,
    /// Hex of each borsh-encoded `SignedTransaction`, at most `SUBMIT_BATCH_TXS_MAX` (1000);
    /// each is answered on its own, in order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub txs: Option<Vec<String>>,
}

impl utoipa::PartialSchema for SubmitRequest {
    fn schema() -> RefOr<Schema> {
        one_or_many_hex("tx", "txs", SUBMIT_BATCH_TXS_MAX)
    }
}

impl ToSchema for SubmitRequest {}

/// What `POST /transactions` answers with 200 or 202: one transaction's status (`tx`), or
/// one result per transaction of a batch (`txs`).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum SubmitAnswer {
    Status(TxStatusBody),
    Batch(SubmitBatchAnswer),
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
    pub validator_bond: Option<ValidatorBondInfo>,
    /// Hex of the borsh-encoded `Object`: what the proof is for.
    pub object: String,
    /// Hex of the borsh-encoded `StateProof`: checks with `verify_object` against the root.
    pub proof: String,
}

/// What a chain's owner locked for a validator's operator, vesting into the host's account.
/// Amounts are decimal strings of base units.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ValidatorBondInfo {
    #[schema(pattern = "^host1[02-9ac-hj-np-z]{58}$")]
    pub host: String,
    #[schema(pattern = "^(0|[1-9][0-9]*)$")]
    pub amount: String,
    /// Paid to the host so far.
    #[schema(pattern = "^(0|[1-9][0-9]*)$")]
    pub released: String,
    /// Vested by the chain's latest block.
    #[schema(pattern = "^(0|[1-9][0-9]*)$")]
    pub vested: String,
    pub start_ms: u64,
    pub vesting_ms: u64,
}

/// What an anchored chain's owner bonded to a host, as last proven to the root.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OwnerBondInfo {
    #[schema(pattern = "^chain1[02-9ac-hj-np-z]{58}$")]
    pub chain_id: String,
    /// The bond's unpaid rest, in the chain's base units.
    #[schema(pattern = "^(0|[1-9][0-9]*)$")]
    pub held: String,
    pub vested_at_ms: u64,
    /// The anchored height it was proven at.
    pub height: u64,
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
/// a signed quote's encoding: exactly one of the two.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct PostQuoteRequest {
    pub quote: Option<String>,
    pub quotes: Option<Vec<String>>,
}

impl utoipa::PartialSchema for PostQuoteRequest {
    fn schema() -> RefOr<Schema> {
        one_or_many_hex("quote", "quotes", POST_QUOTES_MAX)
    }
}

impl ToSchema for PostQuoteRequest {}

/// What `POST /quotes` answers with 200: what the book did with one quote (`quote`), or one
/// result per quote of a batch (`quotes`).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum QuoteAnswer {
    Taken(QuoteTaken),
    Batch(QuoteBatchAnswer),
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

/// What a search found (`GET /search`), at most 20 matches.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SearchAnswer {
    pub matches: Vec<SearchMatch>,
    /// Whether there are more matches than those listed: give more of the id.
    pub more: bool,
}

/// One thing a search found.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SearchMatch {
    /// `chain`, `account`, `escrow`, `channel`, `transaction` or `host`.
    pub kind: String,
    /// Its id: `chain1…`, `acct1…`, `escrow1…`, `chan1…`, `host1…`, or a transaction's hash.
    pub id: String,
    /// The chain it is on: of an account, escrow or channel, a chain a transaction concerned
    /// it on; of a transaction, the chain that committed it.
    #[schema(pattern = "^chain1[02-9ac-hj-np-z]{58}$")]
    pub chain_id: Option<String>,
    /// Of a transaction, the height of the block that holds it.
    pub height: Option<u64>,
}

/// The root chain a host follows: its id, its latest durable block, its rules and committee.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RootInfo {
    #[schema(pattern = "^chain1[02-9ac-hj-np-z]{58}$")]
    pub chain_id: String,
    pub height: u64,
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub state_root: String,
    /// The least bond a registered host holds, in root base units (a decimal string).
    #[schema(pattern = "^(0|[1-9][0-9]*)$")]
    pub host_bond_min: String,
    pub host_lease_ms: u64,
    pub unbond_ms: u64,
    pub anchor_interval_ms: u64,
    pub validators: Vec<ValidatorInfo>,
    /// Hosts in the directory.
    pub hosts: u64,
    /// Chains in the directory (entered by their geneses).
    pub chains: u64,
    /// The validator sets those chains name, each held once.
    pub validator_sets: u64,
}

/// A host's entry in the root's directory.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct HostInfo {
    /// `host1…`
    #[schema(pattern = "^host1[02-9ac-hj-np-z]{58}$")]
    pub host: String,
    /// Where peers reach it: `ip:port`.
    pub p2p: Vec<String>,
    pub api_url: String,
    /// Root currency bonded, in base units (a decimal string).
    #[schema(pattern = "^(0|[1-9][0-9]*)$")]
    pub bond: String,
    pub registered_at_ms: u64,
    pub expires_at_ms: u64,
    /// Whether the registration is in force at the root's latest block.
    pub registered: bool,
    /// What evidence has slashed, how many pieces, and the last one's id.
    #[schema(pattern = "^(0|[1-9][0-9]*)$")]
    pub slashed: String,
    pub evidence: u32,
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub last_evidence: Option<String>,
    /// How many anchored chains the host validates (by the sets the root knows).
    pub chains: u64,
    /// What the owners of anchored chains have bonded to the host, per chain.
    pub owner_bonds: Vec<OwnerBondInfo>,
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
    #[schema(pattern = "^chain1[02-9ac-hj-np-z]{58}$")]
    pub chain_id: String,
    #[schema(pattern = "^acct1[02-9ac-hj-np-z]{58}$")]
    pub owner: String,
    pub symbol: String,
    /// The validator set the root knows in force from `validators_from` on.
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub validators_hash: String,
    pub validators_from: u64,
    pub validators: Vec<DirectoryValidator>,
    /// The latest anchored head: height 0 until a block is anchored.
    pub height: u64,
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub block_hash: String,
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub state_root: String,
    pub anchored_at_ms: u64,
    /// The height of a certified block that showed the root the chain forked, if one ever
    /// did (fork evidence: it cannot be of one chain with a block the root took).
    pub forked_at: Option<u64>,
    /// The root's height and state root this entry was read at.
    pub root_height: u64,
}

/// A validator of a chain, with its directory entry if it is registered.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DirectoryValidator {
    #[schema(pattern = "^host1[02-9ac-hj-np-z]{58}$")]
    pub host: String,
    pub power: u64,
    pub entry: Option<HostInfo>,
}

/// A chain's anchor with its proof: check it trusting only the root's committee.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AnchorProofBody {
    #[schema(pattern = "^chain1[02-9ac-hj-np-z]{58}$")]
    pub chain_id: String,
    #[schema(pattern = "^chain1[02-9ac-hj-np-z]{58}$")]
    pub root_chain_id: String,
    pub root_height: u64,
    /// The anchored head, as the proof shows it.
    pub height: u64,
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub block_hash: String,
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub state_root: String,
    /// Hex of the borsh-encoded `AnchorProof`: the anchor, its path to the root block's
    /// state root, the root block's header and certificate.
    #[schema(pattern = "^([0-9a-f]{2})+$")]
    pub proof: String,
    pub proof_bytes: usize,
}
