//! `myriad bench anchor`: the root chain's ledger at scale, in process. Chains enter the
//! directory by their geneses, in root blocks as full as the protocol lets them be; then
//! root blocks anchor a certified head of each chain. Every root block goes the way a
//! validator's tick takes it: its transactions' signatures (the anchorer's, every genesis's
//! owner's, every certificate's) verified in one batch, the block executed by the ledger,
//! and committed — block, certificate and state — to a redb store with its fsync.
//!
//! The chains' certificates are made as hosts make them: each of a chain's four validators
//! signs its precommits of `tick` chains in one tick, one signature per tick, with as many
//! other votes after them (a host puts a tick's precommits first), and three of the four
//! signatures go into a certificate. The heads are packed into batches as a host packs
//! them. Measured: time per root block (verify, execute, commit), heads per root block, the
//! store's bytes per anchored chain, and the size of an anchor proof with the chains all
//! anchored.

use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Context as _, Result};
use myriad_ledger::{
    check_form, execute_block, AnchorProof, ChainState, ANCHOR_TX_BYTES_MAX, BLOCK_TX_BYTES_MAX,
};
use myriad_store::{ChainStore, HostStore, RedbStore, WriteBatch};
use myriad_types::{
    encode, pack, sign_tick, tick_leaf, AnchorEntry, AnchorPacking, AnchoredHead, BatchVerifier,
    Block, BlockHeader, BoundedBytes, BoundedVec, Certificate, ChainId, ChainKind, ChainParams,
    CommitSignature, Genesis, Hash, Height, HostAnnouncement, Object, ObjectKey, RootParams, Round,
    SecretKey, SignedGenesis, SignedTransaction, Symbol, Transaction, TxKind, Validator, Vote,
    VoteStep,
};
use serde::Serialize;

use crate::{mib, quantile, table, BenchDir};

