//! The root chain as a host that follows it serves it: its rules and committee, its
//! directory of hosts and chains, and anchor proofs a light client checks trusting only the
//! root's committee. Read from the host's view of the root as of its last durable block.

use std::sync::{Arc, PoisonError};

use myriad_host::RootView;
use myriad_ledger::AnchorProof;
use myriad_types::{ChainAnchor, ChainKind, HostEntry, HostId, Object, ObjectKey};

use super::*;

/// The host's view of the root, or why there is none.
fn view(handle: &HostHandle) -> Result<Arc<RootView>, ApiError> {
    if handle.root.is_none() {
        return Err(not_found("this host follows no root chain"));
    }
    handle
        .root_view
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
        .ok_or_else(|| not_found("this host does not hold the root chain yet"))
}

/// The chain a path names, with the host's view of the root and the chain's anchor in it.
fn anchored(
    handle: &HostHandle,
    path: Result<Path<String>, PathRejection>,
) -> Result<(Arc<RootView>, ChainId, ChainAnchor), ApiError> {
    let Path(chain) = path.map_err(rejected)?;
    let chain: ChainId = parse("chain id", &chain)?;
    let view = view(handle)?;
    match view.state.object(&ObjectKey::Anchor(chain)) {
        Some(Object::Anchor(anchor)) => {
            let anchor = anchor.clone();
            Ok((view, chain, anchor))
        }
        _ => Err(not_found(format!(
            "chain {chain} is not in the root's directory"
        ))),
    }
}

fn host_info(view: &RootView, entry: &HostEntry) -> HostInfo {
    let chains = view
        .sets
        .values()
        .filter(|known| known.validators.power_of(&entry.host).is_some())
        .map(|known| known.chains)
        .sum();
    HostInfo {
        host: entry.host.to_string(),
        p2p: entry.announcement.p2p_text().map(str::to_owned).collect(),
        api_url: entry.announcement.api_url_text().to_owned(),
        bond: entry.bond.to_string(),
        registered_at_ms: entry.registered_at_ms,
        expires_at_ms: entry.expires_at_ms,
        registered: entry.is_registered(view.state.meta().time_ms),
        slashed: entry.slashed.to_string(),
        evidence: entry.evidence,
        last_evidence: entry.last_evidence.map(|id| id.to_string()),
        chains,
        owner_bonds: view
            .bonds_of(&entry.host)
            .map(|bond| OwnerBondInfo {
                chain_id: bond.chain_id.to_string(),
                held: bond.held.to_string(),
                vested_at_ms: bond.vested_at_ms,
                height: bond.height.0,
            })
            .collect(),
    }
}

/// The root chain this host follows: its latest durable block, rules and committee.
#[utoipa::path(get, path = "/root",
    responses((status = 200, body = RootInfo), (status = 404, body = ErrorBody)))]
pub(crate) async fn root(State(handle): State<HostHandle>) -> Result<Json<RootInfo>, ApiError> {
    let view = view(&handle)?;
    let meta = view.state.meta();
    let ChainKind::Root(params) = meta.kind else {
        return Err(internal("the configured root chain is not a root chain"));
    };
    Ok(Json(RootInfo {
        chain_id: view.chain.to_string(),
        height: meta.height.0,
        state_root: view.state.state_root().to_string(),
        host_bond_min: params.host_bond_min.to_string(),
        host_lease_ms: params.host_lease_ms,
        unbond_ms: params.unbond_ms,
        anchor_interval_ms: params.anchor_interval_ms,
        validators: meta
            .validators
            .validators()
            .iter()
            .map(|v| ValidatorInfo {
                host: v.host.to_string(),
                power: v.power,
            })
            .collect(),
        hosts: view.hosts.len() as u64,
        chains: view.sets.values().map(|set| set.chains).sum(),
        validator_sets: view.sets.len() as u64,
    }))
}

#[derive(Debug, Deserialize)]
pub(crate) struct HostsQuery {
    after: Option<String>,
    limit: Option<usize>,
}

