//! The client, its builder, organization scoping and the typed v2 / v1 calls.

use crate::auth::{ClientCredentialsFetcher, JwtProfileFetcher, ZitadelAuth};
use crate::error::map_api_error;
use crate::generated::operations as ops;
use crate::generated::{
    FilterV2IDFilter as V2IdFilter, FilterV2PaginationRequest as V2PaginationRequest,
    FilterV2TimestampFilter as V2TimestampFilter,
    FilterV2TimestampFilterMethod as V2TimestampFilterMethod,
    ManagementV1AddPersonalAccessTokenBody as V1AddPatRequest,
    ManagementV1AddPersonalAccessTokenResponse as V1AddPatResponse,
    ManagementV1GetPersonalAccessTokenByIDsResponse as V1GetPatResponse,
    ManagementV1ListPersonalAccessTokensBody as V1ListPatsRequest,
    ManagementV1ListPersonalAccessTokensResponse as V1ListPatsResponse,
    ManagementV1RemovePersonalAccessTokenResponse as V1RemovePatResponse,
    ObjectV2ListQuery as V2ListQuery, ObjectV2TextQueryMethod as V2TextQueryMethod,
    UserV1PersonalAccessToken as V1Pat, UserV2AddPersonalAccessTokenRequest as V2AddPatRequest,
    UserV2AddPersonalAccessTokenResponse as V2AddPatResponse,
    UserV2InUserIDQuery as V2InUserIdQuery,
    UserV2ListPersonalAccessTokensRequest as V2ListPatsRequest,
    UserV2ListPersonalAccessTokensResponse as V2ListPatsResponse,
    UserV2ListUsersRequest as V2ListUsersRequest, UserV2ListUsersResponse as V2ListUsersResponse,
    UserV2OrganizationIdQuery as V2OrgIdQuery,
    UserV2PersonalAccessTokenFieldName as V2PatFieldName,
    UserV2PersonalAccessTokensSearchFilter as V2PatSearchFilter,
    UserV2RemovePersonalAccessTokenRequest as V2RemovePatRequest,
    UserV2RemovePersonalAccessTokenResponse as V2RemovePatResponse,
    UserV2SearchQuery as V2UserQuery, UserV2Type as V2UserType, UserV2TypeQuery as V2TypeQuery,
    UserV2User as V2User, UserV2UserNameQuery as V2UserNameQuery, V1ListQuery,
    V1ObjectDetails as ObjectDetails,
};
use pats_core::Operation;
use pats_core::credentials::{CachingTokenSource, StaticToken, TokenSource};
use pats_core::reexports::reqwest::header::{HeaderName, HeaderValue};
use pats_core::{ClientOptions, Error, NeverExpires, Result, TokenId, Transport};
use pats_core::{Request, Response};
use secrecy::{ExposeSecret, SecretString};
use std::fmt;
use std::sync::Arc;
use time::OffsetDateTime;

/// The provider name.
pub const PROVIDER: &str = "zitadel";

/// The header that scopes a call to an organization.
pub const ORG_HEADER: &str = "x-zitadel-orgid";

/// The largest page ZITADEL serves.
pub const MAX_PAGE_SIZE: u32 = 1000;

/// The page size ZITADEL uses when none is given.
pub const DEFAULT_PAGE_SIZE: u32 = 100;

/// Which ZITADEL API the [`PersonalAccessTokens`](pats_core::PersonalAccessTokens)
/// implementation calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ApiVersion {
    /// The v2 user service over Connect JSON (`/zitadel.user.v2.UserService/...`).
    #[default]
    V2,
    /// The v1 management REST API (`/management/v1/users/{user_id}/pats...`), for instances
    /// that still use it.
    V1,
}

/// Builds a [`ZitadelClient`].
#[derive(Default)]
#[must_use]
pub struct ZitadelClientBuilder {
    base_url: Option<String>,
    auth: Option<ZitadelAuth>,
    organization: Option<String>,
    default_user: Option<String>,
    api: ApiVersion,
    options: ClientOptions,
}

