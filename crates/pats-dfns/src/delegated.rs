//! Delegated signing: every change in two steps, *init* and *complete*, so that the user
//! action challenge can be signed elsewhere (an end user's passkey, a signer in another
//! process) — what `@dfns/sdk`'s `DfnsDelegatedApiClient` offers.

use crate::Pat;
use crate::client::{
    Bodiless, DfnsClient, check_create_body, check_token_id, check_update_body, create_body,
    created_pat, update_body,
};
use crate::error::check;
use crate::generated::{CreatePersonalAccessTokenBody, UpdatePersonalAccessTokenBody};
use crate::model::{CreatedPat, NewPat, PatUpdate};
use crate::user_action::{self, SignedAssertion, USER_ACTION_HEADER, UserActionChallenge};
use pats_core::reexports::reqwest::header::{HeaderName, HeaderValue};
use pats_core::{Error, Request, Result, TokenId};
use sha2::Digest as _;
use std::fmt;

/// Which change a [`PendingChange`] holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum ChangeKind {
    /// `POST /auth/pats`.
    CreatePat,
    /// `PUT /auth/pats/{tokenId}`.
    UpdatePat,
    /// `PUT /auth/pats/{tokenId}/activate`.
    ActivatePat,
    /// `PUT /auth/pats/{tokenId}/deactivate`.
    DeactivatePat,
    /// `DELETE /auth/pats/{tokenId}`.
    DeletePat,
}

impl ChangeKind {
    fn method(self) -> &'static str {
        match self {
            Self::CreatePat => "POST",
            Self::UpdatePat | Self::ActivatePat | Self::DeactivatePat => "PUT",
            Self::DeletePat => "DELETE",
        }
    }

    fn bodiless(self) -> Option<Bodiless> {
        match self {
            Self::ActivatePat => Some(Bodiless::Activate),
            Self::DeactivatePat => Some(Bodiless::Deactivate),
            Self::DeletePat => Some(Bodiless::Delete),
            Self::CreatePat | Self::UpdatePat => None,
        }
    }
}

/// A change that was initiated (`POST /auth/action/init` for its exact method, path and
/// body) and waits for its signed challenge.
///
/// Serializable with serde, so that it can be stored or sent to another process between
/// [init](DfnsClient::create_pat_init) and [complete](DfnsClient::create_pat_complete). It
/// holds the [challenge](Self::challenge) to sign and exactly what will be sent: the
/// method, the path and the body bytes. It never holds a key or an access token; `Debug`
/// also hides the challenge identifier.
///
/// Completing checks, before sending anything, that the change is still what was
/// initiated: the body and path are the ones bound at init (a SHA-256 over kind, method,
/// path, body and challenge identifier), the body passes the same checks as the one-step
/// call, and the assertion signs this challenge. Dfns itself refuses a user action whose
/// method, path or payload differ from the initiated ones.
#[derive(Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingChange {
    kind: ChangeKind,
    method: String,
    path: String,
    body: Option<String>,
    challenge: UserActionChallenge,
    binding: String,
}

impl fmt::Debug for PendingChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingChange")
            .field("kind", &self.kind)
            .field("method", &self.method)
            .field("path", &self.path)
            .field("body", &self.body)
            .field("challenge", &self.challenge)
            .finish_non_exhaustive()
    }
}

impl PendingChange {
    /// Which change this is.
    pub fn kind(&self) -> ChangeKind {
        self.kind
    }

    /// The method that will be sent.
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The API path that will be sent (and was signed): no host, no query.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The exact body that will be sent (and was signed), if any.
    pub fn body(&self) -> Option<&str> {
        self.body.as_deref()
    }

    /// The user action challenge to sign.
    pub fn challenge(&self) -> &UserActionChallenge {
        &self.challenge
    }

