//! OAuth2 token endpoints (RFC 6749): the client-credentials grant, and posting any grant
//! and reading the answer.
//!
//! A [`TokenEndpoint`] is where a provider's grants go (one [`Operation`] of its contract,
//! sent through its [`Transport`]: base URL, timeouts, body cap and retries as for any
//! request of that operation) and how its error answers are read. [`ClientCredentialsFetcher`]
//! logs in there with a client id and secret (§4.4); a provider with another grant (a
//! JWT-bearer assertion, RFC 7523) builds its form with [`TokenEndpoint::request`] and sends
//! it with [`TokenEndpoint::exchange`], which reads the answer as every grant's is read.
//!
//! Secrets a token request carries (the client secret, the Basic header made from it, an
//! assertion) are registered with the request, so they are scrubbed from any error built
//! from the answer; no `Debug` here shows them.

use super::{FetchedToken, TokenFetcher};
use crate::error::{Error, Result};
use crate::transport::{Operation, Request, Response, Transport};
use async_trait::async_trait;
use reqwest::header::{AUTHORIZATION, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use std::fmt;
use std::time::Duration;

/// The grant type of the client-credentials login (RFC 6749 §4.4).
pub const CLIENT_CREDENTIALS_GRANT: &str = "client_credentials";

/// The content type of a token request's body.
const FORM: &str = "application/x-www-form-urlencoded";

/// How the client authenticates itself at the token endpoint (RFC 6749 §2.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ClientAuthMethod {
    /// `Authorization: Basic base64(urlencode(client_id) ":" urlencode(client_secret))`
    /// (`client_secret_basic`, which every authorization server must support).
    #[default]
    Basic,
    /// `client_id` and `client_secret` in the form body (`client_secret_post`).
    Post,
}

/// A client id and secret, and how they are sent.
///
/// `Debug` shows the client id and the method, never the secret.
#[derive(Clone)]
pub struct ClientCredentials {
    client_id: String,
    client_secret: SecretString,
    method: ClientAuthMethod,
}

impl fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[REDACTED]")
            .field("method", &self.method)
            .finish()
    }
}

impl ClientCredentials {
    /// Credentials sent by HTTP Basic.
    pub fn new(client_id: impl Into<String>, client_secret: SecretString) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret,
            method: ClientAuthMethod::Basic,
        }
    }

    /// Sends them with `method` instead.
    #[must_use]
    pub fn method(mut self, method: ClientAuthMethod) -> Self {
        self.method = method;
        self
    }

    /// The client id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// How they are sent.
    pub fn auth_method(&self) -> ClientAuthMethod {
        self.method
    }

    /// Refuses an empty id or secret, and an id with a control character.
    fn check(&self) -> Result<()> {
        if self.client_id.trim().is_empty() {
            return Err(Error::invalid("client_id", "must not be empty"));
        }
        if self.client_id.chars().any(char::is_control) {
            return Err(Error::invalid(
                "client_id",
                "must not contain control characters",
            ));
        }
        if self.client_secret.expose_secret().is_empty() {
            return Err(Error::invalid("client_secret", "must not be empty"));
        }
        Ok(())
    }
}

/// A provider's token endpoint: the operation grants are posted to, the transport that
/// sends them, and how its error answers are read (by default [`oauth_error`]).
#[derive(Clone)]
pub struct TokenEndpoint {
    transport: Transport,
    operation: &'static Operation,
    map_error: fn(&Response) -> Error,
}

impl fmt::Debug for TokenEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenEndpoint")
            .field("base", &self.transport.base_url().as_str())
            .field("path", &self.operation.path)
            .finish_non_exhaustive()
    }
}

impl TokenEndpoint {
    /// The endpoint `operation` (for example `POST /oauth/token`) of the provider behind
    /// `transport`. Token requests are retried only if the contract marks `operation`
    /// idempotent (a token request changes nothing but issuing a token, so contracts do).
    pub fn new(transport: Transport, operation: &'static Operation) -> Self {
        Self {
            transport,
            operation,
            map_error: oauth_error,
        }
    }

    /// Reads non-2xx answers with `map_error` instead of [`oauth_error`] (a provider whose
    /// token endpoint answers errors in its own format).
    #[must_use]
    pub fn with_error_mapper(mut self, map_error: fn(&Response) -> Error) -> Self {
        self.map_error = map_error;
        self
    }

