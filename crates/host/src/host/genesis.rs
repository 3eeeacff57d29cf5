//! Chains starting: a genesis posted by a client or offered by a peer becomes a hosted chain
//! once it passes the rules and the host's policy; the chain's other validators are sent the
//! genesis, and so are hosts that join the validators later.

use myriad_ledger::ChainState;
use myriad_net::Msg;
use myriad_store::HostStore;
use myriad_types::{
    ChainId, ChainKind, GenesisError, Hash, Height, HostId, SignatureError, SignedGenesis,
};
use tokio::sync::oneshot;

use super::intake::Creation;
use super::table::Slot;
use super::{CreateError, Host, GENESIS_CLOCK_SKEW_MS};

impl<S: HostStore> Host<S> {
    /// Starts the chains of the clients' geneses whose signatures the batch found valid,
    /// and refuses the others.
    pub(super) fn handle_creations(&mut self, creations: Vec<(Creation, bool)>) {
        for (Creation { genesis, reply }, valid) in creations {
            if valid {
                self.create_chain(genesis, reply);
            } else {
                let error = GenesisError::Signature(SignatureError::Invalid(
                    genesis.genesis.owner.to_string(),
                ));
                let _ = reply.send(Err(CreateError::Invalid(error.to_string())));
            }
        }
    }

    /// Checks a genesis, whose owner's signature the tick's batch verified, against the rules
    /// and the host's policy, and starts hosting its chain. A client's genesis must name this
    /// host and be created near its clock ([`GENESIS_CLOCK_SKEW_MS`]); a peer's may be of a
    /// chain that started long ago.
    pub(super) fn accept_genesis(
        &mut self,
        genesis: &SignedGenesis,
        from_client: bool,
    ) -> Result<ChainId, CreateError> {
        let set = genesis
            .genesis
            .validator_set()
            .map_err(|e| CreateError::Invalid(e.to_string()))?;
        let chain = genesis.genesis.chain_id();
        if self.table.load(&*self.store, &chain) {
            return Ok(chain);
        }
        // A root is hosted only as the one configured: another could not be anchored.
        let configured = self.root.as_ref().map(|root| root.chain());
        if matches!(genesis.genesis.kind, ChainKind::Root(_)) && configured != Some(chain) {
            return Err(CreateError::Invalid(
                "a root chain is hosted only as the host's configured root".to_owned(),
            ));
        }
        if from_client && set.power_of(&self.me).is_none() {
            return Err(CreateError::NotNamed(self.me));
        }
        let created_at_ms = genesis.genesis.created_at_ms;
        if from_client && created_at_ms.abs_diff(self.now_ms) > GENESIS_CLOCK_SKEW_MS {
            return Err(CreateError::Clock {
                created_at_ms,
                now_ms: self.now_ms,
            });
        }
        let policy = &self.config.policy;
        if let Some(owners) = &policy.owners {
            if !owners.contains(&genesis.genesis.owner) {
                return Err(CreateError::OwnerRefused(genesis.genesis.owner.to_string()));
            }
        }
        if let Some(max) = policy.chains_max {
            if self.table.hosted() >= max {
                return Err(CreateError::Full(max));
            }
        }
        let mut state = ChainState::from_verified_genesis(&genesis.genesis, set);
        self.table.share_validators(&mut state);
        self.batch.put_genesis(genesis);
        self.batch
            .put_validators(chain, Height(0), &state.meta().validators);
        self.batch.put_chain_state(&state, Hash::ZERO);
        state.clear_changed();
        let slot = Slot::new(state, Hash::ZERO, None, None);
        let peers = slot.peers(&self.me);
        self.table.add(chain, slot);
        self.root_touched(chain);
        for peer in peers {
            self.outbox.send(chain, Msg::Genesis(genesis.clone()), peer);
        }
        Ok(chain)
    }

    fn create_chain(
        &mut self,
        genesis: SignedGenesis,
        reply: oneshot::Sender<Result<ChainId, CreateError>>,
    ) {
        match self.accept_genesis(&genesis, true) {
            Ok(chain) => self.replies.created(chain, reply),
            Err(error) => {
                let _ = reply.send(Err(error));
            }
        }
    }

    /// Sends a chain's genesis to hosts that joined its validators, or asked for it; they
    /// sync the blocks themselves.
    pub(super) fn send_genesis(&mut self, chain: ChainId, joining: Vec<HostId>) {
        if joining.is_empty() {
            return;
        }
        match self.store.genesis(&chain) {
            Ok(Some(genesis)) => {
                for host in joining {
                    self.outbox.send(chain, Msg::Genesis(genesis.clone()), host);
                }
            }
            Ok(None) => {}
            Err(error) => tracing::error!(%chain, %error, "cannot read a genesis"),
        }
    }
}