    fn binding_of(
        kind: ChangeKind,
        method: &str,
        path: &str,
        body: Option<&str>,
        challenge: &UserActionChallenge,
    ) -> String {
        let mut hash = sha2::Sha256::new();
        for part in [
            format!("{kind:?}"),
            method.to_owned(),
            path.to_owned(),
            body.map_or_else(|| "-".to_owned(), |b| format!("+{b}")),
            challenge.identifier().to_owned(),
        ] {
            hash.update((part.len() as u64).to_be_bytes());
            hash.update(part.as_bytes());
        }
        hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Everything [complete](DfnsClient::create_pat_complete) checks before sending.
    fn check(&self, expected: ChangeKind) -> Result<()> {
        let tampered = |reason: String| Err(Error::invalid("pending_change", reason));
        if self.kind != expected {
            return tampered(format!(
                "this is a {:?} change, not a {expected:?} one",
                self.kind
            ));
        }
        let binding = Self::binding_of(
            self.kind,
            &self.method,
            &self.path,
            self.body.as_deref(),
            &self.challenge,
        );
        if binding != self.binding {
            return tampered(
                "its method, path, body or challenge differ from what was initiated".to_owned(),
            );
        }
        if self.method != self.kind.method() {
            return tampered(format!(
                "a {:?} change is a {}, not a {}",
                self.kind,
                self.kind.method(),
                self.method
            ));
        }
        let segments: Vec<&str> = self
            .path
            .strip_prefix('/')
            .unwrap_or_default()
            .split('/')
            .collect();
        let token = match (self.kind, segments.as_slice()) {
            (ChangeKind::CreatePat, ["auth", "pats"]) => None,
            (ChangeKind::UpdatePat | ChangeKind::DeletePat, ["auth", "pats", id])
            | (ChangeKind::ActivatePat, ["auth", "pats", id, "activate"])
            | (ChangeKind::DeactivatePat, ["auth", "pats", id, "deactivate"]) => Some(*id),
            _ => {
                return tampered(format!(
                    "`{}` is not the path of a {:?} change",
                    self.path, self.kind
                ));
            }
        };
        if let Some(id) = token {
            check_token_id(&TokenId::new(id)?)?;
        }
        match (self.kind, self.body.as_deref()) {
            (ChangeKind::CreatePat, Some(body)) => {
                let parsed: CreatePersonalAccessTokenBody = serde_json::from_str(body)
                    .map_err(|e| Error::invalid("pending_change", format!("body: {e}")))?;
                check_create_body(&parsed)
            }
            (ChangeKind::UpdatePat, Some(body)) => {
                let parsed: UpdatePersonalAccessTokenBody = serde_json::from_str(body)
                    .map_err(|e| Error::invalid("pending_change", format!("body: {e}")))?;
                check_update_body(&parsed)
            }
            (ChangeKind::ActivatePat | ChangeKind::DeactivatePat | ChangeKind::DeletePat, None) => {
                Ok(())
            }
            _ => tampered(format!(
                "a {:?} change {}",
                self.kind,
                if self.body.is_some() {
                    "has no body"
                } else {
                    "needs a body"
                }
            )),
        }
    }
}

impl DfnsClient {
    async fn init_change(
        &self,
        kind: ChangeKind,
        path: String,
        body: Option<String>,
    ) -> Result<PendingChange> {
        let method = kind.method();
        let challenge = user_action::init(
            self.transport(),
            method,
            &path,
            body.as_deref().unwrap_or_default().as_bytes(),
        )
        .await?;
        let binding = PendingChange::binding_of(kind, method, &path, body.as_deref(), &challenge);
        Ok(PendingChange {
            kind,
            method: method.to_owned(),
            path,
            body,
            challenge,
            binding,
        })
    }

