//! What a provider (as configured) supports and how it differs, for portable code to decide
//! on before sending anything.

use crate::error::{Error, Result};
use crate::types::{CreateToken, Expiration, Expiry, TokenInfo};
use std::time::Duration;
use time::OffsetDateTime;

/// How a provider answers [`get`](crate::PersonalAccessTokens::get).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum GetSupport {
    /// A get-by-id endpoint.
    #[default]
    Native,
    /// Emulated by listing and selecting (costs a listing).
    Emulated,
}

/// Which list filters a provider honours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ListFilters {
    /// [`ListQuery::owner`](crate::ListQuery::owner).
    pub owner: bool,
    /// [`ListQuery::last_used_before`](crate::ListQuery::last_used_before).
    pub last_used_before: bool,
    /// [`ListQuery::never_used`](crate::ListQuery::never_used).
    pub never_used: bool,
}

/// What a token's name is. One meaning for portable code: the name given to
/// [`CreateToken`] is the name [`TokenInfo::name`] shows and
/// [`find_by_name`](crate::PersonalAccessTokens::find_by_name) finds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Naming {
    /// Tokens have no names: a name given to `create` is refused before sending and
    /// `find_by_name` is [`Unsupported`](crate::ErrorKind::Unsupported).
    #[default]
    None,
    /// Each token keeps the name it was created with (Dfns, SailPoint). Names need not be
    /// unique.
    PerToken,
    /// A token's name is the name of the owner it belongs to (ZITADEL: the username of its
    /// machine user, one machine user per purpose). Creating with a name makes a token for
    /// the owner of that name, which must exist; every token of that owner has that name.
    Owner,
}

/// What `Expiry::ProviderDefault` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DefaultLifetime {
    /// Accepted: the provider gives the token a finite lifetime of its own, this long
    /// where the provider documents it.
    Finite(Option<Duration>),
    /// Refused with [`InvalidInput`](crate::ErrorKind::InvalidInput) before sending: the provider's own default
    /// would be a token that never expires, which is only created when asked for with
    /// [`Expiry::Never`].
    Refused,
}

impl Default for DefaultLifetime {
    fn default() -> Self {
        Self::Finite(None)
    }
}

/// Whether a provider reports a fact about its tokens (an expiry, a last use).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Reported {
    /// Never: the field is always unknown.
    #[default]
    No,
    /// Only in the answer to `create` (and `rotate`); listed and fetched tokens do not say.
    WhenCreated,
    /// On every listed, fetched and created token.
    Always,
}

impl Reported {
    /// Listed and fetched tokens carry it, so a listing can be judged by it.
    pub fn when_listed(self) -> bool {
        self == Self::Always
    }
}

