//! User Action Signing: `POST /auth/action/init` → sign → `POST /auth/action`.

use crate::error::check;
use crate::generated::{
    AssertionKind, CreateUserActionChallengeBody, CreateUserActionChallengeResponse,
    CreateUserActionSignatureBody, CredentialAssertion, CredentialFactor, CredentialKind,
    SupportedCredentialKind, UserActionAssertion, UserActionServerKind,
};
use crate::signer::UserActionSigner;
use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use pats_core::AttemptContext;
use pats_core::reexports::reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use pats_core::{Error, Request, RequestHook, Result, Transport};
use secrecy::{ExposeSecret, SecretString};
use std::fmt;
use std::sync::Arc;

/// The header that carries the user action token.
pub const USER_ACTION_HEADER: &str = "x-dfns-useraction";

/// The `type` of the client data a key credential signs.
const KEY_CLIENT_DATA_TYPE: &str = "key.get";
/// The `type` of the client data a WebAuthn (Fido2) authenticator signs.
const WEBAUTHN_CLIENT_DATA_TYPE: &str = "webauthn.get";

/// The client data that is signed, serialized as `{"type":"key.get","challenge":"…"}`.
#[derive(serde::Serialize)]
struct ClientData<'a> {
    r#type: &'static str,
    challenge: &'a str,
}

/// The answer of `POST /auth/action` (no `Debug`: the token is a credential).
#[derive(serde::Deserialize)]
struct UserActionAnswer {
    #[serde(rename = "userAction")]
    user_action: String,
}

/// A user action challenge: the answer of `POST /auth/action/init` for one change.
///
/// Serializable (the Dfns wire shape), so that it can be handed to whoever signs it: an end
/// user's passkey in a browser, or a signer in another process. `Debug` hides the challenge
/// identifier, a temporary credential of the signing session.
#[derive(Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct UserActionChallenge {
    #[serde(flatten)]
    details: CreateUserActionChallengeResponse,
    #[serde(rename = "challengeIdentifier", with = "secret_text")]
    identifier: SecretText,
}

/// A `SecretString` that can be compared (for `PartialEq` of the types holding it).
#[derive(Clone)]
struct SecretText(SecretString);

impl PartialEq for SecretText {
    fn eq(&self, other: &Self) -> bool {
        self.0.expose_secret() == other.0.expose_secret()
    }
}

mod secret_text {
    use super::SecretText;
    use secrecy::{ExposeSecret as _, SecretString};

    pub(super) fn serialize<S: serde::Serializer>(
        value: &SecretText,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(value.0.expose_secret())
    }

    pub(super) fn deserialize<'de, D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> Result<SecretText, D::Error> {
        let text = <String as serde::Deserialize>::deserialize(deserializer)?;
        Ok(SecretText(SecretString::from(text)))
    }
}

impl fmt::Debug for UserActionChallenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserActionChallenge")
            .field("details", &self.details)
            .field("challenge_identifier", &"[REDACTED]")
            .finish()
    }
}

impl UserActionChallenge {
    /// The challenge to sign (already base64url), as it goes into the client data.
    pub fn challenge(&self) -> &str {
        &self.details.challenge
    }

    /// Everything Dfns said about the challenge but its identifier: the allowed credentials,
    /// the supported credential kinds, the relying party, the WebAuthn preferences.
    pub fn details(&self) -> &CreateUserActionChallengeResponse {
        &self.details
    }

    /// The challenge identifier (a temporary credential of this signing session).
    pub(crate) fn identifier(&self) -> &str {
        self.identifier.0.expose_secret()
    }

    /// The ids of the key credentials (`allowCredentials.key`) that may sign.
    pub fn allowed_key_credentials(&self) -> Vec<&str> {
        self.allowed(|a| a.key.as_deref())
    }

    /// The ids of the WebAuthn credentials (`allowCredentials.webauthn`) that may sign.
    pub fn allowed_webauthn_credentials(&self) -> Vec<&str> {
        self.allowed(|a| a.webauthn.as_deref())
    }