    async fn complete_change(
        &self,
        pending: &PendingChange,
        expected: ChangeKind,
        assertion: &SignedAssertion,
    ) -> Result<pats_core::Response> {
        pending.check(expected)?;
        assertion.check_against(&pending.challenge)?;
        let segments: Vec<&str> = pending.path.trim_start_matches('/').split('/').collect();
        let request = match expected.bodiless() {
            Some(change) => {
                // `check` made sure the path is `/auth/pats/{id}[/verb]`.
                let id = segments.get(2).copied().unwrap_or_default();
                change.request(&TokenId::new(id)?)?
            }
            None => {
                use crate::generated::operations as ops;
                let template = match expected {
                    ChangeKind::CreatePat => {
                        Request::operation(&ops::CREATE_PERSONAL_ACCESS_TOKEN, &[])?
                    }
                    // `check` made sure the path is `/auth/pats/{id}`.
                    _ => Request::operation(
                        &ops::UPDATE_PERSONAL_ACCESS_TOKEN,
                        &[segments.get(2).copied().unwrap_or_default()],
                    )?,
                };
                let body = pending.body.clone().unwrap_or_default();
                template.body(
                    body.into_bytes(),
                    HeaderValue::from_static("application/json"),
                )
            }
        };
        let token = user_action::complete(self.transport(), &pending.challenge, assertion).await?;
        let request = request
            .header(
                HeaderName::from_static(USER_ACTION_HEADER),
                user_action::header_value(&token)?,
            )
            .secret(token.clone())
            // A user action token is single-use: this request is never sent twice.
            .idempotent(false);
        check(self.transport().send(request).await?)
    }

    /// Step 1 of a delegated create: checks `pat` as [`create_pat`](Self::create_pat)
    /// does and obtains the user action challenge for its exact body. The PAT's public key
    /// must be given ([`NewPat::public_key_pem`]; a pending change never carries a private
    /// key). No signer is needed.
    pub async fn create_pat_init(&self, pat: &NewPat) -> Result<PendingChange> {
        let (body, _) = create_body(pat, false)?;
        let body = serde_json::to_string(&body)
            .map_err(|e| Error::invalid("body", format!("cannot serialize: {e}")))?;
        self.init_change(ChangeKind::CreatePat, "/auth/pats".to_owned(), Some(body))
            .await
    }

    /// Step 2 of a delegated create: checks `pending` and `assertion`, exchanges the
    /// assertion for a user action token (`POST /auth/action`) and sends the create.
    /// [`CreatedPat::private_key`] is `None`: the key pair is yours.
    pub async fn create_pat_complete(
        &self,
        pending: &PendingChange,
        assertion: &SignedAssertion,
    ) -> Result<CreatedPat> {
        let resp = self
            .complete_change(pending, ChangeKind::CreatePat, assertion)
            .await?;
        created_pat(&resp, None)
    }

    /// Step 1 of a delegated update (see [`update_pat`](Self::update_pat)).
    pub async fn update_pat_init(&self, id: &TokenId, update: &PatUpdate) -> Result<PendingChange> {
        check_token_id(id)?;
        let body = serde_json::to_string(&update_body(update)?)
            .map_err(|e| Error::invalid("body", format!("cannot serialize: {e}")))?;
        self.init_change(
            ChangeKind::UpdatePat,
            format!("/auth/pats/{id}"),
            Some(body),
        )
        .await
    }

    /// Step 2 of a delegated update.
    pub async fn update_pat_complete(
        &self,
        pending: &PendingChange,
        assertion: &SignedAssertion,
    ) -> Result<Pat> {
        self.complete_change(pending, ChangeKind::UpdatePat, assertion)
            .await?
            .json()
    }

    /// Step 1 of a delegated activation (see [`activate_pat`](Self::activate_pat)).
    pub async fn activate_pat_init(&self, id: &TokenId) -> Result<PendingChange> {
        check_token_id(id)?;
        self.init_change(
            ChangeKind::ActivatePat,
            format!("/auth/pats/{id}/activate"),
            None,
        )
        .await
    }

    /// Step 2 of a delegated activation.
    pub async fn activate_pat_complete(
        &self,
        pending: &PendingChange,
        assertion: &SignedAssertion,
    ) -> Result<Pat> {
        self.complete_change(pending, ChangeKind::ActivatePat, assertion)
            .await?
            .json()
    }

