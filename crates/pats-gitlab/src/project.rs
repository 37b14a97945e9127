//! Project access tokens (`/projects/:id/access_tokens`): typed calls only.
//!
//! A project access token belongs to a bot user GitLab creates for it, with a role in the
//! project ([`AccessLevel`]); it is not a token of a person, so it is not part of the
//! provider-neutral [`PersonalAccessTokens`](pats_core::PersonalAccessTokens) view, whose
//! owners are users.

use crate::client::GitLabClient;
use crate::generated::{CreateProjectAccessTokenBody, ResourceAccessToken, operations};
use crate::list::{ListTokens, TokenListPage};
use pats_core::{Error, Operation, Request, Result};
use secrecy::SecretString;
use time::{Date, OffsetDateTime};

/// A project access token's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub enum AccessLevel {
    /// 10.
    Guest,
    /// 15.
    Planner,
    /// 20.
    Reporter,
    /// 30.
    Developer,
    /// 40 (GitLab's default for a new token).
    Maintainer,
    /// 50.
    Owner,
}

impl AccessLevel {
    /// The wire value.
    pub fn as_i32(self) -> i32 {
        match self {
            Self::Guest => 10,
            Self::Planner => 15,
            Self::Reporter => 20,
            Self::Developer => 30,
            Self::Maintainer => 40,
            Self::Owner => 50,
        }
    }

    /// The level of a wire value, if it is one GitLab documents.
    pub fn from_i32(value: i32) -> Option<Self> {
        [
            Self::Guest,
            Self::Planner,
            Self::Reporter,
            Self::Developer,
            Self::Maintainer,
            Self::Owner,
        ]
        .into_iter()
        .find(|l| l.as_i32() == value)
    }
}

/// A typed create request for a project access token, checked before sending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewProjectToken {
    name: String,
    scopes: Vec<String>,
    expires_at: Date,
    description: Option<String>,
    access_level: Option<AccessLevel>,
}

impl NewProjectToken {
    /// A token named `name` with `scopes` (at least one), expiring on `expires_at` (the
    /// page lists the date as required).
    pub fn new<I, S>(name: impl Into<String>, scopes: I, expires_at: Date) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            name: name.into(),
            scopes: scopes.into_iter().map(Into::into).collect(),
            expires_at,
            description: None,
            access_level: None,
        }
    }

    /// A description (at most 255 characters).
    #[must_use]
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// The token's role (GitLab's default: Maintainer).
    #[must_use]
    pub fn access_level(mut self, level: AccessLevel) -> Self {
        self.access_level = Some(level);
        self
    }

    /// The JSON body, after the same checks as a personal token's.
    pub fn to_body(&self, today: Date) -> Result<CreateProjectAccessTokenBody> {
        let mut personal = crate::NewToken::new(self.name.clone(), self.scopes.iter().cloned())
            .expires_at(self.expires_at);
        if let Some(d) = &self.description {
            personal = personal.description(d.clone());
        }
        let checked = personal.to_body(today)?;
        Ok(CreateProjectAccessTokenBody {
            access_level: self.access_level.map(AccessLevel::as_i32),
            description: checked.description,
            expires_at: checked
                .expires_at
                .unwrap_or_else(|| crate::client::format_date(self.expires_at)),
            name: checked.name,
            scopes: checked.scopes,
        })
    }
}

/// A project or group access token GitLab has just created or rotated, and its value
/// (shown only this once).
#[derive(Debug)]
#[non_exhaustive]
pub struct NewProjectPat {
    /// The token as GitLab describes it (the answer without `token`).
    pub pat: ResourceAccessToken,
    /// The token value.
    pub token: SecretString,
}

/// A project or group (`what`) as a path segment: its numeric id or its full path
/// (`group/project`, sent URL-encoded as one segment, as GitLab expects).
fn resource<'a>(what: &'static str, id: &'a str) -> Result<&'a str> {
    if id.trim().is_empty() {
        return Err(Error::invalid(what, format!("give a {what} id or path")));
    }
    Ok(id)
}