    fn allowed<'a>(
        &'a self,
        pick: impl Fn(
            &'a crate::generated::AllowCredentials,
        ) -> Option<&'a [crate::generated::AllowCredential]>,
    ) -> Vec<&'a str> {
        self.details
            .allow_credentials
            .as_ref()
            .and_then(pick)
            .map(|list| list.iter().map(|c| c.id.as_str()).collect())
            .unwrap_or_default()
    }

    /// The credential kinds Dfns accepts for this user action (empty when not said).
    pub fn supported_credential_kinds(&self) -> &[SupportedCredentialKind] {
        self.details
            .supported_credential_kinds
            .as_deref()
            .unwrap_or_default()
    }

    /// The client data a key credential signs: `{"type":"key.get","challenge":"…"}`.
    pub fn key_client_data(&self) -> Vec<u8> {
        // Serializing two strings into JSON cannot fail.
        serde_json::to_vec(&ClientData {
            r#type: KEY_CLIENT_DATA_TYPE,
            challenge: self.challenge(),
        })
        .unwrap_or_default()
    }

    /// Fails unless Dfns accepts `kind` as a first factor without a second one (when the
    /// challenge lists its supported kinds at all).
    fn check_first_factor(&self, kind: CredentialKind) -> Result<()> {
        let kinds = self.supported_credential_kinds();
        if kinds.is_empty() {
            return Ok(());
        }
        let usable = kinds.iter().any(|k| {
            k.kind == kind
                && matches!(k.factor, CredentialFactor::First | CredentialFactor::Either)
                && !k.requires_second_factor
        });
        if usable {
            return Ok(());
        }
        let listed: Vec<String> = kinds
            .iter()
            .map(|k| {
                format!(
                    "{} ({}{})",
                    k.kind.as_str(),
                    k.factor.as_str(),
                    if k.requires_second_factor {
                        ", needs a second factor"
                    } else {
                        ""
                    }
                )
            })
            .collect();
        Err(Error::signing(format!(
            "Dfns does not accept a {} credential as the only factor of this user action; it \
             supports: {}",
            kind.as_str(),
            listed.join(", ")
        )))
    }
}

/// A signed user action challenge: one credential's assertion, sent as the `firstFactor` of
/// `POST /auth/action`.
///
/// Build it with [`key`](Self::key) (a key credential's signature, as [`P256Signer`] or an
/// HSM makes it), [`fido2`](Self::fido2) (a WebAuthn / passkey assertion from a browser or
/// a phone), [`sign_with`](Self::sign_with), or deserialize it from the Dfns wire JSON
/// (`{"kind": "Fido2", "credentialAssertion": {…}}`). `Debug` shows the kind and the
/// credential id only.
///
/// [`P256Signer`]: crate::P256Signer
#[derive(Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct SignedAssertion(UserActionAssertion);

impl fmt::Debug for SignedAssertion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignedAssertion")
            .field("kind", &self.0.kind)
            .field(
                "cred_id",
                &self.0.credential_assertion.as_ref().map(|a| &a.cred_id),
            )
            .finish_non_exhaustive()
    }
}

impl SignedAssertion {
    /// A key credential's assertion: `client_data` is the exact signed bytes
    /// ([`UserActionChallenge::key_client_data`]), `signature` the DER ECDSA signature (or
    /// the raw Ed25519 one) over them.
    pub fn key(credential_id: impl Into<String>, client_data: &[u8], signature: &[u8]) -> Self {
        Self::with(
            AssertionKind::Key,
            credential_id,
            client_data,
            signature,
            None,
            None,
        )
    }

    /// A WebAuthn (Fido2, passkey) assertion, from `navigator.credentials.get`:
    /// `client_data` is the `clientDataJSON` bytes, `authenticator_data` and `signature` the
    /// authenticator's, `user_handle` when the authenticator returned one.
    pub fn fido2(
        credential_id: impl Into<String>,
        client_data: &[u8],
        authenticator_data: &[u8],
        signature: &[u8],
        user_handle: Option<&[u8]>,
    ) -> Self {
        Self::with(
            AssertionKind::Fido2,
            credential_id,
            client_data,
            signature,
            Some(authenticator_data),
            user_handle,
        )
    }

    fn with(
        kind: AssertionKind,
        credential_id: impl Into<String>,
        client_data: &[u8],
        signature: &[u8],
        authenticator_data: Option<&[u8]>,
        user_handle: Option<&[u8]>,
    ) -> Self {
        Self(UserActionAssertion {
            kind,
            credential_assertion: Some(CredentialAssertion {
                algorithm: None,
                authenticator_data: authenticator_data.map(|a| URL_SAFE_NO_PAD.encode(a)),
                client_data: URL_SAFE_NO_PAD.encode(client_data),
                cred_id: credential_id.into(),
                signature: URL_SAFE_NO_PAD.encode(signature),
                user_handle: user_handle.map(|u| URL_SAFE_NO_PAD.encode(u)),
            }),
        })
    }