    /// The transport requests are sent through.
    pub fn transport(&self) -> &Transport {
        &self.transport
    }

    /// A token request with `form` (in order) as its form-encoded body, sent without the
    /// transport's bearer token. Register the secrets it carries with [`Request::secret`].
    pub fn request(&self, form: &[(&str, &str)]) -> Result<Request> {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        Ok(Request::operation(self.operation, &[])?
            .body(body, HeaderValue::from_static(FORM))
            .without_auth())
    }

    /// Sends a token request and reads the answer: a 2xx as [`token_answer`] does, anything
    /// else through the error mapper.
    pub async fn exchange(&self, request: Request) -> Result<FetchedToken> {
        let response = self.transport.send(request).await?;
        if !response.is_success() {
            return Err((self.map_error)(&response));
        }
        token_answer(&response)
    }
}

/// Reads a token endpoint's successful answer (RFC 6749 §5.1): `access_token` (required;
/// not empty and only the visible ASCII a bearer token is made of) and `expires_in` (seconds,
/// a number or a decimal string; optional). Other fields (`token_type`, `scope`, ...) are
/// ignored. An answer that is not such JSON is a [`Decode`](crate::ErrorKind::Decode) error
/// that quotes no token.
pub fn token_answer(response: &Response) -> Result<FetchedToken> {
    /// The fields read (no `Debug`: it holds the token).
    #[derive(serde::Deserialize)]
    struct Answer {
        access_token: String,
        #[serde(default, with = "crate::wire::uint64::option")]
        expires_in: Option<u64>,
    }
    let answer: Answer = response.json()?;
    response.check_access_token(&answer.access_token)?;
    Ok(FetchedToken::new(
        SecretString::from(answer.access_token),
        answer.expires_in.map(Duration::from_secs),
    ))
}

/// Reads an OAuth error answer (RFC 6749 §5.2, `{"error", "error_description"}`); any
/// other body is read as the generic API error of its status.
///
/// See [`oauth_error_or`].
pub fn oauth_error(response: &Response) -> Error {
    oauth_error_or(response, |r| r.api_error(None, None, None))
}

/// Reads an OAuth error answer (RFC 6749 §5.2), or any other body with `fallback`.
///
/// The `error` code becomes the [`ApiError`](crate::ApiError)'s code, `error_description`
/// (or else the code) its message, both scrubbed of the request's secrets. `invalid_grant`,
/// `invalid_client` and `unauthorized_client` are
/// [`Unauthenticated`](crate::ErrorKind::Unauthenticated) whatever the status (servers
/// answer them with 400 or 401); other codes are kinded by their status.
pub fn oauth_error_or(response: &Response, fallback: fn(&Response) -> Error) -> Error {
    #[derive(serde::Deserialize)]
    struct OAuthError {
        error: String,
        #[serde(default)]
        error_description: Option<String>,
    }
    let Ok(body) = serde_json::from_slice::<OAuthError>(response.body()) else {
        return fallback(response);
    };
    let message = body.error_description.as_deref().unwrap_or(&body.error);
    let base = response.api_error(Some(response.scrub(&body.error)), Some(message), None);
    match body.error.as_str() {
        "invalid_grant" | "invalid_client" | "unauthorized_client" => match base.api_error() {
            Some(api) => Error::unauthenticated(api.clone()),
            None => base,
        },
        _ => base,
    }
}

/// Logs in with client credentials (RFC 6749 §4.4) at a [`TokenEndpoint`]: the form body
/// is `grant_type=client_credentials`, then `scope` if one is set, then `client_id` and
/// `client_secret` if they go in the body ([`ClientAuthMethod::Post`]); with
/// [`ClientAuthMethod::Basic`] they go in the `Authorization` header.
///
/// Wrap it in [`CachingTokenSource`](super::CachingTokenSource) so that one login serves
/// every concurrent caller until shortly before the token expires.
pub struct ClientCredentialsFetcher {
    endpoint: TokenEndpoint,
    credentials: ClientCredentials,
    scope: Option<String>,
}

impl fmt::Debug for ClientCredentialsFetcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCredentialsFetcher")
            .field("endpoint", &self.endpoint)
            .field("credentials", &self.credentials)
            .field("scope", &self.scope)
            .finish()
    }
}