fn token_id(id: u64) -> Result<String> {
    if id == 0 {
        return Err(Error::invalid("token_id", "GitLab token ids start at 1"));
    }
    Ok(id.to_string())
}

/// The operations of one kind of resource access token (a project's or a group's): the
/// same six calls on `/projects/:id/access_tokens` and `/groups/:id/access_tokens`.
pub(crate) struct ResourceCalls {
    /// `project` or `group`: the field named in a refusal.
    pub(crate) what: &'static str,
    pub(crate) list: &'static Operation,
    pub(crate) get: &'static Operation,
    pub(crate) create: &'static Operation,
    pub(crate) rotate: &'static Operation,
    pub(crate) rotate_self: &'static Operation,
    pub(crate) revoke: &'static Operation,
}

/// A project's.
const PROJECT: ResourceCalls = ResourceCalls {
    what: "project",
    list: &operations::LIST_PROJECT_ACCESS_TOKENS,
    get: &operations::GET_PROJECT_ACCESS_TOKEN,
    create: &operations::CREATE_PROJECT_ACCESS_TOKEN,
    rotate: &operations::ROTATE_PROJECT_ACCESS_TOKEN,
    rotate_self: &operations::ROTATE_PROJECT_ACCESS_TOKEN_SELF,
    revoke: &operations::REVOKE_PROJECT_ACCESS_TOKEN,
};

impl GitLabClient {
    /// `GET /projects/:id/access_tokens` with `list`'s filters (all but `user_id`, which
    /// this listing does not take: refused before sending).
    pub async fn list_project_tokens(
        &self,
        project_id: &str,
        list: &ListTokens,
    ) -> Result<TokenListPage<ResourceAccessToken>> {
        if list.user_id.is_some() {
            return Err(Error::invalid(
                "user_id",
                "a project's token listing has no user filter",
            ));
        }
        self.list_resource_tokens(&PROJECT, project_id, list.query_pairs()?)
            .await
    }

    /// `GET /projects/:id/access_tokens/:token_id`.
    pub async fn get_project_token(
        &self,
        project_id: &str,
        id: u64,
    ) -> Result<ResourceAccessToken> {
        self.get_resource_token(&PROJECT, project_id, id).await
    }

    /// `POST /projects/:id/access_tokens`. Never retried.
    pub async fn create_project_token(
        &self,
        project_id: &str,
        token: &NewProjectToken,
    ) -> Result<NewProjectPat> {
        let body = token.to_body(OffsetDateTime::now_utc().date())?;
        self.create_resource_token(&PROJECT, project_id, &body)
            .await
    }

    /// `POST /projects/:id/access_tokens/:token_id/rotate`: GitLab revokes the token at once
    /// and returns a new one. Never retried.
    pub async fn rotate_project_token(
        &self,
        project_id: &str,
        id: u64,
        expires_at: Option<Date>,
    ) -> Result<NewProjectPat> {
        self.rotate_resource_token(&PROJECT, project_id, Some(id), expires_at)
            .await
    }

    /// `POST /projects/:id/access_tokens/self/rotate`: a project access token rotates itself
    /// (it needs the scope `api` or `self_rotate`). Never retried.
    pub async fn rotate_project_token_self(
        &self,
        project_id: &str,
        expires_at: Option<Date>,
    ) -> Result<NewProjectPat> {
        self.rotate_resource_token(&PROJECT, project_id, None, expires_at)
            .await
    }

    /// `DELETE /projects/:id/access_tokens/:token_id` (204).
    pub async fn revoke_project_token(&self, project_id: &str, id: u64) -> Result<()> {
        self.revoke_resource_token(&PROJECT, project_id, id).await
    }