    /// Signs `challenge` with a key credential: checks that Dfns allows the signer's
    /// credential and accepts a key as the first factor, then signs the client data.
    pub async fn sign_with(
        signer: &dyn UserActionSigner,
        challenge: &UserActionChallenge,
    ) -> Result<Self> {
        let credential_id = signer.credential_id();
        check_allowed(credential_id, &challenge.allowed_key_credentials(), "key")?;
        challenge.check_first_factor(CredentialKind::Key)?;
        let client_data = challenge.key_client_data();
        let signature = signer.sign(&client_data).await?;
        if signature.is_empty() {
            return Err(Error::signing("the signer returned an empty signature"));
        }
        Ok(Self::key(credential_id, &client_data, &signature))
    }

    /// The credential kind (`Key`, `Fido2`, …).
    pub fn kind(&self) -> &AssertionKind {
        &self.0.kind
    }

    /// The signing credential's id.
    pub fn credential_id(&self) -> Option<&str> {
        self.0
            .credential_assertion
            .as_ref()
            .map(|a| a.cred_id.as_str())
    }

    /// Checks, before anything is sent, that this assertion answers `challenge`: its
    /// client data names this challenge and the right type, its credential is one Dfns
    /// allows, and its kind is one the challenge accepts as a first factor.
    pub(crate) fn check_against(&self, challenge: &UserActionChallenge) -> Result<()> {
        let bad = |why: String| Err(Error::signing(why));
        let Some(assertion) = &self.0.credential_assertion else {
            return bad(format!(
                "a {} assertion without a credentialAssertion cannot be checked; only Key and \
                 Fido2 assertions are supported",
                self.0.kind.as_str()
            ));
        };
        let (expected_type, allowed, credential_kind) = match &self.0.kind {
            AssertionKind::Key => (
                KEY_CLIENT_DATA_TYPE,
                challenge.allowed_key_credentials(),
                CredentialKind::Key,
            ),
            AssertionKind::Fido2 => {
                if assertion
                    .authenticator_data
                    .as_deref()
                    .is_none_or(str::is_empty)
                {
                    return bad("a Fido2 assertion needs its authenticatorData".to_owned());
                }
                (
                    WEBAUTHN_CLIENT_DATA_TYPE,
                    challenge.allowed_webauthn_credentials(),
                    CredentialKind::Fido2,
                )
            }
            other => {
                return bad(format!(
                    "{} assertions are not supported; sign with a Key or Fido2 credential",
                    other.as_str()
                ));
            }
        };
        if assertion.signature.is_empty() {
            return bad("the assertion has an empty signature".to_owned());
        }
        let client_data = URL_SAFE_NO_PAD
            .decode(assertion.client_data.as_bytes())
            .ok()
            .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
            .ok_or_else(|| {
                Error::signing("the assertion's clientData is not base64url (no padding) JSON")
            })?;
        if client_data.get("type").and_then(|t| t.as_str()) != Some(expected_type) {
            return bad(format!(
                "the assertion's clientData.type must be `{expected_type}` for a {} credential",
                self.0.kind.as_str()
            ));
        }
        if client_data.get("challenge").and_then(|c| c.as_str()) != Some(challenge.challenge()) {
            return bad(
                "the assertion signs another challenge than this pending change's".to_owned(),
            );
        }
        let kind_name = match &self.0.kind {
            AssertionKind::Fido2 => "WebAuthn",
            _ => "key",
        };
        check_allowed(&assertion.cred_id, &allowed, kind_name)?;
        challenge.check_first_factor(credential_kind)
    }
}

fn check_allowed(credential_id: &str, allowed: &[&str], kind: &str) -> Result<()> {
    if allowed.contains(&credential_id) {
        return Ok(());
    }
    Err(Error::signing(format!(
        "the credential `{credential_id}` is not among the {kind} credentials Dfns allows for \
         this user ({}); register it with Dfns or use one of those",
        if allowed.is_empty() {
            "none".to_owned()
        } else {
            allowed.join(", ")
        }
    )))
}