impl ClientCredentialsFetcher {
    /// A fetcher that logs in at `endpoint`. An empty client id or secret, or a client id
    /// with a control character, is [`InvalidInput`](crate::ErrorKind::InvalidInput).
    pub fn new(endpoint: TokenEndpoint, credentials: ClientCredentials) -> Result<Self> {
        credentials.check()?;
        Ok(Self {
            endpoint,
            credentials,
            scope: None,
        })
    }

    /// Asks for `scope` (space-separated values, sent as the `scope` parameter).
    #[must_use]
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = Some(scope.into());
        self
    }

    /// The token request, exactly as it is sent.
    pub fn request(&self) -> Result<Request> {
        let creds = &self.credentials;
        let secret = creds.client_secret.expose_secret();
        let mut form = vec![("grant_type", CLIENT_CREDENTIALS_GRANT)];
        if let Some(scope) = &self.scope {
            form.push(("scope", scope));
        }
        if creds.method == ClientAuthMethod::Post {
            form.push(("client_id", &creds.client_id));
            form.push(("client_secret", secret));
        }
        let mut request = self.endpoint.request(&form)?;
        if creds.method == ClientAuthMethod::Basic {
            use base64::Engine as _;
            // RFC 6749 §2.3.1: both halves form-urlencoded, then base64.
            let pair = format!("{}:{}", form_encode(&creds.client_id), form_encode(secret));
            let encoded = base64::engine::general_purpose::STANDARD.encode(pair);
            let mut value = HeaderValue::from_str(&format!("Basic {encoded}"))
                .map_err(|_| Error::invalid("client_id", "cannot go into a header"))?;
            value.set_sensitive(true);
            request = request
                .header(AUTHORIZATION, value)
                .secret(SecretString::from(encoded));
        }
        Ok(request.secret(creds.client_secret.clone()))
    }
}

/// `application/x-www-form-urlencoded` encoding of one value.
fn form_encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

