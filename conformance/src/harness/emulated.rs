//! Any harness on the `pats-sim` emulator (`pats_sim::start`) instead of a lone simulator:
//! the same provider simulator, behind the emulator's admin API and writing its state file
//! after every change, so the whole suite also runs against what `pats sim serve` serves.

use crate::{DefaultExpiry, Harness};
use async_trait::async_trait;
use pats::{
    ClientOptions, CreateToken, CreatedToken, Expiration, Expiry, PersonalAccessTokens, TokenId,
};
use pats_sim::{FaultRule, Faults};

/// A harness that can run on the simulator an emulator serves.
pub trait OnSim: Harness {
    /// The harness on `emulator`'s simulator of its provider.
    fn on_emulator(emulator: &pats_sim::Emulator) -> Self;
}

/// `H` on a running emulator that keeps its state in a temporary file.
pub struct Emulated<H> {
    inner: H,
    _emulator: pats_sim::Emulator,
    _dir: tempfile::TempDir,
}

#[async_trait]
impl<H: OnSim> Harness for Emulated<H> {
    async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let options = pats_sim::Options::default().state_file(dir.path().join("state.json"));
        let emulator = pats_sim::start(options).unwrap();
        Self {
            inner: H::on_emulator(&emulator),
            _emulator: emulator,
            _dir: dir,
        }
    }

    fn client(&self, options: ClientOptions) -> Box<dyn PersonalAccessTokens> {
        self.inner.client(options)
    }

    fn client_at(&self, base_url: &str, options: ClientOptions) -> Box<dyn PersonalAccessTokens> {
        self.inner.client_at(base_url, options)
    }

    fn client_with_bad_credentials(&self) -> Box<dyn PersonalAccessTokens> {
        self.inner.client_with_bad_credentials()
    }

    fn faults(&self) -> &Faults {
        self.inner.faults()
    }

    fn create_request(&self, name: &str, expiry: Expiry) -> CreateToken {
        self.inner.create_request(name, expiry)
    }

    fn owner(&self) -> Option<String> {
        self.inner.owner()
    }

    fn portable_client(&self) -> Box<dyn PersonalAccessTokens> {
        self.inner.portable_client()
    }

    fn provide_name(&self, name: &str) {
        self.inner.provide_name(name);
    }

    async fn secret_works(&self, created: &CreatedToken) -> bool {
        self.inner.secret_works(created).await
    }

    fn unknown_id(&self) -> TokenId {
        self.inner.unknown_id()
    }

    async fn creates_received(&self) -> usize {
        self.inner.creates_received().await
    }

    async fn stored_expiry(&self, id: &TokenId) -> Expiration {
        self.inner.stored_expiry(id).await
    }

    fn default_expiry(&self) -> DefaultExpiry {
        self.inner.default_expiry()
    }

    fn revoke_rule(&self) -> FaultRule {
        self.inner.revoke_rule()
    }

    fn create_rule(&self) -> FaultRule {
        self.inner.create_rule()
    }

    fn list_rule(&self) -> FaultRule {
        self.inner.list_rule()
    }

    fn known_secrets(&self) -> Vec<String> {
        self.inner.known_secrets()
    }
}