/// `POST /auth/action/init` for a call with `method`, `path` (no query) and the exact
/// `body` bytes it will send (empty for no body).
pub(crate) async fn init(
    transport: &Transport,
    method: &str,
    path: &str,
    body: &[u8],
) -> Result<UserActionChallenge> {
    let payload = std::str::from_utf8(body)
        .map_err(|_| Error::signing("the request body to sign is not UTF-8"))?;
    let init = CreateUserActionChallengeBody {
        user_action_payload: payload.to_owned(),
        user_action_http_method: method.to_owned(),
        user_action_http_path: path.to_owned(),
        user_action_server_kind: Some(UserActionServerKind::Api),
    };
    let request = Request::operation(
        &crate::generated::operations::CREATE_USER_ACTION_CHALLENGE,
        &[],
    )?
    .json(&init)?;
    let resp = check(transport.send(request).await?)?;
    let challenge: UserActionChallenge = resp.json()?;
    if challenge.identifier.0.expose_secret().is_empty() {
        return Err(resp.decode_error("the challenge has an empty challengeIdentifier"));
    }
    Ok(challenge)
}

/// `POST /auth/action`: exchanges the signed challenge for a single-use user action token.
pub(crate) async fn complete(
    transport: &Transport,
    challenge: &UserActionChallenge,
    assertion: &SignedAssertion,
) -> Result<SecretString> {
    let action = CreateUserActionSignatureBody {
        challenge_identifier: challenge.identifier.0.expose_secret().to_owned(),
        first_factor: assertion.0.clone(),
        second_factor: None,
    };
    let request = Request::operation(
        &crate::generated::operations::CREATE_USER_ACTION_SIGNATURE,
        &[],
    )?
    .json(&action)?
    .secret(challenge.identifier.0.clone());
    let resp = check(transport.send(request).await?)?;
    let answer: UserActionAnswer = resp.json()?;
    if answer.user_action.is_empty() {
        return Err(resp.decode_error("the user action token is empty"));
    }
    Ok(SecretString::from(answer.user_action))
}

/// Obtains a single-use user action token for a call with `method`, `path` (no query) and
/// the exact `body` bytes it will send (empty for no body), signing with `signer`.
pub(crate) async fn obtain(
    transport: &Transport,
    signer: &dyn UserActionSigner,
    method: &str,
    path: &str,
    body: &[u8],
) -> Result<SecretString> {
    let challenge = init(transport, method, path, body).await?;
    let assertion = SignedAssertion::sign_with(signer, &challenge).await?;
    complete(transport, &challenge, &assertion).await
}

/// A [`RequestHook`] that signs every attempt of a change request anew (user action tokens
/// are single-use) and adds the `X-DFNS-USERACTION` header.
#[derive(Clone)]
pub(crate) struct UserActionHook {
    pub(crate) transport: Transport,
    pub(crate) signer: Arc<dyn UserActionSigner>,
}

impl fmt::Debug for UserActionHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserActionHook")
            .field("signer", &self.signer)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl RequestHook for UserActionHook {
    async fn before_attempt(
        &self,
        ctx: &AttemptContext<'_>,
        headers: &mut HeaderMap,
    ) -> Result<()> {
        let token = obtain(
            &self.transport,
            self.signer.as_ref(),
            ctx.method.as_str(),
            api_path(&self.transport, ctx.url),
            ctx.body.unwrap_or_default(),
        )
        .await?;
        headers.insert(
            HeaderName::from_static(USER_ACTION_HEADER),
            header_value(&token)?,
        );
        Ok(())
    }
}

/// The path Dfns sees: the URL's path without the query and without the base URL's own
/// path (when the base URL points at a proxy under a prefix such as `/dfns`).
pub(crate) fn api_path<'a>(transport: &Transport, url: &'a url::Url) -> &'a str {
    let prefix = transport.base_url().path().trim_end_matches('/');
    let path = url.path();
    match path.strip_prefix(prefix) {
        Some(rest) if !prefix.is_empty() && rest.starts_with('/') => rest,
        _ => path,
    }
}

