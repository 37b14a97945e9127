//! Group access tokens (`/groups/:id/access_tokens`): typed calls only, as project access
//! tokens (a group access token belongs to a bot user GitLab creates for it, with a role
//! in the group, [`AccessLevel`]).

use crate::client::GitLabClient;
use crate::generated::{CreateGroupAccessTokenBody, ResourceAccessToken, operations};
use crate::list::{ListTokens, TokenListPage};
use crate::project::{AccessLevel, NewProjectPat, ResourceCalls};
use pats_core::{Error, Result};
use time::{Date, OffsetDateTime};

/// The query parameters GitLab's page documents for a group's token listing.
const GROUP_LIST_PARAMETERS: &[&str] = &["state", "page", "per_page"];

/// A typed create request for a group access token, checked before sending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewGroupToken {
    name: String,
    scopes: Vec<String>,
    expires_at: Option<Date>,
    access_level: Option<AccessLevel>,
}

impl NewGroupToken {
    /// A token named `name` with `scopes` (at least one). Without
    /// [`expires_at`](Self::expires_at) GitLab gives it the instance's maximum lifetime.
    pub fn new<I, S>(name: impl Into<String>, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            name: name.into(),
            scopes: scopes.into_iter().map(Into::into).collect(),
            expires_at: None,
            access_level: None,
        }
    }

    /// The day it stops working (not in the past).
    #[must_use]
    pub fn expires_at(mut self, day: Date) -> Self {
        self.expires_at = Some(day);
        self
    }

    /// The token's role (GitLab's default: Maintainer).
    #[must_use]
    pub fn access_level(mut self, level: AccessLevel) -> Self {
        self.access_level = Some(level);
        self
    }

    /// The JSON body, after the same checks as a personal token's.
    pub fn to_body(&self, today: Date) -> Result<CreateGroupAccessTokenBody> {
        let mut personal = crate::NewToken::new(self.name.clone(), self.scopes.iter().cloned());
        if let Some(day) = self.expires_at {
            personal = personal.expires_at(day);
        }
        let checked = personal.to_body(today)?;
        Ok(CreateGroupAccessTokenBody {
            access_level: self.access_level.map(AccessLevel::as_i32),
            expires_at: checked.expires_at,
            name: checked.name,
            scopes: checked.scopes,
        })
    }
}

/// A group's.
const GROUP: ResourceCalls = ResourceCalls {
    what: "group",
    list: &operations::LIST_GROUP_ACCESS_TOKENS,
    get: &operations::GET_GROUP_ACCESS_TOKEN,
    create: &operations::CREATE_GROUP_ACCESS_TOKEN,
    rotate: &operations::ROTATE_GROUP_ACCESS_TOKEN,
    rotate_self: &operations::ROTATE_GROUP_ACCESS_TOKEN_SELF,
    revoke: &operations::REVOKE_GROUP_ACCESS_TOKEN,
};

impl GitLabClient {
    /// `GET /groups/:id/access_tokens`: GitLab documents `state` and the pages for this
    /// listing, so any other filter of `list` is refused before sending.
    pub async fn list_group_tokens(
        &self,
        group_id: &str,
        list: &ListTokens,
    ) -> Result<TokenListPage<ResourceAccessToken>> {
        let pairs = list.query_pairs()?;
        if let Some((name, _)) = pairs
            .iter()
            .find(|(name, _)| !GROUP_LIST_PARAMETERS.contains(name))
        {
            return Err(Error::invalid(
                *name,
                "a group's token listing takes only state, page and per_page",
            ));
        }
        self.list_resource_tokens(&GROUP, group_id, pairs).await
    }

    /// `GET /groups/:id/access_tokens/:token_id`.
    pub async fn get_group_token(&self, group_id: &str, id: u64) -> Result<ResourceAccessToken> {
        self.get_resource_token(&GROUP, group_id, id).await
    }

    /// `POST /groups/:id/access_tokens` (the group's Owners). Never retried.
    pub async fn create_group_token(
        &self,
        group_id: &str,
        token: &NewGroupToken,
    ) -> Result<NewProjectPat> {
        let body = token.to_body(OffsetDateTime::now_utc().date())?;
        self.create_resource_token(&GROUP, group_id, &body).await
    }

    /// `POST /groups/:id/access_tokens/:token_id/rotate`: GitLab revokes the token at once
    /// and returns a new one. Never retried.
    pub async fn rotate_group_token(
        &self,
        group_id: &str,
        id: u64,
        expires_at: Option<Date>,
    ) -> Result<NewProjectPat> {
        self.rotate_resource_token(&GROUP, group_id, Some(id), expires_at)
            .await
    }

    /// `POST /groups/:id/access_tokens/self/rotate`: a group access token rotates itself (it
    /// needs the scope `api` or `self_rotate`). Never retried.
    pub async fn rotate_group_token_self(
        &self,
        group_id: &str,
        expires_at: Option<Date>,
    ) -> Result<NewProjectPat> {
        self.rotate_resource_token(&GROUP, group_id, None, expires_at)
            .await
    }

    /// `DELETE /groups/:id/access_tokens/:token_id` (204).
    pub async fn revoke_group_token(&self, group_id: &str, id: u64) -> Result<()> {
        self.revoke_resource_token(&GROUP, group_id, id).await
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn bodies_leave_the_date_to_gitlab_unless_given() {
        let today = date!(2026 - 03 - 01);
        let body = NewGroupToken::new("ci", ["read_api"])
            .to_body(today)
            .unwrap();
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            serde_json::json!({"name": "ci", "scopes": ["read_api"]})
        );
        let body = NewGroupToken::new("ci", ["api"])
            .expires_at(date!(2026 - 04 - 01))
            .access_level(AccessLevel::Owner)
            .to_body(today)
            .unwrap();
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            serde_json::json!({"name": "ci", "scopes": ["api"], "expires_at": "2026-04-01",
                               "access_level": 50})
        );
        let err = NewGroupToken::new(" ", ["api"]).to_body(today).unwrap_err();
        assert_eq!(err.field(), Some("name"));
        let err = NewGroupToken::new("ci", ["api"])
            .expires_at(date!(2026 - 02 - 01))
            .to_body(today)
            .unwrap_err();
        assert_eq!(err.field(), Some("expires_at"));
    }
}