impl fmt::Debug for ZitadelClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The base URL without userinfo or query: they can hold credentials.
        f.debug_struct("ZitadelClientBuilder")
            .field(
                "base_url",
                &self
                    .base_url
                    .as_deref()
                    .map(pats_core::__private::redact::ShownUrl),
            )
            .field("auth", &self.auth)
            .field("organization", &self.organization)
            .field("default_user", &self.default_user)
            .field("api", &self.api)
            .field("options", &self.options)
            .finish()
    }
}

impl ZitadelClientBuilder {
    /// The instance URL (required): `https://<instance>.zitadel.cloud`, or `http://` on
    /// loopback only.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// A builder filled from `lookup` (the environment for [`from_env`](Self::from_env)):
    /// the variables of [`ZitadelConfig`](crate::ZitadelConfig), the key file read here. A
    /// missing or malformed one is an [`InvalidInput`](pats_core::ErrorKind::InvalidInput)
    /// whose field is the variable's name.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        crate::ZitadelConfig::from_lookup(lookup)?.env_builder()
    }

    /// A builder filled from the environment (see [`from_lookup`](Self::from_lookup)).
    pub fn from_env() -> Result<Self> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Sets the credentials (required).
    pub fn auth(mut self, auth: ZitadelAuth) -> Self {
        self.auth = Some(auth);
        self
    }

    /// Sends `x-zitadel-orgid: <id>` with every API call (default: no header, the caller's
    /// own organization).
    pub fn organization(mut self, id: impl Into<String>) -> Self {
        self.organization = Some(id.into());
        self
    }

    /// The machine user that owns tokens created with neither a name nor an owner; on the v1
    /// API also the one user whose tokens `list`, `get` and `revoke` reach. On v2 it does not
    /// narrow listings (a token's name is its machine user's username, so tokens of every
    /// machine user of the organization are reachable by name).
    pub fn default_user(mut self, user_id: impl Into<String>) -> Self {
        self.default_user = Some(user_id.into());
        self
    }

    /// Which API the trait implementation uses (default [`ApiVersion::V2`]).
    pub fn api_version(mut self, api: ApiVersion) -> Self {
        self.api = api;
        self
    }

    /// Timeouts, retries, body cap, HTTP client, clock.
    pub fn options(mut self, options: ClientOptions) -> Self {
        self.options = options;
        self
    }

    pats_core::__client_options_shortcuts!();

    /// Checks the settings and builds the client. A key file is only parsed here; the first
    /// token exchange happens with the first call.
    pub fn build(self) -> Result<ZitadelClient> {
        let base = self
            .base_url
            .ok_or_else(|| Error::invalid("base_url", "is required"))?;
        let transport = Transport::new(PROVIDER, &base, self.options)?;
        if let Some(org) = &self.organization {
            org_header_value(org)?;
        }
        if let Some(user) = &self.default_user {
            check_id("default_user", user)?;
        }
        let source: Arc<dyn TokenSource> = match self.auth {
            None => {
                return Err(Error::invalid(
                    "auth",
                    "set a PAT, a key file or client credentials with `.auth(..)`",
                ));
            }
            Some(ZitadelAuth::Pat(token)) => {
                if token.expose_secret().trim().is_empty() {
                    return Err(Error::invalid("auth", "the PAT is empty"));
                }
                Arc::new(StaticToken::new(token))
            }
            Some(ZitadelAuth::KeyFile(key_file)) => {
                let fetcher = JwtProfileFetcher::new(transport.clone(), key_file)?;
                Arc::new(CachingTokenSource::new(Arc::new(fetcher)))
            }
            Some(ZitadelAuth::ClientCredentials(credentials)) => {
                let fetcher = ClientCredentialsFetcher::new(transport.clone(), credentials)?;
                Arc::new(CachingTokenSource::new(Arc::new(fetcher)))
            }
            Some(ZitadelAuth::Source(source)) => source,
        };
        Ok(ZitadelClient {
            inner: Arc::new(Inner {
                transport: transport.with_auth(source),
                api: self.api,
                default_user: self.default_user,
            }),
            org: self.organization,
        })
    }
}

struct Inner {
    transport: Transport,
    api: ApiVersion,
    default_user: Option<String>,
}

/// A ZITADEL client for personal access tokens.
///
/// Cheap to clone (the transport and token cache are shared). [`in_org`](Self::in_org)
/// gives a copy that works in another organization.
#[derive(Clone)]
pub struct ZitadelClient {
    inner: Arc<Inner>,
    org: Option<String>,
}