/// The token as a sensitive header value.
pub(crate) fn header_value(token: &SecretString) -> Result<HeaderValue> {
    let mut value = HeaderValue::from_str(token.expose_secret()).map_err(|_| {
        Error::decode(
            200,
            "the user action token has characters not allowed in a header",
            &[],
        )
    })?;
    value.set_sensitive(true);
    Ok(value)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use pats_core::ClientOptions;
    use pats_core::ErrorKind;

    #[test]
    fn signed_path_drops_query_and_base_prefix() {
        let root = Transport::new("dfns", "http://127.0.0.1:9", ClientOptions::default()).unwrap();
        let url = root.url(&["auth", "pats", "to-1"]).unwrap();
        assert_eq!(api_path(&root, &url), "/auth/pats/to-1");
        let mut with_query = url.clone();
        with_query.set_query(Some("a=b"));
        assert_eq!(api_path(&root, &with_query), "/auth/pats/to-1");

        let proxied =
            Transport::new("dfns", "http://127.0.0.1:9/dfns/", ClientOptions::default()).unwrap();
        let url = proxied.url(&["auth", "pats"]).unwrap();
        assert_eq!(url.path(), "/dfns/auth/pats");
        assert_eq!(api_path(&proxied, &url), "/auth/pats");
    }

    /// The user action challenge exactly as the Dfns reference documents it.
    const DOCUMENTED: &str = r#"{
        "supportedCredentialKinds": [
            {"kind": "Fido2", "factor": "first", "requiresSecondFactor": false},
            {"kind": "Key", "factor": "either", "requiresSecondFactor": false},
            {"kind": "Totp", "factor": "second", "requiresSecondFactor": false}
        ],
        "challenge": "MWM0MmY5YTQ0MDRiNzdhNTFhNzY5ODQwNWI5ZTQ4Y2RhODZiNDk3ZTYzOTE5OGYyMDcxZjBjYzk4MmQ5YzY1MA",
        "challengeIdentifier": "eyJ0e.secret-identifier.fQNA",
        "userVerification": "required",
        "attestation": "direct",
        "externalAuthenticationUrl": "",
        "rp": {"id": "dfns.io", "name": "Dfns"},
        "allowCredentials": {
            "key": [{"type": "public-key", "id": "cr-key"}],
            "passwordProtectedKey": [{"type": "public-key", "id": "cr-ppk", "encryptedPrivateKey": "ENC-PRIVATE"}],
            "webauthn": [{"type": "public-key", "id": "cr-passkey", "transports": ["internal", "hybrid"]}]
        }
    }"#;

    #[test]
    fn reads_the_user_action_challenge_shape_and_hides_its_identifier() {
        let challenge: UserActionChallenge = serde_json::from_str(DOCUMENTED).unwrap();
        let kinds = challenge.supported_credential_kinds();
        assert_eq!(kinds.len(), 3);
        assert_eq!(kinds[1].kind, CredentialKind::Key);
        assert_eq!(kinds[1].factor, CredentialFactor::Either);
        assert!(!kinds[1].requires_second_factor);
        assert_eq!(challenge.allowed_key_credentials(), ["cr-key"]);
        assert_eq!(challenge.allowed_webauthn_credentials(), ["cr-passkey"]);
        challenge.check_first_factor(CredentialKind::Key).unwrap();
        challenge.check_first_factor(CredentialKind::Fido2).unwrap();
        assert!(challenge.check_first_factor(CredentialKind::Totp).is_err());

        let dbg = format!("{challenge:?}");
        assert!(!dbg.contains("secret-identifier"), "{dbg}");
        assert!(!dbg.contains("ENC-PRIVATE"), "{dbg}");
        // Serializable and back, identifier included (it crosses a process boundary).
        let json = serde_json::to_string(&challenge).unwrap();
        assert!(json.contains("eyJ0e.secret-identifier.fQNA"));
        let back: UserActionChallenge = serde_json::from_str(&json).unwrap();
        assert_eq!(back, challenge);
    }

    #[test]
    fn the_login_challenge_shape_is_a_decode_error() {
        // `{firstFactor, secondFactor}` is the login challenge's shape, not a user action's.
        let login = DOCUMENTED.replace(
            r#""supportedCredentialKinds": ["#,
            r#""supportedCredentialKinds": {"firstFactor": ["Key"], "secondFactor": []}, "x": ["#,
        );
        assert!(serde_json::from_str::<UserActionChallenge>(&login).is_err());
    }

    #[test]
    fn a_key_that_needs_a_second_factor_is_refused() {
        let json = DOCUMENTED.replace(
            r#"{"kind": "Key", "factor": "either", "requiresSecondFactor": false}"#,
            r#"{"kind": "Key", "factor": "first", "requiresSecondFactor": true}"#,
        );
        let challenge: UserActionChallenge = serde_json::from_str(&json).unwrap();
        let err = challenge
            .check_first_factor(CredentialKind::Key)
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Signing, "{err:?}");
        assert!(err.to_string().contains("needs a second factor"), "{err}");
    }

    #[test]
    fn assertions_are_checked_against_their_challenge() {
        let challenge: UserActionChallenge = serde_json::from_str(DOCUMENTED).unwrap();
        let good = SignedAssertion::key("cr-key", &challenge.key_client_data(), b"sig");
        good.check_against(&challenge).unwrap();
        let other_cred = SignedAssertion::key("cr-other", &challenge.key_client_data(), b"sig");
        assert!(other_cred.check_against(&challenge).is_err());
        let other_challenge = SignedAssertion::key(
            "cr-key",
            br#"{"type":"key.get","challenge":"another"}"#,
            b"sig",
        );
        assert!(other_challenge.check_against(&challenge).is_err());

        let webauthn_data = format!(
            r#"{{"type":"webauthn.get","challenge":"{}","origin":"https://app.example"}}"#,
            challenge.challenge()
        );
        let passkey = SignedAssertion::fido2(
            "cr-passkey",
            webauthn_data.as_bytes(),
            b"auth",
            b"sig",
            None,
        );
        passkey.check_against(&challenge).unwrap();
        // A passkey assertion under a key credential id, or with key.get client data.
        let wrong_list =
            SignedAssertion::fido2("cr-key", webauthn_data.as_bytes(), b"auth", b"sig", None);
        assert!(wrong_list.check_against(&challenge).is_err());
        let wrong_type =
            SignedAssertion::fido2("cr-passkey", &challenge.key_client_data(), b"a", b"s", None);
        assert!(wrong_type.check_against(&challenge).is_err());
        let no_auth_data =
            SignedAssertion::fido2("cr-passkey", webauthn_data.as_bytes(), b"", b"sig", None);
        assert!(no_auth_data.check_against(&challenge).is_err());

        let json = serde_json::to_value(&passkey).unwrap();
        assert_eq!(json["kind"], "Fido2");
        assert_eq!(json["credentialAssertion"]["authenticatorData"], "YXV0aA");
        assert!(!format!("{passkey:?}").contains("YXV0aA"));
    }

    /// A signer for the hook's `Debug`.
    fn test_signer() -> crate::P256Signer {
        let pair = crate::PatKeyPair::generate().expect("a generated key pair");
        crate::P256Signer::from_pkcs8_pem("cr-key", pair.private_key_pem())
            .expect("the generated key as a signer")
    }

    #[test]
    fn a_path_outside_the_base_prefix_is_signed_as_is() {
        let proxied =
            Transport::new("dfns", "http://127.0.0.1:9/dfns", ClientOptions::default()).unwrap();
        // `/dfnsx/...` starts with `/dfns` but is not under it.
        let url = url::Url::parse("http://127.0.0.1:9/dfnsx/auth/pats").unwrap();
        assert_eq!(api_path(&proxied, &url), "/dfnsx/auth/pats");
        let url = url::Url::parse("http://127.0.0.1:9/other/auth/pats?x=1").unwrap();
        assert_eq!(api_path(&proxied, &url), "/other/auth/pats");
        let url = url::Url::parse("http://127.0.0.1:9/dfns/auth/pats?x=1").unwrap();
        assert_eq!(api_path(&proxied, &url), "/auth/pats");
    }

    #[test]
    fn the_challenge_identifier_is_kept_and_compared() {
        let challenge: UserActionChallenge = serde_json::from_str(DOCUMENTED).unwrap();
        assert_eq!(challenge.identifier(), "eyJ0e.secret-identifier.fQNA");
        assert_eq!(
            challenge.challenge(),
            "MWM0MmY5YTQ0MDRiNzdhNTFhNzY5ODQwNWI5ZTQ4Y2RhODZiNDk3ZTYzOTE5OGYyMDcxZjBjYzk4MmQ5YzY1MA"
        );
        assert_eq!(
            challenge.details().rp.as_ref().map(|rp| rp.id.as_str()),
            Some("dfns.io")
        );
        // Two challenges that differ only in their identifier are different sessions.
        let other: UserActionChallenge = serde_json::from_str(
            &DOCUMENTED.replace("eyJ0e.secret-identifier.fQNA", "another-identifier"),
        )
        .unwrap();
        assert_ne!(other, challenge);
        assert_eq!(other.identifier(), "another-identifier");
    }

    #[test]
    fn the_key_client_data_is_the_exact_signed_json() {
        let challenge: UserActionChallenge = serde_json::from_str(DOCUMENTED).unwrap();
        assert_eq!(
            String::from_utf8(challenge.key_client_data()).unwrap(),
            format!(
                r#"{{"type":"key.get","challenge":"{}"}}"#,
                challenge.challenge()
            )
        );
    }

    #[test]
    fn debug_output_names_what_it_shows_and_hides_the_rest() {
        let challenge: UserActionChallenge = serde_json::from_str(DOCUMENTED).unwrap();
        let dbg = format!("{challenge:?}");
        assert!(dbg.starts_with("UserActionChallenge { details: "), "{dbg}");
        assert!(dbg.contains(challenge.challenge()), "{dbg}");
        assert!(
            dbg.ends_with(r#"challenge_identifier: "[REDACTED]" }"#),
            "{dbg}"
        );

        let key = SignedAssertion::key("cr-key", &challenge.key_client_data(), b"sig");
        assert_eq!(
            format!("{key:?}"),
            r#"SignedAssertion { kind: Key, cred_id: Some("cr-key"), .. }"#
        );

        let hook = UserActionHook {
            transport: Transport::new("dfns", "http://127.0.0.1:9", ClientOptions::default())
                .unwrap(),
            signer: Arc::new(test_signer()),
        };
        let dbg = format!("{hook:?}");
        assert!(
            dbg.starts_with("UserActionHook { signer: P256Signer {"),
            "{dbg}"
        );
        assert!(dbg.contains(r#"credential_id: "cr-key""#), "{dbg}");
        assert!(dbg.ends_with(", .. }"), "{dbg}");
    }

    #[test]
    fn an_assertion_tells_its_kind_and_credential() {
        let challenge: UserActionChallenge = serde_json::from_str(DOCUMENTED).unwrap();
        let key = SignedAssertion::key("cr-key", &challenge.key_client_data(), b"sig");
        assert_eq!(key.kind(), &AssertionKind::Key);
        assert_eq!(key.credential_id(), Some("cr-key"));
        let passkey = SignedAssertion::fido2("cr-passkey", b"{}", b"auth", b"sig", Some(b"u"));
        assert_eq!(passkey.kind(), &AssertionKind::Fido2);
        assert_eq!(passkey.credential_id(), Some("cr-passkey"));
        // An assertion without a credentialAssertion (as a TOTP one comes) has no id, and
        // is refused before anything is sent.
        let totp: SignedAssertion = serde_json::from_str(r#"{"kind":"Totp"}"#).unwrap();
        assert_eq!(totp.credential_id(), None);
        let err = totp.check_against(&challenge).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Signing, "{err:?}");
        assert!(
            err.to_string().contains("a Totp assertion without"),
            "{err}"
        );
    }

    #[test]
    fn a_refused_credential_is_named_with_the_allowed_ones_of_its_kind() {
        let challenge: UserActionChallenge = serde_json::from_str(DOCUMENTED).unwrap();
        let webauthn_data = format!(
            r#"{{"type":"webauthn.get","challenge":"{}"}}"#,
            challenge.challenge()
        );
        let err = SignedAssertion::fido2("cr-key", webauthn_data.as_bytes(), b"a", b"s", None)
            .check_against(&challenge)
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Signing, "{err:?}");
        assert!(
            err.to_string().contains(
                "the credential `cr-key` is not among the WebAuthn credentials Dfns allows for \
                 this user (cr-passkey)"
            ),
            "{err}"
        );
        let err = SignedAssertion::key("cr-passkey", &challenge.key_client_data(), b"s")
            .check_against(&challenge)
            .unwrap_err();
        assert!(
            err.to_string().contains(
                "the credential `cr-passkey` is not among the key credentials Dfns allows for \
                 this user (cr-key)"
            ),
            "{err}"
        );
    }
}
