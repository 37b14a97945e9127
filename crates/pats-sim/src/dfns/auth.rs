//! User Action Signing: `POST /auth/action/init` (the challenge), `POST /auth/action`
//! (the signed challenge, verified against the user's credential) and the single-use
//! user action token a signed change consumes; the simulator's JWTs.

use super::*;

/// A token shaped like a Dfns one: a JWT (`header.payload.signature`, base64url) whose
/// payload has `iss`, `aud`, `sub` (the organization), `iat`, `exp`, `jti` and the
/// `https://custom/app_metadata` claim with `orgId`, `userId` and `tokenKind`. The signature
/// is random: the simulator recognises its tokens by value, not by verifying them.
pub(super) fn mint_token(
    org_id: &str,
    user_id: &str,
    token_kind: &str,
    lifetime_secs: i64,
) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"EdDSA","typ":"JWT"}"#);
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let claims = json!({
        "iss": TOKEN_ISSUER,
        "aud": TOKEN_AUDIENCE,
        "sub": org_id,
        "iat": now,
        "exp": now.saturating_add(lifetime_secs),
        "jti": random_b64(18),
        APP_METADATA_CLAIM: {
            "orgId": org_id,
            "userId": user_id,
            "tokenKind": token_kind,
        },
    });
    let claims = URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("{header}.{claims}.{}", random_b64(64))
}

/// The user a token [`mint_token`] made names (its `userId` claim), without checking
/// anything: only for a token already known to be one the simulator minted.
pub(super) fn claimed_user(token: &str) -> Option<Id> {
    let claims = URL_SAFE_NO_PAD.decode(token.split('.').nth(1)?).ok()?;
    #[derive(serde::Deserialize)]
    struct Claims<'a> {
        #[serde(rename = "https://custom/app_metadata", borrow)]
        app_metadata: Metadata<'a>,
    }
    #[derive(serde::Deserialize)]
    struct Metadata<'a> {
        #[serde(rename = "userId", borrow)]
        user_id: std::borrow::Cow<'a, str>,
    }
    let claims: Claims<'_> = serde_json::from_slice(&claims).ok()?;
    Id::parse(&claims.app_metadata.user_id)
}

/// Authenticator data: SHA-256 of the relying party id, then flags with user presence (0x01)
/// and user verification (0x04, the challenge asks for it), then a 4-byte counter.
pub(super) fn check_authenticator_data(data: &[u8]) -> Result<(), &'static str> {
    if data.len() < 37 {
        return Err("authenticatorData is shorter than 37 bytes");
    }
    if data[..32] != sha2::Sha256::digest(RP_ID.as_bytes())[..] {
        return Err("authenticatorData is for another relying party");
    }
    if data[32] & 0x05 != 0x05 {
        return Err("authenticatorData lacks user presence and verification");
    }
    Ok(())
}

impl State {
    pub(super) fn action_init(&mut self, request: &Request, principal: &Principal) -> Outcome {
        let fields = [
            "userActionPayload",
            "userActionHttpMethod",
            "userActionHttpPath",
            "userActionServerKind",
        ];
        let body = object_body(request, &fields)?;
        let payload = required_string(&body, "userActionPayload")?;
        let method = required_string(&body, "userActionHttpMethod")?;
        let path = required_string(&body, "userActionHttpPath")?;
        let kind = optional_string(&body, "userActionServerKind")?;
        if !["POST", "PUT", "DELETE", "PATCH", "GET"].contains(&method.as_str()) {
            return Err(error(
                400,
                "\"userActionHttpMethod\" is not a valid HTTP method",
            ));
        }
        if !path.starts_with('/') || path.contains('?') || path.contains("://") {
            return Err(error(
                400,
                "\"userActionHttpPath\" must be a path starting with /",
            ));
        }
        if kind.is_some_and(|k| k != "Api" && k != "Staff") {
            return Err(error(
                400,
                "\"userActionServerKind\" must be one of [Api, Staff]",
            ));
        }
        let user_id = principal.user_id();
        let listed = |pick: fn(&User) -> &Vec<(String, VerifyingKey)>| -> Vec<Value> {
            self.users
                .get(&user_id)
                .map(|u| {
                    pick(u)
                        .iter()
                        .map(|(id, _)| json!({ "type": "public-key", "id": id }))
                        .collect()
                })
                .unwrap_or_default()
        };
        let credentials = listed(|u| &u.credentials);
        let webauthn = listed(|u| &u.webauthn);
        let challenge = random_b64(32);
        let identifier = mint_token(&self.org_id, &user_id.to_string(), "Temp", 300);
        self.challenges.insert(
            identifier.clone(),
            Challenge {
                user_id,
                challenge: challenge.clone(),
                method,
                path,
                payload,
                used: false,
            },
        );
        Ok(ok(json!({
            "challenge": challenge,
            "challengeIdentifier": identifier,
            "rp": { "id": RP_ID, "name": "pats-sim" },
            "supportedCredentialKinds": [
                { "kind": "Key", "factor": "first", "requiresSecondFactor": false },
                { "kind": "Fido2", "factor": "first", "requiresSecondFactor": false },
            ],
            "userVerification": "required",
            "attestation": "direct",
            "allowCredentials": { "key": credentials, "passwordProtectedKey": [], "webauthn": webauthn },
            "externalAuthenticationUrl": "",
        })))
    }