/// What a provider (as configured) supports and how it differs. Consult it instead of
/// guessing: an operation it says is missing returns [`Unsupported`](crate::ErrorKind::Unsupported), and a create
/// request it says is refused is refused by [`check_create`](Self::check_create) before
/// anything is sent, with the same error the client gives.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Capabilities {
    /// The provider (`"dfns"`, `"zitadel"`, `"sailpoint"`).
    pub provider: &'static str,
    /// How `get` works.
    pub get: GetSupport,
    /// `rename` is offered.
    pub rename: bool,
    /// `set_active` (deactivate / activate) is offered.
    pub set_active: bool,
    /// Tokens have scopes that `create` honours; where false, a request with scopes is
    /// refused.
    pub scopes: bool,
    /// At most this many scopes per token, where the provider has a limit.
    pub max_scopes: Option<usize>,
    /// `create` must be given at least one scope (GitLab): a request without scopes is
    /// refused. False where scopes are optional, or where the client has default scopes.
    pub requires_scopes: bool,
    /// What a token's name is.
    pub naming: Naming,
    /// `create` refuses a request without a name.
    pub requires_name: bool,
    /// Two tokens of one owner cannot have the same name (SailPoint): the provider refuses
    /// to create one under a name in use. [`rotate`](crate::PersonalAccessTokensExt::rotate)
    /// takes care of it.
    pub unique_names: bool,
    /// `create` must be told whose token it is: a [`CreateToken::owner`], or, where names
    /// are owners' names ([`Naming::Owner`]), a name. False where tokens belong to the
    /// caller, or where the client has a default owner.
    pub requires_owner: bool,
    /// Tokens can be created for another owner ([`CreateToken::owner`]); where false, a
    /// request naming an owner is refused.
    pub create_for_owner: bool,
    /// [`Expiry::Never`] is offered.
    pub never_expires: bool,
    /// What [`Expiry::ProviderDefault`] does.
    pub default_lifetime: DefaultLifetime,
    /// The longest lifetime a token may be given, where the provider caps it.
    pub max_lifetime: Option<Duration>,
    /// The shortest lifetime a token may be given, where the provider has one.
    pub min_lifetime: Option<Duration>,
    /// Whether tokens say when they expire ([`TokenInfo::expires`]).
    pub expiry: Reported,
    /// How much later than asked a token may expire: zero where the provider keeps the
    /// time asked for (to the second); a day where it keeps dates (GitLab ends a token at
    /// the first midnight, UTC, at or after the time asked for).
    pub expiry_resolution: Duration,
    /// Whether tokens say when they were last used ([`TokenInfo::last_used`]).
    pub last_use: Reported,
    /// List filters honoured.
    pub list_filters: ListFilters,
    /// `list` returns pages (follow them with `list_all`).
    pub pagination: bool,
    /// The provider rotates a token in one call
    /// ([`rotate_native`](crate::PersonalAccessTokens::rotate_native), GitLab): the server
    /// revokes the old token at once and returns a new one with the old one's name and
    /// scopes. [`rotate`](crate::PersonalAccessTokensExt::rotate) then uses it, so there is
    /// no overlap in which both tokens are valid: [`PendingRotation::finish`](crate::PendingRotation::finish)
    /// revokes nothing and [`undo`](crate::PendingRotation::undo) is refused.
    pub native_rotate: bool,
    /// A revoked token can still be read (GitLab keeps it, `revoked: true`): `get` returns
    /// it with [`TokenInfo::active`] `Some(false)` instead of
    /// [`NotFound`](crate::ErrorKind::NotFound).
    pub revoked_readable: bool,
}

impl Capabilities {
    /// Tokens have names: `create` keeps one and `find_by_name` finds it.
    pub fn names(&self) -> bool {
        self.naming != Naming::None
    }

    /// Listed and fetched tokens say when they expire, so a listing can be audited by
    /// expiry (see [`Reported`]).
    pub fn reports_expiry(&self) -> bool {
        self.expiry.when_listed()
    }

    /// `wanted`, shortened to the provider's [`max_lifetime`](Self::max_lifetime) where
    /// that is lower: for portable code that prefers a shorter token to a refusal.
    ///
    /// ```
    /// # use pats_core::Capabilities;
    /// # use std::time::Duration;
    /// let day = Duration::from_secs(86_400);
    /// let mut caps = Capabilities::default();
    /// assert_eq!(caps.fit_lifetime(90 * day), 90 * day);
    /// caps.max_lifetime = Some(30 * day);
    /// assert_eq!(caps.fit_lifetime(90 * day), 30 * day);
    /// ```
    pub fn fit_lifetime(&self, wanted: Duration) -> Duration {
        match self.max_lifetime {
            Some(max) => wanted.min(max),
            None => wanted,
        }
    }