impl fmt::Debug for ZitadelClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ZitadelClient")
            .field("transport", &self.inner.transport)
            .field("api", &self.inner.api)
            .field("default_user", &self.inner.default_user)
            .field("organization", &self.org)
            .finish()
    }
}

impl ZitadelClient {
    /// Starts a builder; give the instance with
    /// [`base_url`](ZitadelClientBuilder::base_url).
    pub fn builder() -> ZitadelClientBuilder {
        ZitadelClientBuilder::default()
    }

    /// A client configured from the environment (see
    /// [`ZitadelClientBuilder::from_lookup`]).
    pub fn from_env() -> Result<Self> {
        ZitadelClientBuilder::from_env()?.build()
    }

    /// The same client (same credentials and token cache) scoped to organization `id`.
    pub fn in_org(&self, id: impl Into<String>) -> ZitadelClient {
        ZitadelClient {
            inner: self.inner.clone(),
            org: Some(id.into()),
        }
    }

    /// The same client without the organization header (the caller's own organization).
    pub fn without_org(&self) -> ZitadelClient {
        ZitadelClient {
            inner: self.inner.clone(),
            org: None,
        }
    }

    /// The organization sent in `x-zitadel-orgid`, if any.
    pub fn organization(&self) -> Option<&str> {
        self.org.as_deref()
    }

    /// The default machine user.
    pub fn default_user(&self) -> Option<&str> {
        self.inner.default_user.as_deref()
    }

    /// The API the trait implementation uses.
    pub fn api_version(&self) -> ApiVersion {
        self.inner.api
    }

    /// The underlying transport.
    pub fn transport(&self) -> &Transport {
        &self.inner.transport
    }

    /// The typed v2 user service calls.
    pub fn v2(&self) -> UserServiceV2<'_> {
        UserServiceV2 { client: self }
    }

    /// The typed v1 management calls.
    pub fn v1(&self) -> ManagementV1<'_> {
        ManagementV1 { client: self }
    }

    /// Sends any request (for calls pats has no typed method for), with this client's
    /// authentication and organization header; non-2xx answers become the matching
    /// [`Error`] kind.
    pub async fn send(&self, request: Request) -> Result<Response> {
        let request = match &self.org {
            Some(org) => {
                request.header(HeaderName::from_static(ORG_HEADER), org_header_value(org)?)
            }
            None => request,
        };
        let response = self.inner.transport.send(request).await?;
        if response.is_success() {
            Ok(response)
        } else {
            Err(map_api_error(&response))
        }
    }
}

fn org_header_value(org: &str) -> Result<HeaderValue> {
    check_id("organization", org)?;
    HeaderValue::from_str(org).map_err(|_| {
        Error::invalid(
            "organization",
            "contains characters not allowed in a header",
        )
    })
}

/// Checks an id that goes into a path, a header or a body.
pub(crate) fn check_id(field: &'static str, id: &str) -> Result<()> {
    if id.trim().is_empty() {
        return Err(Error::invalid(field, "must not be empty"));
    }
    if id.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(Error::invalid(
            field,
            "must not contain whitespace or control characters",
        ));
    }
    Ok(())
}

/// When a new PAT expires, for the typed `add_personal_access_token` calls.
///
/// ZITADEL has no default lifetime: a PAT created without an expiration never expires. So
/// there is no "default" here; a never-expiring token needs the acknowledgement.
/// `OffsetDateTime` and [`NeverExpires`] convert into it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenExpiration {
    /// At this time (in the future).
    At(OffsetDateTime),
    /// Never: v1 sends no `expirationDate` (ZITADEL stores `9999-12-31T23:59:59Z`); v2,
    /// whose `AddPersonalAccessTokenRequest` requires one (`validate.rules`
    /// `timestamp.required`), sends [`NEVER_EXPIRES_AT`].
    Never(NeverExpires),
}

/// ZITADEL's "never": the expiration it stores for a token created without one, and what v2
/// sends for [`TokenExpiration::Never`] (`9999-12-31T23:59:59Z`).
pub const NEVER_EXPIRES_AT: OffsetDateTime =
    match OffsetDateTime::from_unix_timestamp(253_402_300_799) {
        Ok(at) => at,
        Err(_) => OffsetDateTime::UNIX_EPOCH,
    };

