//! Wire answers of each provider, built once as JSON bytes (shapes from the providers'
//! references: every documented field is present, as a real answer would have it).

use std::fmt::Write as _;

/// The Dfns credential id the benches sign with.
pub const DFNS_CRED_ID: &str = "cr-bench-1234567890";
/// The ZITADEL machine user whose tokens are listed.
pub const ZITADEL_USER: &str = "259242039378444290";
/// The bearer token the clients send.
pub const BEARER: &str = "bench-bearer-token-0123456789abcdef";

/// A Dfns token id.
pub fn dfns_id(i: usize) -> String {
    format!("to-{i:06}-3vm9u-8f2k1q7h3b9c5d0e")
}

/// A ZITADEL token id.
pub fn zitadel_id(i: usize) -> String {
    format!("{}", 259_242_039_378_000_000u64 + i as u64)
}

/// A SailPoint token id.
pub fn sailpoint_id(i: usize) -> String {
    format!("86f1dc6fe8f54414950454cbb{i:07}")
}

fn timestamp(i: usize) -> String {
    format!(
        "2026-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        1 + i % 12,
        1 + i % 28,
        i % 24,
        i % 60,
        (i / 60) % 60,
        i % 1000
    )
}

/// One Dfns `Pat`.
pub fn dfns_pat(out: &mut String, i: usize) {
    let _ = write!(
        out,
        concat!(
            r#"{{"tokenId":"{id}","name":"ci-token-{i}","kind":"Pat","dateCreated":"{ts}","#,
            r#""credId":"Y3JlZC1iZW5jaC0{i:06}","isActive":true,"linkedUserId":"us-3v1fq-k2l8m-9h4c1b0a","#,
            r#""linkedAppId":"ap-2b7o1-e3ks5-8ngqt5dfh0a","orgId":"or-30tnh-itmjs-9mqqjhe8ja7h","#,
            r#""publicKey":"-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE3Xn9q{i:06}\n-----END PUBLIC KEY-----\n","#,
            r#""permissionAssignments":[{{"permissionName":"PatManager","permissionId":"pm-7ham0-2ir5t-8r1o2u","#,
            r#""assignmentId":"as-1mg0a-3ohl2-9ut8s{i:06}","operations":["Auth:Pats:Read","Auth:Pats:Update"]}}]}}"#
        ),
        id = dfns_id(i),
        i = i,
        ts = timestamp(i)
    );
}

