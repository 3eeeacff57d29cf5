//! Search: what an id, a hash or the start of one names on this host. A chain or host id's
//! start finds the chains this host holds and the hosts of the root's directory in id order
//! from it; a hash's start, committed transactions in hash order; a whole account, escrow or
//! channel id, the chains a transaction concerned it on (the store's id index). At most
//! [`SEARCH_MATCHES_MAX`] matches.

use myriad_api_types::{SearchAnswer, SearchMatch};
use myriad_types::{ChannelId, EscrowId, HostId};

use super::*;

/// The most matches a search answers.
pub const SEARCH_MATCHES_MAX: usize = 20;
/// The longest query: an id, with room for stray spaces.
pub const SEARCH_QUERY_CHARS_MAX: usize = 100;

/// The bech32 alphabet, by 5-bit value.
const BECH32: &str = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";

#[derive(Debug, Deserialize)]
pub(crate) struct SearchQuery {
    q: Option<String>,
}

/// What a query names: chains, accounts, escrows, channels, transactions or hosts.
#[utoipa::path(get, path = "/search",
    params(("q" = String, Query, min_length = 1, max_length = 100,
        description = "an id (chain1…, acct1…, escrow1…, chan1…, host1…) or the start of a chain or host id, or a transaction hash or its start (hex)")),
    responses((status = 200, body = SearchAnswer), (status = 400, body = ErrorBody), (status = 500, body = ErrorBody)))]
pub(crate) async fn search(
    State(handle): State<HostHandle>,
    query: Result<Query<SearchQuery>, QueryRejection>,
) -> Result<Json<SearchAnswer>, ApiError> {
    let Query(query) = query.map_err(rejected)?;
    let text = query.q.as_deref().map(str::trim).unwrap_or_default();
    if text.is_empty() || text.chars().count() > SEARCH_QUERY_CHARS_MAX {
        return Err(bad_request(format!(
            "q: give an id, a hash or the start of one, 1 to {SEARCH_QUERY_CHARS_MAX} characters"
        )));
    }
    let lower = text.to_ascii_lowercase();
    let store = &handle.store;
    let seen_on = |kind: &str, id: [u8; 32]| -> Result<Vec<SearchMatch>, ApiError> {
        let chains = store
            .chains_of(&id, None, SEARCH_MATCHES_MAX + 1)
            .map_err(internal)?;
        Ok(chains
            .into_iter()
            .map(|chain| found(kind, text, Some(chain), None))
            .collect())
    };
    let matches = if let Ok(address) = text.parse::<Address>() {
        seen_on("account", address.0)?
    } else if let Ok(escrow) = text.parse::<EscrowId>() {
        seen_on("escrow", escrow.0)?
    } else if let Ok(channel) = text.parse::<ChannelId>() {
        seen_on("channel", channel.0)?
    } else if let Some(first) = id_start(&lower, "chain") {
        let after = before(first).map(ChainId);
        let chains = store
            .chains(after.as_ref(), SEARCH_MATCHES_MAX + 1)
            .map_err(internal)?;
        chains
            .into_iter()
            .map(|(chain, _)| chain.to_string())
            .take_while(|id| id.starts_with(&lower))
            .map(|id| found("chain", &id, None, None))
            .collect()
    } else if let Some(first) = id_start(&lower, "host") {
        let view = handle
            .root_view
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        view.map(|view| {
            view.hosts
                .range(HostId(first)..)
                .map(|(host, _)| host.to_string())
                .take_while(|id| id.starts_with(&lower))
                .take(SEARCH_MATCHES_MAX + 1)
                .map(|id| found("host", &id, None, None))
                .collect()
        })
        .unwrap_or_default()
    } else if lower.len() <= 64 && lower.bytes().all(|c| c.is_ascii_hexdigit()) {
        let first: Hash = format!("{lower:0<64}")
            .parse()
            .map_err(|e: myriad_types::ParseIdError| bad_request(e.to_string()))?;
        store
            .txs_from(&first, SEARCH_MATCHES_MAX + 1)
            .map_err(internal)?
            .into_iter()
            .filter(|(tx, _, _)| tx.to_string().starts_with(&lower))
            .map(|(tx, chain, height)| {
                found("transaction", &tx.to_string(), Some(chain), Some(height))
            })
            .collect()
    } else {
        return Err(bad_request(format!(
            "\"{}\" is not an id (chain1…, acct1…, escrow1…, chan1…, host1…), a hash, or the start of a chain id, host id or hash",
            brief(text)
        )));
    };
    let more = matches.len() > SEARCH_MATCHES_MAX;
    Ok(Json(SearchAnswer {
        matches: matches.into_iter().take(SEARCH_MATCHES_MAX).collect(),
        more,
    }))
}

fn found(kind: &str, id: &str, chain: Option<ChainId>, height: Option<Height>) -> SearchMatch {
    SearchMatch {
        kind: kind.to_owned(),
        id: id.to_owned(),
        chain_id: chain.map(|chain| chain.to_string()),
        height: height.map(|height| height.0),
    }
}

/// The lowest 32-byte id whose `prefix1…` form starts with `text`: the bits its characters
/// spell, then zeros; `None` if `text` is not the start of such an id.
fn id_start(text: &str, prefix: &str) -> Option<[u8; 32]> {
    let data = text.strip_prefix(prefix)?.strip_prefix('1')?;
    let mut id = [0u8; 32];
    for (index, c) in data.chars().enumerate() {
        let value = BECH32.find(c)?;
        for bit in 0..5 {
            let at = index * 5 + bit;
            // Past the 256 bits of the id are the checksum's characters.
            if at < 256 && (value >> (4 - bit)) & 1 == 1 {
                id[at / 8] |= 0x80 >> (at % 8);
            }
        }
    }
    Some(id)
}

/// The id just before `id` in byte order (`None` before the first), so that a listing
/// "after" it starts at `id`.
fn before(mut id: [u8; 32]) -> Option<[u8; 32]> {
    for byte in id.iter_mut().rev() {
        if *byte > 0 {
            *byte -= 1;
            return Some(id);
        }
        *byte = u8::MAX;
    }
    None
}