impl TokenExpiration {
    /// The v1 `expirationDate` to send (`None`: never).
    fn wire(self) -> Option<OffsetDateTime> {
        match self {
            Self::At(at) => Some(at),
            Self::Never(_) => None,
        }
    }

    /// The v2 `expirationDate` to send: never is [`NEVER_EXPIRES_AT`].
    fn wire_v2(self) -> OffsetDateTime {
        self.wire().unwrap_or(NEVER_EXPIRES_AT)
    }
}

impl From<OffsetDateTime> for TokenExpiration {
    fn from(at: OffsetDateTime) -> Self {
        Self::At(at)
    }
}

impl From<NeverExpires> for TokenExpiration {
    fn from(acknowledged: NeverExpires) -> Self {
        Self::Never(acknowledged)
    }
}

/// Refuses an expiration that is not in the future.
pub(crate) fn check_expiration(expiration: Option<OffsetDateTime>) -> Result<()> {
    match expiration {
        Some(at) if at <= OffsetDateTime::now_utc() => Err(Error::invalid(
            "expiration",
            format!(
                "{} is in the past; ZITADEL refuses it",
                pats_core::__private::wire::format_timestamp(at)
            ),
        )),
        _ => Ok(()),
    }
}

/// A token just created: its id and its secret, shown only this once.
///
/// `Debug` never shows the token.
#[non_exhaustive]
pub struct CreatedPat {
    /// The token id.
    pub token_id: String,
    /// The secret: the token (send it as `Authorization: Bearer <token>`).
    pub secret: SecretString,
    /// When it was created (v2 answers say; v1 answers carry it in `details`).
    pub creation_date: Option<OffsetDateTime>,
    /// Change details (v1 only).
    pub details: Option<ObjectDetails>,
}

impl fmt::Debug for CreatedPat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CreatedPat")
            .field("token_id", &self.token_id)
            .field("secret", &"[REDACTED]")
            .field("creation_date", &self.creation_date)
            .field("details", &self.details)
            .finish()
    }
}

/// What [`TokenInfo::details`](pats_core::TokenInfo::details) holds for a token the trait
/// just created (the create answer, without the secret).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct AddedPatDetails {
    /// The token id.
    pub token_id: String,
    /// When it was created.
    pub creation_date: Option<OffsetDateTime>,
    /// Change details (v1 only).
    pub details: Option<ObjectDetails>,
}

/// Reads the `token` field of a create answer straight into a secret.
fn token_of(response: &Response) -> Result<SecretString> {
    #[derive(serde::Deserialize)]
    struct TokenOnly {
        #[serde(default)]
        token: String,
    }
    let t: TokenOnly = response.json()?;
    if t.token.is_empty() {
        return Err(response.decode_error("the answer has no `token`"));
    }
    Ok(SecretString::from(t.token))
}

/// One filter of a v2 listing.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum PatFilter {
    /// Only this token.
    TokenId(String),
    /// Only tokens of this user.
    UserId(String),
    /// Only tokens of users of this organization.
    OrganizationId(String),
    /// By creation time.
    CreatedDate(V2TimestampFilterMethod, OffsetDateTime),
    /// By expiration time.
    ExpirationDate(V2TimestampFilterMethod, OffsetDateTime),
}

impl PatFilter {
    fn to_wire(&self) -> Result<V2PatSearchFilter> {
        let id = |field: &'static str, id: &str| -> Result<Option<V2IdFilter>> {
            check_id(field, id)?;
            Ok(Some(V2IdFilter { id: id.to_owned() }))
        };
        let ts = |method: &V2TimestampFilterMethod, at: &OffsetDateTime| {
            Some(V2TimestampFilter {
                timestamp: Some(*at),
                method: Some(method.clone()),
            })
        };
        let mut f = V2PatSearchFilter {
            token_id_filter: None,
            user_id_filter: None,
            organization_id_filter: None,
            created_date_filter: None,
            expiration_date_filter: None,
        };
        match self {
            Self::TokenId(v) => f.token_id_filter = id("token_id", v)?,
            Self::UserId(v) => f.user_id_filter = id("user_id", v)?,
            Self::OrganizationId(v) => f.organization_id_filter = id("organization", v)?,
            Self::CreatedDate(m, at) => f.created_date_filter = ts(m, at),
            Self::ExpirationDate(m, at) => f.expiration_date_filter = ts(m, at),
        }
        Ok(f)
    }
}