#[async_trait]
impl TokenFetcher for ClientCredentialsFetcher {
    async fn fetch(&self) -> Result<FetchedToken> {
        self.endpoint.exchange(self.request()?).await
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::{ClientOptions, ErrorKind, RetryPolicy, VirtualClock};
    use base64::Engine as _;
    use bytes::Bytes;
    use reqwest::header::HeaderMap;
    use std::sync::Arc;
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    const SECRET: &str = "client-secret-value-42";

    static TOKEN_OP: Operation = Operation::new("Token", "POST", "/oauth/v2/token", true);
    static NOT_IDEMPOTENT: Operation = Operation::new("Token", "POST", "/oauth/token", false);

    fn transport(base: &str) -> Transport {
        let options = ClientOptions::default()
            .with_retry(RetryPolicy::default().with_max_attempts(3))
            .with_clock(Arc::new(VirtualClock::new()));
        Transport::new("test", base, options).unwrap()
    }

    fn endpoint(base: &str) -> TokenEndpoint {
        TokenEndpoint::new(transport(base), &TOKEN_OP)
    }

    fn credentials(method: ClientAuthMethod) -> ClientCredentials {
        ClientCredentials::new("bot user:1", SecretString::from(SECRET)).method(method)
    }

    fn body(request: &Request) -> &str {
        std::str::from_utf8(request.body_bytes().unwrap()).unwrap()
    }

    fn json_response(status: u16, body: &str) -> Response {
        let mut headers = HeaderMap::new();
        headers.insert(
            reqwest::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        Response::new(status, headers, Bytes::from(body.to_owned()))
    }

    async fn server_answering(template: ResponseTemplate) -> MockServer {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/oauth/v2/token"))
            .respond_with(template)
            .mount(&server)
            .await;
        server
    }

    fn token_json(token: &str) -> ResponseTemplate {
        ResponseTemplate::new(200).set_body_json(
            serde_json::json!({"access_token": token, "token_type": "Bearer", "expires_in": 300}),
        )
    }

    #[test]
    fn the_form_is_exactly_grant_scope_then_post_credentials() {
        let base = "http://127.0.0.1:9";
        let basic =
            ClientCredentialsFetcher::new(endpoint(base), credentials(ClientAuthMethod::Basic))
                .unwrap()
                .scope("openid urn:x:aud");
        assert_eq!(
            body(&basic.request().unwrap()),
            "grant_type=client_credentials&scope=openid+urn%3Ax%3Aaud"
        );
        let post =
            ClientCredentialsFetcher::new(endpoint(base), credentials(ClientAuthMethod::Post))
                .unwrap();
        assert_eq!(
            body(&post.request().unwrap()),
            format!("grant_type=client_credentials&client_id=bot+user%3A1&client_secret={SECRET}")
        );
        let scoped_post = post.scope("s");
        assert_eq!(
            body(&scoped_post.request().unwrap()),
            format!(
                "grant_type=client_credentials&scope=s&client_id=bot+user%3A1&client_secret={SECRET}"
            )
        );
    }

    #[tokio::test]
    async fn basic_sends_the_form_encoded_pair_in_the_header_and_no_bearer() {
        let server = server_answering(token_json("at-1")).await;
        let fetcher = ClientCredentialsFetcher::new(
            endpoint(&server.uri()),
            credentials(ClientAuthMethod::Basic),
        )
        .unwrap();
        let fetched = fetcher.fetch().await.unwrap();
        assert_eq!(fetched.token.expose_secret(), "at-1");
        assert_eq!(fetched.expires_in, Some(Duration::from_secs(300)));
        let received = server.received_requests().await.unwrap();
        assert_eq!(received.len(), 1);
        let request = &received[0];
        assert_eq!(request.url.path(), "/oauth/v2/token");
        assert_eq!(request.url.query(), None);
        assert_eq!(
            std::str::from_utf8(&request.body).unwrap(),
            "grant_type=client_credentials"
        );
        let header = |name: &str| request.headers.get(name).and_then(|v| v.to_str().ok());
        assert_eq!(header("content-type"), Some(FORM));
        let expected =
            base64::engine::general_purpose::STANDARD.encode(format!("bot+user%3A1:{SECRET}"));
        assert_eq!(
            header("authorization"),
            Some(format!("Basic {expected}").as_str())
        );
    }

    #[tokio::test]
    async fn post_sends_the_credentials_in_the_body_only() {
        let server = server_answering(token_json("at-2")).await;
        let fetcher = ClientCredentialsFetcher::new(
            endpoint(&server.uri()),
            ClientCredentials::new("cid", SecretString::from(SECRET))
                .method(ClientAuthMethod::Post),
        )
        .unwrap();
        assert_eq!(fetcher.fetch().await.unwrap().token.expose_secret(), "at-2");
        let received = server.received_requests().await.unwrap();
        assert!(received[0].headers.get("authorization").is_none());
        assert_eq!(
            std::str::from_utf8(&received[0].body).unwrap(),
            format!("grant_type=client_credentials&client_id=cid&client_secret={SECRET}")
        );
    }

    #[tokio::test]
    async fn a_token_request_is_retried_only_if_the_operation_is_idempotent() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(503))
            .mount(&server)
            .await;
        let creds = credentials(ClientAuthMethod::Post);
        let retried =
            ClientCredentialsFetcher::new(endpoint(&server.uri()), creds.clone()).unwrap();
        assert!(retried.fetch().await.is_err());
        assert_eq!(server.received_requests().await.unwrap().len(), 3);
        server.reset().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(503))
            .mount(&server)
            .await;
        let once = ClientCredentialsFetcher::new(
            TokenEndpoint::new(transport(&server.uri()), &NOT_IDEMPOTENT),
            creds,
        )
        .unwrap();
        let err = once.fetch().await.unwrap_err();
        assert_eq!(err.api_error().map(|a| a.status), Some(503), "{err}");
        let received = server.received_requests().await.unwrap();
        assert_eq!(received.len(), 1);
        assert_eq!(received[0].url.path(), "/oauth/token");
    }

    #[test]
    fn bad_credentials_are_refused_before_anything_is_sent() {
        let base = "http://127.0.0.1:9";
        for (id, secret, field) in [
            ("", SECRET, "client_id"),
            ("  ", SECRET, "client_id"),
            ("a\nb", SECRET, "client_id"),
            ("a\u{7f}", SECRET, "client_id"),
            ("cid", "", "client_secret"),
        ] {
            let creds = ClientCredentials::new(id, SecretString::from(secret));
            let err = ClientCredentialsFetcher::new(endpoint(base), creds).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "{id:?}");
            assert!(err.to_string().contains(field), "{err}");
        }
        // A one-character secret is not empty.
        let creds = ClientCredentials::new("cid", SecretString::from("x"));
        assert!(ClientCredentialsFetcher::new(endpoint(base), creds).is_ok());
    }

    #[test]
    fn answers_are_read_into_a_token_and_its_lifetime() {
        let read = |body: &str| token_answer(&json_response(200, body));
        let t = read(r#"{"access_token":"abc","token_type":"Bearer","expires_in":3600}"#).unwrap();
        assert_eq!(t.token.expose_secret(), "abc");
        assert_eq!(t.expires_in, Some(Duration::from_secs(3600)));
        let t = read(r#"{"access_token":"abc","expires_in":"42"}"#).unwrap();
        assert_eq!(t.expires_in, Some(Duration::from_secs(42)));
        let t = read(r#"{"access_token":"abc","token_type":"mac","scope":"x"}"#).unwrap();
        assert_eq!(t.expires_in, None);
        let t = read(r#"{"access_token":"abc","expires_in":null}"#).unwrap();
        assert_eq!(t.expires_in, None);
        let t = read(r#"{"access_token":"abc","expires_in":18446744073709551615}"#).unwrap();
        assert_eq!(t.expires_in, Some(Duration::from_secs(u64::MAX)));
    }

    #[test]
    fn malformed_answers_are_decode_errors_that_quote_no_token() {
        let hidden = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";
        let nested = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        for body in [
            r#"{"token_type":"Bearer","expires_in":300}"#.to_owned(),
            r#"{"access_token":""}"#.to_owned(),
            r#"{"access_token":"has space"}"#.to_owned(),
            "{\"access_token\":\"caf\u{e9}\"}".to_owned(),
            r#"{"access_token":42}"#.to_owned(),
            format!(r#"{{"access_token":"{hidden}","expires_in":-1}}"#),
            format!(r#"{{"access_token":"{hidden}","expires_in":"soon"}}"#),
            format!(r#"{{"access_token":"{hidden}","expires_in":1e400}}"#),
            format!(r#"{{"access_token":"{hidden}""#),
            "[]".to_owned(),
            String::new(),
            nested,
            "x".repeat(5 << 20),
        ] {
            let err = token_answer(&json_response(200, &body)).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Decode, "{err}");
            let shown = format!("{err} {err:?}");
            assert!(!shown.contains(hidden), "{shown}");
            assert!(shown.len() < 4096, "{}", shown.len());
        }
        let mut headers = HeaderMap::new();
        headers.insert(
            reqwest::header::CONTENT_TYPE,
            HeaderValue::from_static("text/html"),
        );
        let html = Response::new(
            200,
            headers,
            Bytes::from_static(b"{\"access_token\":\"a\"}"),
        );
        assert_eq!(token_answer(&html).unwrap_err().kind(), ErrorKind::Decode);
    }

    #[tokio::test]
    async fn an_answer_past_the_body_cap_is_refused() {
        let huge = format!(r#"{{"access_token":"{}"}}"#, "a".repeat(64 * 1024));
        let server = server_answering(
            ResponseTemplate::new(200).set_body_raw(huge.into_bytes(), "application/json"),
        )
        .await;
        let options = ClientOptions::default().with_max_response_bytes(16 * 1024);
        let endpoint = TokenEndpoint::new(
            Transport::new("test", &server.uri(), options).unwrap(),
            &TOKEN_OP,
        );
        let fetcher =
            ClientCredentialsFetcher::new(endpoint, credentials(ClientAuthMethod::Basic)).unwrap();
        let err = fetcher.fetch().await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Decode, "{err}");
        assert!(err.to_string().contains("larger than"), "{err}");
        assert!(!err.to_string().contains("aaaaaa"), "{err}");
    }

    #[tokio::test]
    async fn an_oauth_error_is_kinded_and_scrubbed_of_the_secret() {
        let echo = format!("client {SECRET} is unknown");
        let server = server_answering(ResponseTemplate::new(400).set_body_json(
            serde_json::json!({"error": "invalid_client", "error_description": echo}),
        ))
        .await;
        for method in [ClientAuthMethod::Basic, ClientAuthMethod::Post] {
            let fetcher =
                ClientCredentialsFetcher::new(endpoint(&server.uri()), credentials(method))
                    .unwrap();
            let err = fetcher.fetch().await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Unauthenticated, "{err}");
            let api = err.api_error().unwrap();
            assert_eq!(api.status, 400);
            assert_eq!(api.code.as_deref(), Some("invalid_client"));
            assert!(api.message.starts_with("client "), "{}", api.message);
            assert!(api.message.ends_with(" is unknown"), "{}", api.message);
            let shown = format!("{err} {err:?}");
            assert!(!shown.contains(SECRET), "{shown}");
        }
    }

    #[test]
    fn oauth_error_codes_and_fallbacks() {
        for code in ["invalid_grant", "invalid_client", "unauthorized_client"] {
            let err = oauth_error(&json_response(400, &format!(r#"{{"error":"{code}"}}"#)));
            assert_eq!(err.kind(), ErrorKind::Unauthenticated, "{code}");
            let api = err.api_error().unwrap();
            assert_eq!(api.code.as_deref(), Some(code));
            // Without a description, the code is the message.
            assert_eq!(api.message, code);
        }
        let err = oauth_error(&json_response(
            400,
            r#"{"error":"invalid_scope","error_description":"no such scope"}"#,
        ));
        assert_eq!(err.kind(), ErrorKind::Api);
        assert_eq!(err.api_error().unwrap().message, "no such scope");
        let err = oauth_error(&json_response(401, r#"{"error":"invalid_request"}"#));
        assert_eq!(err.kind(), ErrorKind::Unauthenticated);
        let err = oauth_error(&json_response(429, r#"{"error":"slow_down"}"#));
        assert_eq!(err.kind(), ErrorKind::RateLimited);
        // Not an OAuth body: the fallback reads it.
        let err = oauth_error(&json_response(503, r#"{"message":"down"}"#));
        assert_eq!(err.kind(), ErrorKind::Api);
        assert_eq!(err.api_error().unwrap().code, None);
        fn mine(_: &Response) -> Error {
            Error::invalid("fallback", "used")
        }
        let err = oauth_error_or(&json_response(500, r#"{"code":5}"#), mine);
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        let err = oauth_error_or(&json_response(400, r#"{"error":"invalid_grant"}"#), mine);
        assert_eq!(err.kind(), ErrorKind::Unauthenticated);
    }

    #[tokio::test]
    async fn a_provider_error_mapper_reads_the_error_answers() {
        let server = server_answering(
            ResponseTemplate::new(400).set_body_json(serde_json::json!({"error": "invalid_grant"})),
        )
        .await;
        fn mine(response: &Response) -> Error {
            Error::invalid("status", response.status().to_string())
        }
        let endpoint = endpoint(&server.uri()).with_error_mapper(mine);
        let fetcher =
            ClientCredentialsFetcher::new(endpoint, credentials(ClientAuthMethod::Post)).unwrap();
        let err = fetcher.fetch().await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(err.to_string().contains("400"), "{err}");
    }

    #[tokio::test]
    async fn another_grant_goes_through_the_same_endpoint() {
        let server = server_answering(token_json("at-3")).await;
        let endpoint = endpoint(&server.uri());
        assert!(std::ptr::eq(
            endpoint.transport().base_url(),
            endpoint.transport.base_url()
        ));
        let request = endpoint
            .request(&[("grant_type", "urn:x"), ("assertion", "a.b.c")])
            .unwrap();
        assert_eq!(body(&request), "grant_type=urn%3Ax&assertion=a.b.c");
        let fetched = endpoint.exchange(request).await.unwrap();
        assert_eq!(fetched.token.expose_secret(), "at-3");
        let received = server.received_requests().await.unwrap();
        assert!(received[0].headers.get("authorization").is_none());
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let creds = credentials(ClientAuthMethod::Post);
        let shown = format!("{creds:?}");
        assert_eq!(
            shown,
            r#"ClientCredentials { client_id: "bot user:1", client_secret: "[REDACTED]", method: Post }"#
        );
        let fetcher = ClientCredentialsFetcher::new(endpoint("http://127.0.0.1:9"), creds)
            .unwrap()
            .scope("openid");
        let shown = format!("{fetcher:?}");
        assert!(!shown.contains(SECRET), "{shown}");
        assert!(shown.contains("/oauth/v2/token"), "{shown}");
        assert!(shown.contains("http://127.0.0.1:9/"), "{shown}");
        assert!(shown.contains(r#"scope: Some("openid")"#), "{shown}");
        assert_eq!(
            credentials(ClientAuthMethod::Basic).auth_method(),
            ClientAuthMethod::Basic
        );
        assert_eq!(
            credentials(ClientAuthMethod::Post).auth_method(),
            ClientAuthMethod::Post
        );
        assert_eq!(ClientAuthMethod::default(), ClientAuthMethod::Basic);
        assert_eq!(
            credentials(ClientAuthMethod::Basic).client_id(),
            "bot user:1"
        );
    }
}