    /// One page of a resource's tokens, with these (checked) query pairs.
    pub(crate) async fn list_resource_tokens(
        &self,
        calls: &ResourceCalls,
        resource_id: &str,
        pairs: Vec<(&'static str, String)>,
    ) -> Result<TokenListPage<ResourceAccessToken>> {
        let mut request = Request::operation(calls.list, &[resource(calls.what, resource_id)?])?;
        for (key, value) in pairs {
            request = request.query(key, value);
        }
        let response = self.send(request).await?;
        TokenListPage::from_response(&response)
    }

    pub(crate) async fn get_resource_token(
        &self,
        calls: &ResourceCalls,
        resource_id: &str,
        id: u64,
    ) -> Result<ResourceAccessToken> {
        let id = token_id(id)?;
        let request = Request::operation(calls.get, &[resource(calls.what, resource_id)?, &id])?;
        self.send(request).await?.json()
    }

    pub(crate) async fn create_resource_token(
        &self,
        calls: &ResourceCalls,
        resource_id: &str,
        body: &impl serde::Serialize,
    ) -> Result<NewProjectPat> {
        let request =
            Request::operation(calls.create, &[resource(calls.what, resource_id)?])?.json(body)?;
        self.new_project_pat(request).await
    }

    /// Token `id`, or the caller's own with `None` (`self/rotate`).
    pub(crate) async fn rotate_resource_token(
        &self,
        calls: &ResourceCalls,
        resource_id: &str,
        id: Option<u64>,
        expires_at: Option<Date>,
    ) -> Result<NewProjectPat> {
        let body = crate::client::rotate_body(expires_at)?;
        let resource_id = resource(calls.what, resource_id)?;
        let request = match id {
            Some(id) => Request::operation(calls.rotate, &[resource_id, &token_id(id)?])?,
            None => Request::operation(calls.rotate_self, &[resource_id])?,
        }
        .json(&body)?;
        self.new_project_pat(request).await
    }

    pub(crate) async fn revoke_resource_token(
        &self,
        calls: &ResourceCalls,
        resource_id: &str,
        id: u64,
    ) -> Result<()> {
        let id = token_id(id)?;
        let request = Request::operation(calls.revoke, &[resource(calls.what, resource_id)?, &id])?;
        self.send(request).await?;
        Ok(())
    }

    async fn new_project_pat(&self, request: Request) -> Result<NewProjectPat> {
        let (pat, token) = self.new_token(request).await?;
        Ok(NewProjectPat { pat, token })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn levels_are_gitlabs_numbers() {
        for level in [
            AccessLevel::Guest,
            AccessLevel::Planner,
            AccessLevel::Reporter,
            AccessLevel::Developer,
            AccessLevel::Maintainer,
            AccessLevel::Owner,
        ] {
            assert_eq!(AccessLevel::from_i32(level.as_i32()), Some(level));
        }
        assert_eq!(AccessLevel::Developer.as_i32(), 30);
        assert_eq!(AccessLevel::from_i32(35), None);
        assert!(AccessLevel::Maintainer < AccessLevel::Owner);
    }

    #[test]
    fn bodies_carry_the_date_and_level_and_the_personal_rules() {
        let today = date!(2026 - 03 - 01);
        let body = NewProjectToken::new("deploy", ["read_repository"], date!(2026 - 04 - 01))
            .access_level(AccessLevel::Developer)
            .to_body(today)
            .unwrap();
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            serde_json::json!({"name": "deploy", "scopes": ["read_repository"],
                               "expires_at": "2026-04-01", "access_level": 30})
        );
        let err = NewProjectToken::new("d", ["api"], date!(2026 - 02 - 01))
            .to_body(today)
            .unwrap_err();
        assert_eq!(err.field(), Some("expires_at"));
        let err = NewProjectToken::new("d", Vec::<String>::new(), today)
            .to_body(today)
            .unwrap_err();
        assert_eq!(err.field(), Some("scopes"));
        assert_eq!(
            resource("project", " ").unwrap_err().field(),
            Some("project")
        );
        assert_eq!(token_id(0).unwrap_err().field(), Some("token_id"));
    }
}