/// The root's directory of hosts, in host id order, a page at a time.
#[utoipa::path(get, path = "/root/hosts",
    params(("after" = Option<String>, Query, description = "list hosts after this host id (host1…)", pattern = "^host1[02-9ac-hj-np-z]{58}$"),
        ("limit" = Option<usize>, Query, minimum = 1, maximum = 1000, description = "1 to 1000; default 100")),
    responses((status = 200, body = HostList), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn hosts(
    State(handle): State<HostHandle>,
    query: Result<Query<HostsQuery>, QueryRejection>,
) -> Result<Json<HostList>, ApiError> {
    let Query(query) = query.map_err(rejected)?;
    let limit = page_limit(query.limit)?;
    let after: Option<HostId> = query
        .after
        .as_deref()
        .map(|text| parse("host id", text))
        .transpose()?;
    let view = view(&handle)?;
    let start = match after {
        Some(after) => std::ops::Bound::Excluded(after),
        None => std::ops::Bound::Unbounded,
    };
    let mut page = view.hosts.range((start, std::ops::Bound::Unbounded));
    let hosts: Vec<HostInfo> = page
        .by_ref()
        .take(limit)
        .map(|(_, entry)| host_info(&view, entry))
        .collect();
    let next = match page.next() {
        Some(_) => hosts.last().map(|host| host.host.clone()),
        None => None,
    };
    Ok(Json(HostList { hosts, next }))
}

/// One host's directory entry.
#[utoipa::path(get, path = "/root/hosts/{host}",
    params(("host" = String, Path, description = "host1…", pattern = "^host1[02-9ac-hj-np-z]{58}$")),
    responses((status = 200, body = HostInfo), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn host(
    State(handle): State<HostHandle>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<HostInfo>, ApiError> {
    let Path(host) = path.map_err(rejected)?;
    let host: HostId = parse("host id", &host)?;
    let view = view(&handle)?;
    let entry = view
        .hosts
        .get(&host)
        .ok_or_else(|| not_found(format!("host {host} is not in the root's directory")))?;
    Ok(Json(host_info(&view, entry)))
}

/// A chain's directory entry: its genesis's owner and symbol, the validator set the root
/// knows (each validator with its directory entry: where to reach it) and its last anchor.
#[utoipa::path(get, path = "/root/chains/{chain}",
    params(("chain" = String, Path, description = "chain1…", pattern = "^chain1[02-9ac-hj-np-z]{58}$")),
    responses((status = 200, body = DirectoryChain), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn directory_chain(
    State(handle): State<HostHandle>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<DirectoryChain>, ApiError> {
    let (view, chain, anchor) = anchored(&handle, path)?;
    let validators = view
        .sets
        .get(&anchor.validators_hash)
        .map(|known| known.validators.validators().to_vec())
        .unwrap_or_default();
    Ok(Json(DirectoryChain {
        chain_id: chain.to_string(),
        owner: anchor.owner.to_string(),
        symbol: anchor.symbol.as_str().to_owned(),
        validators_hash: anchor.validators_hash.to_string(),
        validators_from: anchor.validators_from.0,
        validators: validators
            .iter()
            .map(|v| DirectoryValidator {
                host: v.host.to_string(),
                power: v.power,
                entry: view.hosts.get(&v.host).map(|entry| host_info(&view, entry)),
            })
            .collect(),
        height: anchor.height.0,
        block_hash: anchor.block_hash.to_string(),
        state_root: anchor.state_root.to_string(),
        anchored_at_ms: anchor.anchored_at_ms,
        forked_at: anchor.forked_at.map(|h| h.0),
        root_height: view.state.meta().height.0,
    }))
}

/// A chain's anchor with its proof: the anchor's path to the state root of the root's
/// latest durable block, and that block's header and certificate.
#[utoipa::path(get, path = "/root/anchors/{chain}",
    params(("chain" = String, Path, description = "chain1…", pattern = "^chain1[02-9ac-hj-np-z]{58}$")),
    responses((status = 200, body = AnchorProofBody), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub(crate) async fn anchor_proof(
    State(handle): State<HostHandle>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<AnchorProofBody>, ApiError> {
    let (view, chain, anchor) = anchored(&handle, path)?;
    let height = view.state.meta().height;
    let store = handle.store.clone();
    let root = view.chain;
    let (block, certificate) =
        tokio::task::spawn_blocking(move || store.certified_block(&root, height))
            .await
            .map_err(internal)?
            .map_err(internal)?
            .ok_or_else(|| not_found(format!("the root's block {height} is not stored here")))?;
    let proof = AnchorProof {
        anchor: anchor.clone(),
        path: view.state.prove_object(&ObjectKey::Anchor(chain)),
        root_header: block.header,
        root_certificate: certificate,
    };
    let bytes = encode(&proof);
    Ok(Json(AnchorProofBody {
        chain_id: chain.to_string(),
        root_chain_id: root.to_string(),
        root_height: height.0,
        height: anchor.height.0,
        block_hash: anchor.block_hash.to_string(),
        state_root: anchor.state_root.to_string(),
        proof_bytes: bytes.len(),
        proof: hex::encode(bytes),
    }))
}