/// A v2 listing: paging, sorting and filters (all of which must match).
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct ListPatsRequest {
    /// How many results to skip.
    pub offset: u64,
    /// Page size (default 100, at most 1000).
    pub limit: Option<u32>,
    /// Ascending order (the service default is descending).
    pub asc: bool,
    /// The sort column (the service default is the creation date).
    pub sorting_column: Option<V2PatFieldName>,
    /// Filters.
    pub filters: Vec<PatFilter>,
}

impl ListPatsRequest {
    /// An empty listing (first page, service defaults).
    pub fn new() -> Self {
        Self::default()
    }

    /// Skips `offset` results.
    #[must_use]
    pub fn offset(mut self, offset: u64) -> Self {
        self.offset = offset;
        self
    }

    /// Sets the page size (1..=1000).
    #[must_use]
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Ascending (`true`) or descending order.
    #[must_use]
    pub fn asc(mut self, asc: bool) -> Self {
        self.asc = asc;
        self
    }

    /// Sorts by `column`.
    #[must_use]
    pub fn sort_by(mut self, column: V2PatFieldName) -> Self {
        self.sorting_column = Some(column);
        self
    }

    /// Adds a filter.
    #[must_use]
    pub fn filter(mut self, filter: PatFilter) -> Self {
        self.filters.push(filter);
        self
    }

    /// The wire body, after checking the limit and the filters.
    pub(crate) fn to_wire(&self) -> Result<V2ListPatsRequest> {
        let limit = check_limit(self.limit)?;
        let pagination =
            (self.offset > 0 || limit.is_some() || self.asc).then(|| V2PaginationRequest {
                offset: (self.offset > 0).then_some(self.offset),
                limit,
                asc: self.asc.then_some(true),
            });
        let filters = self
            .filters
            .iter()
            .map(PatFilter::to_wire)
            .collect::<Result<Vec<_>>>()?;
        Ok(V2ListPatsRequest {
            pagination,
            sorting_column: self.sorting_column.clone(),
            filters: (!filters.is_empty()).then_some(filters),
        })
    }
}

/// How many users a username lookup asks for: one is expected, a second one shows that the
/// username is ambiguous.
const USER_MATCH_LIMIT: u32 = 10;

/// A username as ZITADEL's `UserNameQuery` takes it: 1 to 200 characters.
pub(crate) fn check_username(username: &str) -> Result<()> {
    let len = username.chars().count();
    if len == 0 || len > 200 {
        return Err(Error::invalid(
            "name",
            "a ZITADEL username has 1 to 200 characters",
        ));
    }
    Ok(())
}

fn check_limit(limit: Option<u32>) -> Result<Option<i64>> {
    match limit {
        None => Ok(None),
        Some(0) => Err(Error::invalid("limit", "must be at least 1")),
        Some(n) if n > MAX_PAGE_SIZE => Err(Error::invalid(
            "limit",
            format!("ZITADEL serves at most {MAX_PAGE_SIZE} results per page, got {n}"),
        )),
        Some(n) => Ok(Some(i64::from(n))),
    }
}

/// A Connect call of the user service: the generated operation (its path names the
/// method; idempotency from the contract) with the Connect protocol header.
fn connect_request(operation: &Operation) -> Result<Request> {
    Ok(Request::operation(operation, &[])?.header(
        HeaderName::from_static("connect-protocol-version"),
        HeaderValue::from_static("1"),
    ))
}

/// The v2 user service (Connect JSON): `POST /zitadel.user.v2.UserService/<Method>`.
#[derive(Debug, Clone, Copy)]
pub struct UserServiceV2<'a> {
    client: &'a ZitadelClient,
}