    /// Whether this provider would refuse `request`, judged without sending anything.
    /// Clients call it first in `create`, so what it refuses is what `create` refuses,
    /// with the same error:
    ///
    /// - scopes where there are none ([`Unsupported`](crate::ErrorKind::Unsupported)), none
    ///   where [`requires_scopes`](Self::requires_scopes), or more than
    ///   [`max_scopes`](Self::max_scopes) ([`InvalidInput`](crate::ErrorKind::InvalidInput), field `scopes`);
    /// - a name where tokens have none, or none where one is required (`name`);
    /// - an owner where tokens always belong to the caller ([`Unsupported`](crate::ErrorKind::Unsupported)), or
    ///   none where one is required (`owner`);
    /// - [`Expiry::Never`] where it is not offered ([`Unsupported`](crate::ErrorKind::Unsupported));
    ///   [`Expiry::ProviderDefault`] where it is [`DefaultLifetime::Refused`], an expiry in
    ///   the past, or a lifetime outside [`min_lifetime`](Self::min_lifetime) ..
    ///   [`max_lifetime`](Self::max_lifetime) (`expiry`; the message gives the bound).
    pub fn check_create(&self, request: &CreateToken) -> Result<()> {
        self.check_create_at(request, OffsetDateTime::now_utc())
    }

    /// [`check_create`](Self::check_create) as of `now`.
    pub fn check_create_at(&self, request: &CreateToken, now: OffsetDateTime) -> Result<()> {
        let provider = self.provider;
        let scopes = request.scopes().len();
        if scopes > 0 && !self.scopes {
            return Err(Error::unsupported(provider, "token scopes")
                .with_hint("tokens of this provider have no scopes; leave them empty"));
        }
        if scopes == 0 && self.requires_scopes {
            return Err(Error::invalid(
                "scopes",
                format!(
                    "{provider} needs at least one scope per token: give scopes, or set the \
                     client's default scopes"
                ),
            ));
        }
        if let Some(max) = self.max_scopes.filter(|max| scopes > *max) {
            return Err(Error::invalid(
                "scopes",
                format!("{provider} takes at most {max} scope(s) per token, {scopes} given"),
            ));
        }
        match (request.name(), self.naming) {
            (Some(_), Naming::None) => {
                return Err(Error::invalid(
                    "name",
                    format!("{provider} tokens have no names; leave the name out"),
                ));
            }
            (None, _) if self.requires_name => {
                return Err(Error::invalid(
                    "name",
                    format!("{provider} needs a name for every token"),
                ));
            }
            _ => {}
        }
        let named_owner = self.naming == Naming::Owner && request.name().is_some();
        match request.owner() {
            Some(_) if !self.create_for_owner => {
                return Err(Error::unsupported(provider, "create for another owner")
                    .with_hint("a token of this provider always belongs to its creator"));
            }
            None if self.requires_owner && !named_owner => {
                return Err(Error::invalid(
                    "owner",
                    format!(
                        "{provider} needs to know whose token this is: give an owner{}, or set \
                         the client's default owner",
                        if self.naming == Naming::Owner {
                            " or a name (the owner's name)"
                        } else {
                            ""
                        }
                    ),
                ));
            }
            _ => {}
        }
        self.check_expiry(request.expiry(), now)
    }

    fn check_expiry(&self, expiry: Expiry, now: OffsetDateTime) -> Result<()> {
        let provider = self.provider;
        let seconds = match expiry {
            Expiry::Never(_) if !self.never_expires => {
                return Err(Error::unsupported(provider, "never-expiring tokens")
                    .with_hint("tokens of this provider always expire; give a lifetime"));
            }
            Expiry::ProviderDefault if self.default_lifetime == DefaultLifetime::Refused => {
                return Err(Error::invalid(
                    "expiry",
                    format!(
                        "{provider} has no finite default lifetime: a token created without an \
                         expiry never expires. Give one with Expiry::In or Expiry::At, or ask \
                         for a never-expiring token with Expiry::Never"
                    ),
                ));
            }
            Expiry::In(_) | Expiry::At(_) => expiry.seconds_from(now).unwrap_or(i64::MAX),
            _ => return Ok(()),
        };
        if seconds <= 0 {
            return Err(Error::invalid("expiry", "the expiry is not in the future"));
        }
        let lifetime = Duration::from_secs(seconds.unsigned_abs());
        if let Some(max) = self.max_lifetime.filter(|max| lifetime > *max) {
            return Err(Error::invalid(
                "expiry",
                format!(
                    "{provider} allows a lifetime of at most {} (asked: {}); shorten it, or \
                     use Capabilities::fit_lifetime",
                    days(max),
                    days(lifetime)
                ),
            ));
        }
        if let Some(min) = self.min_lifetime.filter(|min| lifetime < *min) {
            return Err(Error::invalid(
                "expiry",
                format!("{provider} needs a lifetime of at least {}s", min.as_secs()),
            ));
        }
        Ok(())
    }
}