#[derive(Debug, Clone)]
pub struct AnchorOptions {
    /// Chains entered into the directory, then anchored.
    pub chains: u64,
    /// Messages a validator signs in one tick, with one signature.
    pub tick: usize,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct BlockTimes {
    pub blocks: usize,
    /// Entries (geneses or heads) in all.
    pub entries: u64,
    pub entries_per_block: f64,
    pub bytes_per_entry: f64,
    pub signatures_per_block: f64,
    pub verify_ms_p50: f64,
    pub execute_ms_p50: f64,
    pub commit_ms_p50: f64,
    pub total_ms_p50: f64,
    pub total_ms_max: f64,
    pub seconds: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct AnchorResult {
    pub chains: u64,
    pub tick: usize,
    pub block_bytes_max: usize,
    /// Root blocks entering every chain by its genesis.
    pub enter: BlockTimes,
    /// Root blocks anchoring a certified head of every chain.
    pub heads: BlockTimes,
    /// The store's files once everything is anchored (blocks included), per anchored chain.
    pub store_bytes: u64,
    pub store_bytes_per_chain: f64,
    /// The rows of the root's objects (keys and values, before the store's own overhead),
    /// per anchored chain.
    pub state_bytes_per_chain: f64,
    /// What the root's state holds per chain: its anchor object, encoded.
    pub anchor_object_bytes: usize,
    pub proof_bytes: usize,
    pub proof_path_siblings: usize,
}

/// The committee of the root (seeds 200–203) and of every chain (seeds 210–213).
fn keys(first: u8) -> Vec<SecretKey> {
    (first..first + 4)
        .map(|seed| SecretKey::from_seed([seed; 32]))
        .collect()
}

fn validators(keys: &[SecretKey]) -> BoundedVec<Validator, 64> {
    BoundedVec::new(
        keys.iter()
            .map(|key| Validator {
                host: key.host_id(),
                power: 1,
            })
            .collect(),
    )
    .unwrap_or_default()
}

fn genesis(
    owner: &SecretKey,
    keys: &[SecretKey],
    salt: u64,
    kind: ChainKind,
) -> Result<SignedGenesis> {
    let genesis = Genesis {
        owner: owner.address(),
        symbol: Symbol::new("BENCH").map_err(anyhow::Error::msg)?,
        decimals: 2,
        max_supply: None,
        validators: validators(keys),
        created_at_ms: 1_700_000_000_000,
        salt,
        params: ChainParams::default(),
        kind,
    };
    Ok(SignedGenesis::sign(genesis, owner))
}

/// The root chain as its validators hold it: the state, the last block's hash, the store.
struct Root {
    state: ChainState,
    head: Hash,
    store: RedbStore,
    committee: Vec<SecretKey>,
    time_ms: u64,
}

impl Root {
    /// A certificate of `block` by the first three of `keys`, each signing it alone.
    fn certify(block: &Block, keys: &[SecretKey]) -> Certificate {
        let mut certificate = Certificate {
            chain_id: block.header.chain_id,
            height: block.header.height,
            round: Round(0),
            block_hash: block.hash(),
            signatures: BoundedVec::default(),
        };
        let precommit = certificate.precommit();
        let signatures = keys[..3]
            .iter()
            .map(|key| CommitSignature {
                host: key.host_id(),
                signature: myriad_types::sign_alone(key, &precommit),
            })
            .collect();
        certificate.signatures = BoundedVec::new(signatures).unwrap_or_default();
        certificate
    }

    /// One root block of `txs` as a validator takes it; returns (verify, execute, commit)
    /// in milliseconds and the signatures checked.
    fn block(&mut self, txs: Vec<SignedTransaction>) -> Result<([f64; 3], usize)> {
        let started = Instant::now();
        let mut batch = BatchVerifier::new();
        let mut signatures = 0;
        for tx in &txs {
            check_form(&self.state.chain_id(), tx)?;
            for check in tx.signature_checks() {
                batch.queue_check(&check);
                signatures += 1;
            }
        }
        if batch.verify(rand_core::OsRng).is_err() {
            bail!("a root block's signatures do not verify");
        }
        let verified = started.elapsed();
        self.time_ms += 1_000;
        let (state, results, root) = execute_block(self.state.clone(), self.time_ms, &txs);
        let receipts = results
            .into_iter()
            .collect::<Result<Vec<_>, _>>()
            .context("a root transaction was refused")?;
        let executed = started.elapsed();
        let header = BlockHeader {
            chain_id: state.chain_id(),
            height: state.meta().height,
            prev_hash: self.head,
            timestamp_ms: self.time_ms,
            proposer: self.committee[0].host_id(),
            tx_root: myriad_types::tx_root(&txs),
            state_root: root,
            validators_hash: self.state.meta().validators.hash(),
        };
        let block = Block {
            header,
            txs: BoundedVec::new(txs).map_err(|_| anyhow::anyhow!("too many transactions"))?,
        };
        let certificate = Root::certify(&block, &self.committee);
        let mut write = WriteBatch::new();
        write.put_block(&block, &certificate, &receipts);
        write.put_chain_state(&state, block.hash());
        self.store.commit(write)?;
        let mut state = state;
        state.clear_changed();
        self.state = state;
        self.head = block.hash();
        let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
        let done = started.elapsed();
        Ok((
            [ms(verified), ms(executed - verified), ms(done - executed)],
            signatures,
        ))
    }
}

/// Packs entries into anchor transactions (each within `ANCHOR_TX_BYTES_MAX`, their heads
/// packed in batches as a host packs them) and those into root blocks (each within
/// `BLOCK_TX_BYTES_MAX`), in order.
fn blocks_of(
    entries: Vec<AnchorEntry>,
    anchorer: &SecretKey,
    root: ChainId,
    nonce: &mut u64,
) -> Vec<(Vec<SignedTransaction>, u64)> {
    let room = ANCHOR_TX_BYTES_MAX - 4_096;
    let mut txs: Vec<(SignedTransaction, u64)> = Vec::new();
    let mut seal = |packing: AnchorPacking, txs: &mut Vec<(SignedTransaction, u64)>| {
        let current = packing.into_entries();
        if current.is_empty() {
            return;
        }
        *nonce += 1;
        let count = current.len() as u64;
        let entries = BoundedVec::new(pack(current)).unwrap_or_default();
        let tx = SignedTransaction::sign(
            Transaction {
                chain_id: root,
                sender: anchorer.address(),
                nonce: *nonce,
                kind: TxKind::Anchor { entries },
            },
            anchorer,
        );
        txs.push((tx, count));
    };
    let mut packing = AnchorPacking::default();
    for entry in entries {
        let entry = vec![entry];
        if !packing.fits(&entry, room, myriad_types::ANCHOR_ENTRIES_MAX) {
            seal(std::mem::take(&mut packing), &mut txs);
        }
        packing.take(entry);
    }
    seal(packing, &mut txs);
    let mut blocks = Vec::new();
    let (mut block, mut block_bytes, mut count) = (Vec::new(), 0, 0);
    for (tx, entries) in txs {
        let size = encode(&tx).len();
        if block_bytes + size > BLOCK_TX_BYTES_MAX && !block.is_empty() {
            blocks.push((std::mem::take(&mut block), count));
            (block_bytes, count) = (0, 0);
        }
        block_bytes += size;
        count += entries;
        block.push(tx);
    }
    if !block.is_empty() {
        blocks.push((block, count));
    }
    blocks
}

/// Runs root blocks over `blocks`, timing each.
fn run_blocks(root: &mut Root, blocks: Vec<(Vec<SignedTransaction>, u64)>) -> Result<BlockTimes> {
    let started = Instant::now();
    let (mut verify, mut execute, mut commit, mut total) = (vec![], vec![], vec![], vec![]);
    let (mut entries, mut bytes, mut signatures) = (0u64, 0usize, 0usize);
    let count = blocks.len();
    for (txs, in_block) in blocks {
        bytes += txs.iter().map(|tx| encode(tx).len()).sum::<usize>();
        entries += in_block;
        let ([v, e, c], checked) = root.block(txs)?;
        signatures += checked;
        verify.push(v);
        execute.push(e);
        commit.push(c);
        total.push(v + e + c);
    }
    for times in [&mut verify, &mut execute, &mut commit, &mut total] {
        times.sort_by(f64::total_cmp);
    }
    Ok(BlockTimes {
        blocks: count,
        entries,
        entries_per_block: entries as f64 / count.max(1) as f64,
        bytes_per_entry: bytes as f64 / entries.max(1) as f64,
        signatures_per_block: signatures as f64 / count.max(1) as f64,
        verify_ms_p50: quantile(&verify, 0.5),
        execute_ms_p50: quantile(&execute, 0.5),
        commit_ms_p50: quantile(&commit, 0.5),
        total_ms_p50: quantile(&total, 0.5),
        total_ms_max: total.iter().copied().fold(0.0, f64::max),
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// The first certified block of each chain, its validators signing precommits in ticks of
/// `tick` chains.
fn certified_heads(
    geneses: &[SignedGenesis],
    keys: &[SecretKey],
    tick: usize,
) -> Result<Vec<AnchorEntry>> {
    let mut entries = Vec::with_capacity(geneses.len());
    for group in geneses.chunks(tick.max(1)) {
        let blocks = group
            .iter()
            .map(|genesis| {
                let set = genesis.genesis.validator_set()?;
                let state = ChainState::from_verified_genesis(&genesis.genesis, set);
                Ok(Block {
                    header: BlockHeader {
                        chain_id: state.chain_id(),
                        height: Height(1),
                        prev_hash: Hash::ZERO,
                        timestamp_ms: genesis.genesis.created_at_ms + 1_000,
                        proposer: keys[0].host_id(),
                        tx_root: Hash::ZERO,
                        state_root: state.state_root(),
                        validators_hash: state.meta().validators.hash(),
                    },
                    txs: BoundedVec::default(),
                })
            })
            .collect::<Result<Vec<Block>>>()?;
        let precommits: Vec<Vote> = blocks
            .iter()
            .map(|block| Vote {
                chain_id: block.header.chain_id,
                height: Height(1),
                round: Round(0),
                step: VoteStep::Precommit,
                block_hash: Some(block.hash()),
            })
            .collect();
        // A host's tick holds other votes too, after its precommits (as a host orders
        // them): here as many prevotes of the chains' next heights.
        let prevotes = precommits.iter().map(|precommit| Vote {
            height: Height(2),
            step: VoteStep::Prevote,
            ..precommit.clone()
        });
        let leaves: Vec<Hash> = precommits
            .iter()
            .map(tick_leaf)
            .chain(prevotes.map(|prevote| tick_leaf(&prevote)))
            .collect();
        let signed: Vec<_> = keys[..3]
            .iter()
            .map(|key| sign_tick(key, &leaves))
            .collect();
        for (i, block) in blocks.into_iter().enumerate() {
            let signatures = keys[..3]
                .iter()
                .zip(&signed)
                .map(|(key, ticks)| CommitSignature {
                    host: key.host_id(),
                    signature: ticks[i].clone(),
                })
                .collect();
            let certificate = Certificate {
                chain_id: block.header.chain_id,
                height: Height(1),
                round: Round(0),
                block_hash: block.hash(),
                signatures: BoundedVec::new(signatures).unwrap_or_default(),
            };
            entries.push(AnchorEntry::Head(Box::new(AnchoredHead {
                changes: BoundedVec::default(),
                header: block.header,
                certificate,
                bonds: BoundedVec::default(),
            })));
        }
    }
    Ok(entries)
}

pub fn run(dir: &BenchDir, options: &AnchorOptions) -> Result<AnchorResult> {
    let store_dir = dir.dir.join("anchor");
    if store_dir.exists() {
        std::fs::remove_dir_all(&store_dir)?;
    }
    std::fs::create_dir_all(&store_dir)?;
    let store_path = store_dir.join("root.redb");
    let committee = keys(200);
    let chain_keys = keys(210);
    let owner = SecretKey::from_seed([220; 32]);
    let anchorer = SecretKey::from_seed([221; 32]);
    let params = RootParams::default();
    let root_genesis = genesis(&owner, &committee, 0, ChainKind::Root(params))?;
    let state = ChainState::from_genesis(&root_genesis)?;
    let store = RedbStore::open(&store_path)?;
    let mut first = WriteBatch::new();
    first.put_genesis(&root_genesis);
    first.put_chain_state(&state, Hash::ZERO);
    store.commit(first)?;
    let root_id = state.chain_id();
    let mut root = Root {
        state,
        head: Hash::ZERO,
        store,
        committee: committee.clone(),
        time_ms: 1_700_000_000_000,
    };
    // The anchorer gets root currency and registers.
    let announce = |text: &str| BoundedBytes::new(text.as_bytes().to_vec()).unwrap_or_default();
    let setup = vec![
        SignedTransaction::sign(
            Transaction {
                chain_id: root_id,
                sender: owner.address(),
                nonce: 1,
                kind: TxKind::Mint {
                    to: anchorer.address(),
                    amount: params.host_bond_min,
                },
            },
            &owner,
        ),
        SignedTransaction::sign(
            Transaction {
                chain_id: root_id,
                sender: anchorer.address(),
                nonce: 1,
                kind: TxKind::RegisterHost {
                    announcement: HostAnnouncement {
                        p2p: BoundedVec::new(vec![announce("127.0.0.1:7000")]).unwrap_or_default(),
                        api_url: announce("http://127.0.0.1:8000"),
                    },
                    bond: params.host_bond_min,
                },
            },
            &anchorer,
        ),
    ];
    root.block(setup)?;
    let mut nonce = 1;

    eprintln!("signing {} geneses…", options.chains);
    let geneses: Vec<SignedGenesis> = (0..options.chains)
        .map(|salt| genesis(&owner, &chain_keys, salt, ChainKind::Personal))
        .collect::<Result<_>>()?;
    eprintln!("entering them into the directory…");
    let entries = geneses
        .iter()
        .map(|g| AnchorEntry::Genesis(Box::new(g.clone())))
        .collect();
    let enter = run_blocks(
        &mut root,
        blocks_of(entries, &anchorer, root_id, &mut nonce),
    )?;
    eprintln!("certifying and anchoring their first blocks…");
    let heads = certified_heads(&geneses, &chain_keys, options.tick)?;
    let heads = run_blocks(&mut root, blocks_of(heads, &anchorer, root_id, &mut nonce))?;

    let probe = geneses
        .first()
        .map(|g| g.genesis.chain_id())
        .context("no chains")?;
    let anchor = match root.state.object(&ObjectKey::Anchor(probe)) {
        Some(Object::Anchor(anchor)) => anchor.clone(),
        _ => bail!("chain {probe} is not anchored"),
    };
    if anchor.height != Height(1) {
        bail!("chain {probe} is anchored at {}, not 1", anchor.height);
    }
    let (root_block, root_certificate) = root
        .store
        .certified_block(&root_id, root.state.meta().height)?
        .context("the last root block is not stored")?;
    let proof = AnchorProof {
        anchor: anchor.clone(),
        path: root.state.prove_object(&ObjectKey::Anchor(probe)),
        root_header: root_block.header,
        root_certificate,
    };
    let committee_set = root.state.meta().validators.as_ref().clone();
    proof.verify(&root_id, &committee_set, &probe)?;
    let Root { store, state, .. } = root;
    drop(store);
    let store_bytes = file_bytes(&store_dir)?;
    let state_bytes = state_row_bytes(&state);
    Ok(AnchorResult {
        chains: options.chains,
        tick: options.tick,
        block_bytes_max: BLOCK_TX_BYTES_MAX,
        enter,
        heads,
        store_bytes,
        store_bytes_per_chain: store_bytes as f64 / options.chains.max(1) as f64,
        state_bytes_per_chain: state_bytes as f64 / options.chains.max(1) as f64,
        anchor_object_bytes: encode(&Object::Anchor(anchor)).len(),
        proof_bytes: encode(&proof).len(),
        proof_path_siblings: proof.path.path.siblings.len(),
    })
}

/// The bytes of the rows a store keeps for `state`'s objects: each row's key (chain, kind
/// and the object's tree key: 65 bytes) and its encoded value.
fn state_row_bytes(state: &ChainState) -> u64 {
    state
        .objects()
        .map(|object| 65 + encode(object).len() as u64)
        .sum()
}

/// The bytes of every file under `dir`.
fn file_bytes(dir: &Path) -> Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir)? {
        let meta = entry?.metadata()?;
        if meta.is_file() {
            total += meta.len();
        }
    }
    Ok(total)
}

pub fn report(dir: &BenchDir, result: &AnchorResult) -> Result<String> {
    let json = dir.write_json("anchor", result)?;
    let blocks = |times: &BlockTimes| {
        format!(
            "{} root blocks of {:.0} entries ({:.0} bytes each, {:.0} signatures a block): p50 {:.0} ms (verify {:.0}, execute {:.0}, commit {:.0}), max {:.0} ms; {:.1} s in all",
            times.blocks,
            times.entries_per_block,
            times.bytes_per_entry,
            times.signatures_per_block,
            times.total_ms_p50,
            times.verify_ms_p50,
            times.execute_ms_p50,
            times.commit_ms_p50,
            times.total_ms_max,
            times.seconds
        )
    };
    let rows = [
        (
            "chains".to_owned(),
            format!(
                "{} (validators sign precommits in ticks of {})",
                result.chains, result.tick
            ),
        ),
        ("entering (geneses)".to_owned(), blocks(&result.enter)),
        ("anchoring (heads)".to_owned(), blocks(&result.heads)),
        (
            "root store".to_owned(),
            format!(
                "{} with its blocks, {:.0} bytes per anchored chain; the state's rows {:.0} bytes per chain (its anchor object: {} bytes)",
                mib(result.store_bytes as f64),
                result.store_bytes_per_chain,
                result.state_bytes_per_chain,
                result.anchor_object_bytes
            ),
        ),
        (
            "anchor proof".to_owned(),
            format!(
                "{} bytes ({} siblings on its path)",
                result.proof_bytes, result.proof_path_siblings
            ),
        ),
        ("result".to_owned(), json.display().to_string()),
    ];
    Ok(table("myriad bench anchor", &rows))
}