    /// Step 1 of a delegated deactivation (see [`deactivate_pat`](Self::deactivate_pat)).
    pub async fn deactivate_pat_init(&self, id: &TokenId) -> Result<PendingChange> {
        check_token_id(id)?;
        self.init_change(
            ChangeKind::DeactivatePat,
            format!("/auth/pats/{id}/deactivate"),
            None,
        )
        .await
    }

    /// Step 2 of a delegated deactivation.
    pub async fn deactivate_pat_complete(
        &self,
        pending: &PendingChange,
        assertion: &SignedAssertion,
    ) -> Result<Pat> {
        self.complete_change(pending, ChangeKind::DeactivatePat, assertion)
            .await?
            .json()
    }

    /// Step 1 of a delegated delete (see [`delete_pat`](Self::delete_pat)).
    pub async fn delete_pat_init(&self, id: &TokenId) -> Result<PendingChange> {
        check_token_id(id)?;
        self.init_change(ChangeKind::DeletePat, format!("/auth/pats/{id}"), None)
            .await
    }

    /// Step 2 of a delegated delete.
    pub async fn delete_pat_complete(
        &self,
        pending: &PendingChange,
        assertion: &SignedAssertion,
    ) -> Result<Pat> {
        self.complete_change(pending, ChangeKind::DeletePat, assertion)
            .await?
            .json()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use pats_core::ErrorKind;

    /// A user action challenge as Dfns answers `POST /auth/action/init`.
    fn challenge(identifier: &str) -> UserActionChallenge {
        serde_json::from_value(serde_json::json!({
            "challenge": "Y2hhbGxlbmdl",
            "challengeIdentifier": identifier,
            "allowCredentials": {"key": [{"type": "public-key", "id": "cr-key"}]},
        }))
        .expect("a user action challenge")
    }

    /// A pending change bound as `init_change` binds it.
    fn pending(kind: ChangeKind, method: &str, path: &str, body: Option<&str>) -> PendingChange {
        let challenge = challenge("id-1");
        PendingChange {
            kind,
            method: method.to_owned(),
            path: path.to_owned(),
            body: body.map(str::to_owned),
            binding: PendingChange::binding_of(kind, method, path, body, &challenge),
            challenge,
        }
    }

    /// The reason `pending.check(expected)` refuses it, after checking the error names the
    /// pending change.
    fn refused(pending: &PendingChange, expected: ChangeKind) -> String {
        match pending.check(expected) {
            Err(e) if e.kind() == ErrorKind::InvalidInput => {
                assert_eq!(e.field(), Some("pending_change"), "{e}");
                e.reason().unwrap_or_default().to_owned()
            }
            other => panic!("{pending:?}: expected InvalidInput, got {other:?}"),
        }
    }

    const UPDATE_BODY: &str = r#"{"name":"renamed"}"#;

    #[test]
    fn each_change_has_its_method_and_request_shape() {
        assert_eq!(ChangeKind::CreatePat.method(), "POST");
        for kind in [
            ChangeKind::UpdatePat,
            ChangeKind::ActivatePat,
            ChangeKind::DeactivatePat,
        ] {
            assert_eq!(kind.method(), "PUT", "{kind:?}");
        }
        assert_eq!(ChangeKind::DeletePat.method(), "DELETE");
        assert_eq!(ChangeKind::CreatePat.bodiless(), None);
        assert_eq!(ChangeKind::UpdatePat.bodiless(), None);
        assert_eq!(ChangeKind::ActivatePat.bodiless(), Some(Bodiless::Activate));
        assert_eq!(
            ChangeKind::DeactivatePat.bodiless(),
            Some(Bodiless::Deactivate)
        );
        assert_eq!(ChangeKind::DeletePat.bodiless(), Some(Bodiless::Delete));
    }

    #[test]
    fn well_formed_changes_pass_the_checks() {
        let update = pending(
            ChangeKind::UpdatePat,
            "PUT",
            "/auth/pats/to-1",
            Some(UPDATE_BODY),
        );
        update.check(ChangeKind::UpdatePat).unwrap();
        assert_eq!(update.kind(), ChangeKind::UpdatePat);
        assert_eq!(update.method(), "PUT");
        assert_eq!(update.path(), "/auth/pats/to-1");
        assert_eq!(update.body(), Some(UPDATE_BODY));
        assert_eq!(update.challenge().challenge(), "Y2hhbGxlbmdl");
        for (kind, path) in [
            (ChangeKind::ActivatePat, "/auth/pats/to-1/activate"),
            (ChangeKind::DeactivatePat, "/auth/pats/to-1/deactivate"),
            (ChangeKind::DeletePat, "/auth/pats/to-1"),
        ] {
            let change = pending(kind, kind.method(), path, None);
            change.check(kind).unwrap();
            assert_eq!(change.body(), None);
        }
    }

    #[test]
    fn the_binding_covers_every_part_and_the_challenge() {
        let base = PendingChange::binding_of(
            ChangeKind::UpdatePat,
            "PUT",
            "/auth/pats/to-1",
            Some(UPDATE_BODY),
            &challenge("id-1"),
        );
        assert_eq!(base.len(), 64, "{base}");
        assert!(base.chars().all(|c| c.is_ascii_hexdigit()), "{base}");
        for other in [
            PendingChange::binding_of(
                ChangeKind::UpdatePat,
                "PUT",
                "/auth/pats/to-1",
                Some(UPDATE_BODY),
                &challenge("id-2"),
            ),
            PendingChange::binding_of(
                ChangeKind::UpdatePat,
                "PUT",
                "/auth/pats/to-2",
                Some(UPDATE_BODY),
                &challenge("id-1"),
            ),
            PendingChange::binding_of(
                ChangeKind::UpdatePat,
                "PUT",
                "/auth/pats/to-1",
                None,
                &challenge("id-1"),
            ),
            PendingChange::binding_of(
                ChangeKind::DeletePat,
                "PUT",
                "/auth/pats/to-1",
                Some(UPDATE_BODY),
                &challenge("id-1"),
            ),
        ] {
            assert_ne!(other, base);
        }
    }

    #[test]
    fn a_change_edited_after_init_is_refused() {
        let mut change = pending(
            ChangeKind::UpdatePat,
            "PUT",
            "/auth/pats/to-1",
            Some(UPDATE_BODY),
        );
        change.body = Some(r#"{"name":"other"}"#.to_owned());
        assert_eq!(
            refused(&change, ChangeKind::UpdatePat),
            "its method, path, body or challenge differ from what was initiated"
        );
        let mut change = pending(ChangeKind::DeletePat, "DELETE", "/auth/pats/to-1", None);
        change.path = "/auth/pats/to-2".to_owned();
        assert!(refused(&change, ChangeKind::DeletePat).starts_with("its method, path"));
        let mut change = pending(ChangeKind::DeletePat, "DELETE", "/auth/pats/to-1", None);
        change.challenge = challenge("id-2");
        assert!(refused(&change, ChangeKind::DeletePat).starts_with("its method, path"));
    }

    #[test]
    fn a_change_completed_as_another_kind_is_refused() {
        let change = pending(ChangeKind::DeletePat, "DELETE", "/auth/pats/to-1", None);
        assert_eq!(
            refused(&change, ChangeKind::ActivatePat),
            "this is a DeletePat change, not a ActivatePat one"
        );
    }

    #[test]
    fn a_change_bound_with_the_wrong_method_or_path_is_refused() {
        let change = pending(ChangeKind::DeletePat, "PUT", "/auth/pats/to-1", None);
        assert_eq!(
            refused(&change, ChangeKind::DeletePat),
            "a DeletePat change is a DELETE, not a PUT"
        );
        for (kind, path) in [
            (ChangeKind::CreatePat, "/auth/pats/to-1"),
            (ChangeKind::CreatePat, "auth/pats"),
            (ChangeKind::UpdatePat, "/auth/pats"),
            (ChangeKind::UpdatePat, "/auth/pats/to-1/activate"),
            (ChangeKind::ActivatePat, "/auth/pats/to-1/deactivate"),
            (ChangeKind::DeactivatePat, "/auth/pats/to-1"),
            (ChangeKind::DeletePat, "/auth/keys/to-1"),
        ] {
            let body = match kind {
                ChangeKind::CreatePat | ChangeKind::UpdatePat => Some(UPDATE_BODY),
                _ => None,
            };
            let change = pending(kind, kind.method(), path, body);
            assert_eq!(
                refused(&change, kind),
                format!("`{path}` is not the path of a {kind:?} change")
            );
        }
        // A path with something else than a token id where the id goes.
        let change = pending(ChangeKind::DeletePat, "DELETE", "/auth/pats/key-1", None);
        let err = change.check(ChangeKind::DeletePat).unwrap_err();
        assert_eq!(err.field(), Some("token_id"), "{err:?}");
    }

    #[test]
    fn the_body_must_fit_the_change() {
        let change = pending(
            ChangeKind::ActivatePat,
            "PUT",
            "/auth/pats/to-1/activate",
            Some("{}"),
        );
        assert_eq!(
            refused(&change, ChangeKind::ActivatePat),
            "a ActivatePat change has no body"
        );
        let change = pending(ChangeKind::UpdatePat, "PUT", "/auth/pats/to-1", None);
        assert_eq!(
            refused(&change, ChangeKind::UpdatePat),
            "a UpdatePat change needs a body"
        );
        let change = pending(ChangeKind::CreatePat, "POST", "/auth/pats", None);
        assert_eq!(
            refused(&change, ChangeKind::CreatePat),
            "a CreatePat change needs a body"
        );
        // The bodies pass the one-step calls' checks.
        let change = pending(ChangeKind::UpdatePat, "PUT", "/auth/pats/to-1", Some("{}"));
        let err = change.check(ChangeKind::UpdatePat).unwrap_err();
        assert_eq!(err.field(), Some("update"), "{err:?}");
        let change = pending(ChangeKind::UpdatePat, "PUT", "/auth/pats/to-1", Some("[1]"));
        assert!(refused(&change, ChangeKind::UpdatePat).starts_with("body: "));
        let change = pending(
            ChangeKind::CreatePat,
            "POST",
            "/auth/pats",
            Some("not json"),
        );
        assert!(refused(&change, ChangeKind::CreatePat).starts_with("body: "));
        let change = pending(
            ChangeKind::CreatePat,
            "POST",
            "/auth/pats",
            Some(r#"{"name":" ","publicKey":"x"}"#),
        );
        let err = change.check(ChangeKind::CreatePat).unwrap_err();
        assert_eq!(err.kind(), pats_core::ErrorKind::InvalidInput, "{err:?}");
        assert_ne!(err.field(), Some("pending_change"), "{err:?}");
    }

    #[test]
    fn debug_shows_the_change_but_not_its_identifier_or_binding() {
        let change = pending(
            ChangeKind::UpdatePat,
            "PUT",
            "/auth/pats/to-1",
            Some(UPDATE_BODY),
        );
        let dbg = format!("{change:?}");
        assert!(
            dbg.starts_with(
                r#"PendingChange { kind: UpdatePat, method: "PUT", path: "/auth/pats/to-1", body: Some("{\"name\":\"renamed\"}"), challenge: UserActionChallenge {"#
            ),
            "{dbg}"
        );
        assert!(dbg.ends_with(", .. }"), "{dbg}");
        assert!(!dbg.contains("id-1"), "{dbg}");
        assert!(!dbg.contains(&change.binding), "{dbg}");
    }
}