/// A lifetime for a message: whole days where it is at least one, else seconds.
fn days(d: Duration) -> String {
    let secs = d.as_secs();
    if secs >= 86_400 {
        format!("{} days", secs / 86_400)
    } else {
        format!("{secs}s")
    }
}

/// The outcome of [`audit_expiry`](crate::PersonalAccessTokensExt::audit_expiry): every
/// listed token, in exactly one group.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ExpiryAudit {
    /// Tokens that expire within the horizon (including ones already expired but listed).
    pub expiring: Vec<TokenInfo>,
    /// Tokens that never expire.
    pub never_expires: Vec<TokenInfo>,
    /// Tokens whose expiry the provider does not report: they could not be judged.
    pub unknown: Vec<TokenInfo>,
    /// Tokens that expire after the horizon.
    pub later: Vec<TokenInfo>,
}

impl ExpiryAudit {
    /// Sorts `tokens` by their expiry against `horizon` (`None`: beyond any time).
    pub fn of(tokens: Vec<TokenInfo>, horizon: Option<OffsetDateTime>) -> Self {
        let mut audit = Self::default();
        for token in tokens {
            let group = match (token.expires, horizon) {
                (Expiration::At(at), Some(h)) if at > h => &mut audit.later,
                (Expiration::At(_), _) => &mut audit.expiring,
                (Expiration::Never, _) => &mut audit.never_expires,
                _ => &mut audit.unknown,
            };
            group.push(token);
        }
        audit
    }

    /// Tokens that need attention: expiring soon or never expiring.
    pub fn flagged(&self) -> impl Iterator<Item = &TokenInfo> {
        self.expiring.iter().chain(&self.never_expires)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::ErrorKind;
    use crate::types::{NeverExpires, TokenId};
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-01-01 00:00 UTC);
    const DAY: Duration = Duration::from_secs(86_400);

    fn caps() -> Capabilities {
        Capabilities {
            provider: "acme",
            scopes: true,
            naming: Naming::PerToken,
            never_expires: true,
            ..Capabilities::default()
        }
    }

    /// A request with a one-day lifetime unless `f` chooses another expiry.
    fn request(
        f: impl FnOnce(crate::CreateTokenBuilder<Expiry>) -> crate::CreateTokenBuilder<Expiry>,
    ) -> CreateToken {
        let day = Expiry::In(std::time::Duration::from_secs(24 * 3600));
        f(CreateToken::builder().expiry(day)).build().unwrap()
    }

    fn refused(c: &Capabilities, r: &CreateToken) -> Error {
        c.check_create_at(r, NOW).unwrap_err()
    }

    fn field(e: &Error) -> &str {
        match e.field() {
            Some(field) => field,
            None => panic!("expected InvalidInput, got {e:?}"),
        }
    }