    pub(super) fn action(&mut self, request: &Request, principal: &Principal) -> Outcome {
        let body = object_body(request, &["challengeIdentifier", "firstFactor"])?;
        let identifier = required_string(&body, "challengeIdentifier")?;
        let Some(Value::Object(factor)) = body.get("firstFactor") else {
            return Err(error(400, "\"firstFactor\" is required"));
        };
        if let Some(unknown) = factor
            .keys()
            .find(|k| !["kind", "credentialAssertion"].contains(&k.as_str()))
        {
            return Err(error(
                400,
                format!("\"firstFactor.{unknown}\" is not allowed"),
            ));
        }
        let fido2 = match factor.get("kind").and_then(Value::as_str) {
            Some("Key") => false,
            Some("Fido2") => true,
            _ => {
                return Err(error(
                    400,
                    "\"firstFactor.kind\" must be \"Key\" or \"Fido2\"",
                ));
            }
        };
        let Some(Value::Object(assertion)) = factor.get("credentialAssertion") else {
            return Err(error(
                400,
                "\"firstFactor.credentialAssertion\" is required",
            ));
        };
        let cred_id = required_string(assertion, "credId")?;
        let client_data_b64 = required_string(assertion, "clientData")?;
        let signature_b64 = required_string(assertion, "signature")?;
        let authenticator_data_b64 = if fido2 {
            Some(required_string(assertion, "authenticatorData")?)
        } else {
            None
        };

        let unauthorized = |why: &str| error(401, format!("Unauthorized: {why}"));
        let challenge = self
            .challenges
            .get_mut(&identifier)
            .ok_or_else(|| unauthorized("unknown challenge"))?;
        if challenge.user_id != principal.user_id() {
            return Err(unauthorized("the challenge belongs to another user"));
        }
        if challenge.used {
            return Err(unauthorized("the challenge was already used"));
        }
        challenge.used = true;
        let key = self
            .users
            .get(&principal.user_id())
            .and_then(|u| {
                let list = if fido2 { &u.webauthn } else { &u.credentials };
                list.iter().find(|(id, _)| *id == cred_id)
            })
            .map(|(_, key)| *key)
            .ok_or_else(|| unauthorized("credential not found"))?;
        let client_data = URL_SAFE_NO_PAD
            .decode(client_data_b64.as_bytes())
            .map_err(|_| unauthorized("clientData is not base64url without padding"))?;
        let parsed: Value = serde_json::from_slice(&client_data)
            .map_err(|_| unauthorized("clientData is not JSON"))?;
        let expected_type = if fido2 { "webauthn.get" } else { "key.get" };
        if parsed.get("type").and_then(Value::as_str) != Some(expected_type) {
            return Err(unauthorized(&format!(
                "clientData.type must be \"{expected_type}\""
            )));
        }
        if parsed.get("challenge").and_then(Value::as_str) != Some(challenge.challenge.as_str()) {
            return Err(unauthorized("clientData.challenge does not match"));
        }
        let signature = URL_SAFE_NO_PAD
            .decode(signature_b64.as_bytes())
            .ok()
            .and_then(|der| Signature::from_der(&der).ok())
            .ok_or_else(|| unauthorized("signature is not a base64url DER ECDSA signature"))?;
        // A key signs the client data; a WebAuthn authenticator signs its authenticator
        // data followed by SHA-256(clientDataJSON) (WebAuthn Level 2, section 7.2).
        let signed = match authenticator_data_b64 {
            None => client_data,
            Some(b64) => {
                let mut data = URL_SAFE_NO_PAD
                    .decode(b64.as_bytes())
                    .map_err(|_| unauthorized("authenticatorData is not base64url"))?;
                check_authenticator_data(&data).map_err(&unauthorized)?;
                data.extend_from_slice(&sha2::Sha256::digest(&client_data));
                data
            }
        };
        key.verify(&signed, &signature)
            .map_err(|_| unauthorized("invalid signature"))?;
        let token = mint_token(&self.org_id, &challenge.user_id.to_string(), "Temp", 300);
        let action = UserAction {
            user_id: challenge.user_id,
            method: challenge.method.clone(),
            path: challenge.path.clone(),
            payload: challenge.payload.clone(),
            used: false,
        };
        self.user_actions.insert(token.clone(), action);
        Ok(ok(json!({ "userAction": token })))
    }

    pub(super) fn consume_user_action(
        &mut self,
        request: &Request,
        principal: &Principal,
    ) -> Result<(), Reject> {
        let unauthorized = |why: &str| error(401, format!("Unauthorized: {why}"));
        let token = request
            .headers
            .get(USER_ACTION_HEADER)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| unauthorized("missing user action signature (X-DFNS-USERACTION)"))?;
        let action = self
            .user_actions
            .get_mut(token)
            .ok_or_else(|| unauthorized("invalid user action"))?;
        if action.used {
            return Err(unauthorized("user action already used"));
        }
        action.used = true;
        let body = std::str::from_utf8(&request.body)
            .map_err(|_| unauthorized("the body does not match the signed payload"))?;
        if action.user_id != principal.user_id() {
            return Err(unauthorized("user action belongs to another user"));
        }
        if action.method != request.method.as_str() {
            return Err(unauthorized("the method does not match the signed method"));
        }
        if action.path != request.url.path() {
            return Err(unauthorized("the path does not match the signed path"));
        }
        if action.payload != body {
            return Err(unauthorized("the body does not match the signed payload"));
        }
        Ok(())
    }
}