impl UserServiceV2<'_> {
    /// `AddPersonalAccessToken` for machine user `user_id`, expiring at a time
    /// (`OffsetDateTime`) or never (`NeverExpires::I_UNDERSTAND_THE_RISK`).
    pub async fn add_personal_access_token(
        &self,
        user_id: &str,
        expiration: impl Into<TokenExpiration>,
    ) -> Result<CreatedPat> {
        let expiration = expiration.into();
        check_id("user_id", user_id)?;
        check_expiration(expiration.wire())?;
        let body = V2AddPatRequest {
            user_id: user_id.to_owned(),
            expiration_date: expiration.wire_v2(),
        };
        let request = connect_request(&ops::USER_SERVICE_ADD_PERSONAL_ACCESS_TOKEN)?.json(&body)?;
        let response = self.client.send(request).await?;
        let answer: V2AddPatResponse = response.json()?;
        let token = token_of(&response)?;
        if answer.token_id.is_empty() {
            return Err(response.decode_error("the answer has no `tokenId`"));
        }
        Ok(CreatedPat {
            token_id: answer.token_id,
            secret: token,
            creation_date: answer.creation_date,
            details: None,
        })
    }

    /// `ListPersonalAccessTokens`: one page.
    pub async fn list_personal_access_tokens(
        &self,
        request: &ListPatsRequest,
    ) -> Result<V2ListPatsResponse> {
        let body = request.to_wire()?;
        let request =
            connect_request(&ops::USER_SERVICE_LIST_PERSONAL_ACCESS_TOKENS)?.json(&body)?;
        self.client.send(request).await?.json()
    }

    /// `ListUsers`: one page of users matching every query (the raw call).
    pub async fn list_users(&self, request: &V2ListUsersRequest) -> Result<V2ListUsersResponse> {
        let request = connect_request(&ops::USER_SERVICE_LIST_USERS)?.json(request)?;
        self.client.send(request).await?.json()
    }

    /// The machine users whose username is exactly `username` (one `ListUsers` call with a
    /// `userNameQuery` `TEXT_QUERY_METHOD_EQUALS` and a `typeQuery` `TYPE_MACHINE`; with a
    /// client organization also an `organizationIdQuery`). The match is checked here too,
    /// so only users whose `username` is `username` byte for byte come back: usually none
    /// or one; more than one when usernames repeat across organizations the caller sees.
    pub async fn machine_users_named(&self, username: &str) -> Result<Vec<V2User>> {
        check_username(username)?;
        let mut queries = vec![
            V2UserQuery {
                user_name_query: Some(V2UserNameQuery {
                    user_name: username.to_owned(),
                    method: Some(V2TextQueryMethod::TextQueryMethodEquals),
                }),
                ..V2UserQuery::default()
            },
            V2UserQuery {
                type_query: Some(V2TypeQuery {
                    r#type: V2UserType::TypeMachine,
                }),
                ..V2UserQuery::default()
            },
        ];
        if let Some(org) = self.client.organization() {
            check_id("organization", org)?;
            queries.push(V2UserQuery {
                organization_id_query: Some(V2OrgIdQuery {
                    organization_id: org.to_owned(),
                }),
                ..V2UserQuery::default()
            });
        }
        let request = V2ListUsersRequest {
            query: Some(V2ListQuery {
                limit: Some(i64::from(USER_MATCH_LIMIT)),
                ..V2ListQuery::default()
            }),
            queries: Some(queries),
            ..V2ListUsersRequest::default()
        };
        let page = self.list_users(&request).await?;
        Ok(page
            .result
            .unwrap_or_default()
            .into_iter()
            .filter(|u| u.username.as_deref() == Some(username) && u.machine.is_some())
            .collect())
    }

    /// The users with these ids (one `ListUsers` call with an `inUserIdsQuery`; at most
    /// [`MAX_PAGE_SIZE`] distinct ids). Ids that resolve to no user are simply missing.
    pub async fn users_by_ids(&self, ids: &[String]) -> Result<Vec<V2User>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let count = u32::try_from(ids.len())
            .ok()
            .filter(|n| *n <= MAX_PAGE_SIZE)
            .ok_or_else(|| {
                Error::invalid(
                    "ids",
                    format!("at most {MAX_PAGE_SIZE} ids per call, got {}", ids.len()),
                )
            })?;
        for id in ids {
            check_id("user_id", id)?;
        }
        let request = V2ListUsersRequest {
            query: Some(V2ListQuery {
                limit: Some(i64::from(count)),
                ..V2ListQuery::default()
            }),
            queries: Some(vec![V2UserQuery {
                in_user_ids_query: Some(V2InUserIdQuery {
                    user_ids: Some(ids.to_vec()),
                }),
                ..V2UserQuery::default()
            }]),
            ..V2ListUsersRequest::default()
        };
        Ok(self.list_users(&request).await?.result.unwrap_or_default())
    }

    /// `RemovePersonalAccessToken`.
    pub async fn remove_personal_access_token(
        &self,
        user_id: &str,
        token_id: &TokenId,
    ) -> Result<V2RemovePatResponse> {
        check_id("user_id", user_id)?;
        let body = V2RemovePatRequest {
            user_id: user_id.to_owned(),
            token_id: token_id.as_str().to_owned(),
        };
        // Removing twice removes once (the contract marks it idempotent).
        let request =
            connect_request(&ops::USER_SERVICE_REMOVE_PERSONAL_ACCESS_TOKEN)?.json(&body)?;
        self.client.send(request).await?.json()
    }
}