/// `{"items":[Pat × n]}`.
pub fn dfns_list(n: usize) -> Vec<u8> {
    let mut out = String::with_capacity(n * 700 + 16);
    out.push_str(r#"{"items":["#);
    for i in 0..n {
        if i > 0 {
            out.push(',');
        }
        dfns_pat(&mut out, i);
    }
    out.push_str("]}");
    out.into_bytes()
}

/// One Dfns `Pat`, alone.
pub fn dfns_single(i: usize) -> Vec<u8> {
    let mut out = String::new();
    dfns_pat(&mut out, i);
    out.into_bytes()
}

/// The answer of `POST /auth/action/init`.
pub fn dfns_challenge() -> Vec<u8> {
    format!(
        concat!(
            r#"{{"supportedCredentialKinds":[{{"kind":"Key","factor":"first","requiresSecondFactor":false}},{{"kind":"Fido2","factor":"first","requiresSecondFactor":false}}],"#,
            r#""challenge":"Y2gtNmUzN2QtZmI0Zi00ZWZkLWJlOGMtZTY4NmM5YWU3YzQy","#,
            r#""challengeIdentifier":"eyJ0eXAiOiJKV1QiLCJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJhdXRoLmRmbnMuaW8iLCJzdWIiOiJ1cy0zdjFmcSJ9.c2lnbmF0dXJlLWJlbmNo","#,
            r#""externalAuthenticationUrl":"","userVerification":"required","attestation":"direct","#,
            r#""allowCredentials":{{"key":[{{"type":"public-key","id":"{cred}"}}],"webauthn":[]}}}}"#
        ),
        cred = DFNS_CRED_ID
    )
    .into_bytes()
}

/// The answer of `POST /auth/action`.
pub fn dfns_user_action() -> Vec<u8> {
    br#"{"userAction":"eyJ0eXAiOiJKV1QiLCJhbGciOiJFUzI1NiJ9.eyJ1c2VyQWN0aW9uIjoiYmVuY2gifQ.dWEtc2lnbmF0dXJl"}"#.to_vec()
}

/// One ZITADEL v2 `PersonalAccessToken`.
pub fn zitadel_pat(out: &mut String, i: usize) {
    let _ = write!(
        out,
        concat!(
            r#"{{"creationDate":"{ts}","changeDate":"{ts}","id":"{id}","#,
            r#""userId":"{user}","organizationId":"259242039378313218","expirationDate":"2027-{m:02}-01T00:00:00Z"}}"#
        ),
        ts = timestamp(i),
        id = zitadel_id(i),
        user = ZITADEL_USER,
        m = 1 + i % 12
    );
}

/// A v2 `ListPersonalAccessTokens` answer with the tokens `range` of `total`.
pub fn zitadel_list(range: std::ops::Range<usize>, total: usize) -> Vec<u8> {
    let mut out = String::with_capacity(range.len() * 260 + 96);
    let _ = write!(
        out,
        r#"{{"pagination":{{"totalResult":"{total}","appliedLimit":"{}"}},"result":["#,
        range.len()
    );
    for (k, i) in range.enumerate() {
        if k > 0 {
            out.push(',');
        }
        zitadel_pat(&mut out, i);
    }
    out.push_str("]}");
    out.into_bytes()
}

/// A v2 `AddPersonalAccessToken` answer.
pub fn zitadel_added() -> Vec<u8> {
    format!(
        r#"{{"creationDate":"2026-03-01T12:00:00.123456Z","tokenId":"{}","token":"dEnGhIK2H1RmMn9pqVz-0aPbvoeUo1kV6YU8IDaTg3Tq5Y_RGaYV1GiVNAYjL6Oc28kZ0rQ"}}"#,
        zitadel_id(7)
    )
    .into_bytes()
}

/// A v2 `ListUsers` answer: the machine user owning the benchmark's tokens.
pub fn zitadel_users() -> Vec<u8> {
    format!(
        r#"{{"details":{{"totalResult":"1"}},"result":[{{"userId":"{ZITADEL_USER}","username":"bench-bot","machine":{{"name":"bench-bot"}}}}]}}"#
    )
    .into_bytes()
}

/// A v2 `RemovePersonalAccessToken` answer.
pub fn zitadel_removed() -> Vec<u8> {
    br#"{"deletionDate":"2026-03-01T12:00:01.654321Z"}"#.to_vec()
}

/// One SailPoint `GetPersonalAccessTokenResponse`.
pub fn sailpoint_token(out: &mut String, i: usize) {
    let _ = write!(
        out,
        concat!(
            r#"{{"id":"{id}","name":"ci-token-{i}","scope":["sp:scopes:all"],"#,
            r#""owner":{{"type":"IDENTITY","id":"2c9180a46faadee4016fb4e018c20639","name":"Support Bot"}},"#,
            r#""created":"{ts}","lastUsed":"{ts}","managed":false,"accessTokenValiditySeconds":43200,"#,
            r#""expirationDate":"2026-09-{d:02}T00:00:00.000Z","userAwareTokenNeverExpires":false}}"#
        ),
        id = sailpoint_id(i),
        i = i,
        ts = timestamp(i),
        d = 1 + i % 28
    );
}

/// A SailPoint listing: a JSON array of `n` tokens.
pub fn sailpoint_list(n: usize) -> Vec<u8> {
    let mut out = String::with_capacity(n * 420 + 2);
    out.push('[');
    for i in 0..n {
        if i > 0 {
            out.push(',');
        }
        sailpoint_token(&mut out, i);
    }
    out.push(']');
    out.into_bytes()
}

/// A SailPoint `/oauth/token` answer.
pub fn sailpoint_oauth() -> Vec<u8> {
    br#"{"access_token":"eyJhbGciOiJSUzI1NiJ9.eyJ0ZW5hbnRfaWQiOiJiZW5jaCJ9.c2lnbmF0dXJl","token_type":"bearer","expires_in":43199,"scope":"sp:scopes:all","tenant_id":"bench","internal":true,"jti":"b3c2a1"}"#.to_vec()
}

/// The GitLab user whose tokens the benches list, create and rotate.
pub const GITLAB_USER: u64 = 7;
/// The token value GitLab answers a create or rotate with.
pub const GITLAB_NEW_TOKEN: &str = "glpat-bench-0123456789abcdefgh";

/// A GitLab token id (GitLab's are positive integers).
pub fn gitlab_id(i: usize) -> u64 {
    4_000 + i as u64
}

/// The fields of one GitLab `PersonalAccessToken` (without the braces), as
/// `doc/api/personal_access_tokens.md` shows them: `description`, `last_used_at` and
/// `expires_at` may be null.
fn gitlab_fields(out: &mut String, i: usize) {
    let last_used = if i.is_multiple_of(3) {
        "null".to_owned()
    } else {
        format!("\"{}\"", timestamp(i + 7))
    };
    let expires = if i % 5 == 4 {
        "null".to_owned()
    } else {
        format!("\"2027-{:02}-{:02}\"", 1 + i % 12, 1 + i % 28)
    };
    let _ = write!(
        out,
        concat!(
            r#""id":{id},"name":"ci-token-{i}","revoked":false,"created_at":"{ts}","#,
            r#""description":"deploys from CI, runner {i}","scopes":["api","read_repository"],"#,
            r#""user_id":{user},"last_used_at":{last_used},"active":true,"expires_at":{expires}"#
        ),
        id = gitlab_id(i),
        i = i,
        ts = timestamp(i),
        user = GITLAB_USER,
        last_used = last_used,
        expires = expires
    );
}

/// One GitLab `PersonalAccessToken`.
pub fn gitlab_token(out: &mut String, i: usize) {
    out.push('{');
    gitlab_fields(out, i);
    out.push('}');
}

/// A GitLab listing (`GET /personal_access_tokens`): a JSON array of `n` tokens.
pub fn gitlab_list(n: usize) -> Vec<u8> {
    let mut out = String::with_capacity(n * 320 + 2);
    out.push('[');
    for i in 0..n {
        if i > 0 {
            out.push(',');
        }
        gitlab_token(&mut out, i);
    }
    out.push(']');
    out.into_bytes()
}

/// One GitLab token alone (`GET /personal_access_tokens/:id`).
pub fn gitlab_single(i: usize) -> Vec<u8> {
    let mut out = String::new();
    gitlab_token(&mut out, i);
    out.into_bytes()
}

/// The answer of a create (`POST /users/:user_id/personal_access_tokens`, with
/// `last_used_ips` as `doc/api/user_tokens.md` shows it) or of a rotate
/// (`POST /personal_access_tokens/:id/rotate`): the new token with its value.
pub fn gitlab_new_token(i: usize) -> Vec<u8> {
    let mut out = String::from("{");
    gitlab_fields(&mut out, i);
    let _ = write!(out, r#","last_used_ips":[],"token":"{GITLAB_NEW_TOKEN}"}}"#);
    out.into_bytes()
}

/// `GET /user` (the current user): what the `gitlab` crate's client asks once when it
/// is built, to check its token.
pub fn gitlab_current_user() -> Vec<u8> {
    format!(
        concat!(
            r#"{{"id":{user},"username":"bench-admin","name":"Bench Admin","state":"active","#,
            r#""locked":false,"avatar_url":null,"web_url":"http://gitlab.example.com/bench-admin","#,
            r#""created_at":"2026-01-01T00:00:00.000Z","is_admin":true,"bot":false}}"#
        ),
        user = GITLAB_USER
    )
    .into_bytes()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn fixtures_are_json() {
        for bytes in [
            dfns_list(3),
            dfns_single(1),
            dfns_challenge(),
            dfns_user_action(),
            zitadel_list(0..3, 10),
            zitadel_added(),
            zitadel_removed(),
            sailpoint_list(3),
            sailpoint_oauth(),
            gitlab_list(6),
            gitlab_single(1),
            gitlab_new_token(2),
            gitlab_current_user(),
        ] {
            serde_json::from_slice::<Value>(&bytes).unwrap();
        }
        let v: Value = serde_json::from_slice(&dfns_list(2)).unwrap();
        assert_eq!(v["items"][1]["tokenId"], dfns_id(1));
        let v: Value = serde_json::from_slice(&gitlab_list(6)).unwrap();
        assert_eq!(v[3]["id"], gitlab_id(3));
        assert_eq!(v[3]["last_used_at"], Value::Null);
        assert_eq!(v[4]["expires_at"], Value::Null);
        let v: Value = serde_json::from_slice(&gitlab_new_token(2)).unwrap();
        assert_eq!(v["token"], GITLAB_NEW_TOKEN);
    }
}