    fn unsupported(e: &Error) -> &'static str {
        assert_eq!(e.kind(), ErrorKind::Unsupported, "{e:?}");
        assert_eq!(e.provider(), Some("acme"));
        e.operation().unwrap_or_default()
    }

    #[test]
    fn scopes() {
        let mut c = caps();
        let two = request(|b| b.scopes(["a", "b"]));
        c.check_create_at(&two, NOW).unwrap();
        c.max_scopes = Some(2);
        c.check_create_at(&two, NOW).unwrap();
        c.max_scopes = Some(1);
        let e = refused(&c, &two);
        assert_eq!(field(&e), "scopes");
        assert!(
            e.to_string()
                .contains("at most 1 scope(s) per token, 2 given"),
            "{e}"
        );
        c.scopes = false;
        assert_eq!(unsupported(&refused(&c, &two)), "token scopes");
        // The same judgement as of the current time.
        assert_eq!(
            c.check_create(&two).unwrap_err().kind(),
            crate::ErrorKind::Unsupported
        );
        c.check_create_at(&request(|b| b), NOW).unwrap();
    }

    #[test]
    fn required_scopes() {
        let mut c = caps();
        c.requires_scopes = true;
        let e = refused(&c, &request(|b| b));
        assert_eq!(field(&e), "scopes");
        assert!(e.to_string().contains("at least one scope"), "{e}");
        c.check_create_at(&request(|b| b.scopes(["a"])), NOW)
            .unwrap();
    }

    #[test]
    fn names() {
        let mut c = caps();
        let named = request(|b| b.name("ci"));
        let unnamed = request(|b| b);
        c.check_create_at(&named, NOW).unwrap();
        c.check_create_at(&unnamed, NOW).unwrap();
        c.requires_name = true;
        assert_eq!(field(&refused(&c, &unnamed)), "name");
        c.check_create_at(&named, NOW).unwrap();
        c.requires_name = false;
        c.naming = Naming::None;
        assert!(!c.names());
        assert_eq!(field(&refused(&c, &named)), "name");
        c.check_create_at(&unnamed, NOW).unwrap();
        c.naming = Naming::Owner;
        assert!(c.names());
        c.check_create_at(&named, NOW).unwrap();
    }

    #[test]
    fn owners() {
        let mut c = caps();
        let owned = request(|b| b.owner("u1"));
        let named = request(|b| b.name("ci"));
        let neither = request(|b| b);
        assert_eq!(
            unsupported(&refused(&c, &owned)),
            "create for another owner"
        );
        c.create_for_owner = true;
        c.check_create_at(&owned, NOW).unwrap();
        c.requires_owner = true;
        c.check_create_at(&owned, NOW).unwrap();
        let e = refused(&c, &neither);
        assert_eq!(field(&e), "owner");
        assert!(!e.to_string().contains("or a name"), "{e}");
        // Where a name is its owner's name, a name says whose token it is.
        assert_eq!(field(&refused(&c, &named)), "owner");
        c.naming = Naming::Owner;
        c.check_create_at(&named, NOW).unwrap();
        let e = refused(&c, &neither);
        assert!(
            e.to_string().contains("or a name (the owner's name)"),
            "{e}"
        );
        c.requires_owner = false;
        c.check_create_at(&neither, NOW).unwrap();
    }

    #[test]
    fn expiries() {
        let mut c = caps();
        let never = request(|b| b.expiry(Expiry::Never(NeverExpires::I_UNDERSTAND_THE_RISK)));
        let default = request(|b| b.expiry(Expiry::ProviderDefault));
        let in_days = |n: u32| request(|b| b.expiry(Expiry::In(n * DAY)));
        let at = |t: OffsetDateTime| request(|b| b.expiry(Expiry::At(t)));
        c.check_create_at(&never, NOW).unwrap();
        c.check_create_at(&default, NOW).unwrap();
        c.never_expires = false;
        assert_eq!(unsupported(&refused(&c, &never)), "never-expiring tokens");
        c.default_lifetime = DefaultLifetime::Refused;
        assert_eq!(field(&refused(&c, &default)), "expiry");
        c.default_lifetime = DefaultLifetime::Finite(Some(DAY));
        c.check_create_at(&default, NOW).unwrap();

        assert_eq!(field(&refused(&c, &at(NOW))), "expiry");
        assert_eq!(
            field(&refused(&c, &at(NOW - time::Duration::SECOND))),
            "expiry"
        );
        c.check_create_at(&at(NOW + time::Duration::SECOND), NOW)
            .unwrap();
        c.max_lifetime = Some(90 * DAY);
        c.check_create_at(&in_days(90), NOW).unwrap();
        c.check_create_at(&at(datetime!(2026-04-01 00:00 UTC)), NOW)
            .unwrap();
        let e = refused(&c, &in_days(91));
        assert_eq!(field(&e), "expiry");
        assert!(
            e.to_string().contains("at most 90 days (asked: 91 days)"),
            "{e}"
        );
        assert_eq!(
            field(&refused(&c, &at(datetime!(2026-04-01 00:00:01 UTC)))),
            "expiry"
        );
        c.min_lifetime = Some(Duration::from_secs(60));
        c.check_create_at(
            &request(|b| b.expiry(Expiry::In(Duration::from_secs(60)))),
            NOW,
        )
        .unwrap();
        let e = refused(
            &c,
            &request(|b| b.expiry(Expiry::In(Duration::from_secs(59)))),
        );
        assert!(e.to_string().contains("at least 60s"), "{e}");
        // A lifetime too long to count is still judged against the maximum.
        let huge = request(|b| b.expiry(Expiry::In(Duration::MAX)));
        assert_eq!(field(&refused(&c, &huge)), "expiry");
        c.max_lifetime = None;
        c.check_create_at(&huge, NOW).unwrap();
    }

    #[test]
    fn fitting_and_days() {
        let mut c = caps();
        assert_eq!(c.fit_lifetime(400 * DAY), 400 * DAY);
        c.max_lifetime = Some(181 * DAY);
        assert_eq!(c.fit_lifetime(400 * DAY), 181 * DAY);
        assert_eq!(c.fit_lifetime(DAY), DAY);
        assert_eq!(days(DAY), "1 days");
        assert_eq!(days(DAY - Duration::from_secs(1)), "86399s");
        assert!(Reported::Always.when_listed());
        assert!(!Reported::WhenCreated.when_listed() && !Reported::No.when_listed());
        assert!(!c.reports_expiry());
        c.expiry = Reported::WhenCreated;
        assert!(!c.reports_expiry());
        c.expiry = Reported::Always;
        assert!(c.reports_expiry());
    }

    #[test]
    fn audit_puts_every_token_in_one_group() {
        let token = |id: &str, expires: Expiration| {
            let mut t = TokenInfo::new(TokenId::new(id).unwrap());
            t.expires = expires;
            t
        };
        let horizon = NOW + time::Duration::days(14);
        let tokens = vec![
            token("soon", Expiration::At(NOW + time::Duration::days(3))),
            token("edge", Expiration::At(horizon)),
            token("past", Expiration::At(NOW - time::Duration::days(1))),
            token("later", Expiration::At(horizon + time::Duration::SECOND)),
            token("never", Expiration::Never),
            token("unknown", Expiration::Unknown),
        ];
        let ids = |v: &[TokenInfo]| {
            v.iter()
                .map(|t| t.id.as_str().to_owned())
                .collect::<Vec<_>>()
        };
        let audit = ExpiryAudit::of(tokens.clone(), Some(horizon));
        assert_eq!(ids(&audit.expiring), ["soon", "edge", "past"]);
        assert_eq!(ids(&audit.later), ["later"]);
        assert_eq!(ids(&audit.never_expires), ["never"]);
        assert_eq!(ids(&audit.unknown), ["unknown"]);
        let flagged: Vec<_> = audit.flagged().map(|t| t.id.as_str()).collect();
        assert_eq!(flagged, ["soon", "edge", "past", "never"]);
        // No horizon (beyond any time): every dated token is expiring.
        let audit = ExpiryAudit::of(tokens, None);
        assert_eq!(ids(&audit.expiring), ["soon", "edge", "past", "later"]);
        assert!(audit.later.is_empty());
    }
}