/// The v1 management REST API: `/management/v1/users/{user_id}/pats...`.
#[derive(Debug, Clone, Copy)]
pub struct ManagementV1<'a> {
    client: &'a ZitadelClient,
}

impl ManagementV1<'_> {
    /// `POST /management/v1/users/{user_id}/pats`, expiring at a time (`OffsetDateTime`) or
    /// never (`NeverExpires::I_UNDERSTAND_THE_RISK`).
    pub async fn add_personal_access_token(
        &self,
        user_id: &str,
        expiration: impl Into<TokenExpiration>,
    ) -> Result<CreatedPat> {
        let expiration = expiration.into().wire();
        check_id("user_id", user_id)?;
        check_expiration(expiration)?;
        let body = V1AddPatRequest {
            expiration_date: expiration,
        };
        let request = Request::operation(
            &ops::MANAGEMENT_SERVICE_ADD_PERSONAL_ACCESS_TOKEN,
            &[user_id],
        )?
        .json(&body)?;
        let response = self.client.send(request).await?;
        let answer: V1AddPatResponse = response.json()?;
        let token = token_of(&response)?;
        if answer.token_id.is_empty() {
            return Err(response.decode_error("the answer has no `tokenId`"));
        }
        Ok(CreatedPat {
            token_id: answer.token_id,
            secret: token,
            creation_date: answer.details.as_ref().and_then(|d| d.creation_date),
            details: answer.details,
        })
    }

    /// `POST /management/v1/users/{user_id}/pats/_search`: one page.
    pub async fn list_personal_access_tokens(
        &self,
        user_id: &str,
        offset: u64,
        limit: Option<u32>,
        asc: bool,
    ) -> Result<V1ListPatsResponse> {
        check_id("user_id", user_id)?;
        let limit = check_limit(limit)?.unwrap_or(0);
        let body = V1ListPatsRequest {
            query: Some(V1ListQuery { offset, limit, asc }),
        };
        let request = Request::operation(
            &ops::MANAGEMENT_SERVICE_LIST_PERSONAL_ACCESS_TOKENS,
            &[user_id],
        )?
        .json(&body)?;
        self.client.send(request).await?.json()
    }

    /// `GET /management/v1/users/{user_id}/pats/{token_id}`.
    pub async fn get_personal_access_token(
        &self,
        user_id: &str,
        token_id: &TokenId,
    ) -> Result<V1Pat> {
        check_id("user_id", user_id)?;
        let request = Request::operation(
            &ops::MANAGEMENT_SERVICE_GET_PERSONAL_ACCESS_TOKEN_BY_IDS,
            &[user_id, token_id.as_str()],
        )?;
        let response = self.client.send(request).await?;
        let answer: V1GetPatResponse = response.json()?;
        answer
            .token
            .ok_or_else(|| response.decode_error("the answer has no `token`"))
    }

    /// `DELETE /management/v1/users/{user_id}/pats/{token_id}`.
    pub async fn remove_personal_access_token(
        &self,
        user_id: &str,
        token_id: &TokenId,
    ) -> Result<V1RemovePatResponse> {
        check_id("user_id", user_id)?;
        let request = Request::operation(
            &ops::MANAGEMENT_SERVICE_REMOVE_PERSONAL_ACCESS_TOKEN,
            &[user_id, token_id.as_str()],
        )?;
        self.client.send(request).await?.json()
    }
}
