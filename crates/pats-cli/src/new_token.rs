//! `create` and `rotate`: a new token's secret is delivered (a checked, flushed write to
//! stdout, or an atomic secret file) before anything that could lose it happens, and before
//! a rotation revokes the old token. Ctrl-C and SIGTERM are caught while requests are in
//! flight; a create whose outcome is unknown says so, and how to check.

use crate::cli::{ExpiryArgs, TokenRef};
use crate::commands::Ctx;
use crate::error::{CliError, Exit, full_text};
use crate::interrupt::{Interrupts, Signal};
use crate::output::{self, TokenJson, out, outln};
use crate::secret_file::SecretFile;
use pats::reexports::secrecy::ExposeSecret;
use pats::{
    Capabilities, CreateToken, CreatedToken, Expiration, Expiry, Naming, NeverExpires,
    PersonalAccessTokensExt, Renamed, TokenId, TokenInfo,
};
use serde::Serialize;
use std::path::{Path, PathBuf};

fn expiry_from(args: &ExpiryArgs) -> Option<Expiry> {
    if let Some(span) = args.expires_in {
        Some(Expiry::In(span.duration()))
    } else if let Some(at) = args.expires_at {
        Some(Expiry::At(at))
    } else if args.never_expires {
        // clap refuses --never-expires without --i-understand.
        Some(Expiry::Never(NeverExpires::I_UNDERSTAND_THE_RISK))
    } else {
        None
    }
}

/// The JSON of `create` and `rotate`, first part: where the secret is. Printed (and
/// flushed) before anything else happens; [`TailJson`] completes the object.
#[derive(Serialize)]
struct SecretsJson {
    /// The secret; absent when it was written to `secret_file`.
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
    /// The private key paired with the token (Dfns), PKCS#8 PEM; absent when written to a
    /// file.
    #[serde(skip_serializing_if = "Option::is_none")]
    private_key: Option<String>,
    /// Where the secret was written.
    #[serde(skip_serializing_if = "Option::is_none")]
    secret_file: Option<String>,
    /// Where the private key was written.
    #[serde(skip_serializing_if = "Option::is_none")]
    private_key_file: Option<String>,
}

/// The rest of the JSON of `create` and `rotate`: the token as it is once the command is
/// done (renamed, on a rotation where names are unique), and the replaced token.
#[derive(Serialize)]
struct TailJson {
    token: TokenJson,
    #[serde(skip_serializing_if = "Option::is_none")]
    replaced: Option<ReplacedJson>,
}

/// For `rotate`: the replaced token and what became of it.
#[derive(Serialize)]
struct ReplacedJson {
    id: String,
    /// Whether it was revoked.
    revoked: bool,
    /// Kept valid on purpose (`--keep-old`).
    kept: bool,
    /// Why it was not revoked, when revoking failed or was interrupted.
    error: Option<String>,
}

impl ReplacedJson {
    /// `old`, kept on purpose or not; revoked unless kept or `error` says why not.
    fn new(old: &TokenId, kept: bool, error: Option<String>) -> Self {
        Self {
            id: old.to_string(),
            revoked: !kept && error.is_none(),
            kept,
            error,
        }
    }
}

/// The JSON printed when a create's outcome is unknown.
#[derive(Serialize)]
struct UnknownJson<'a> {
    outcome: &'static str,
    provider: &'static str,
    name: Option<&'a str>,
    error: String,
    check: String,
}

/// Where a new secret goes, decided and checked before anything is created.
enum Sink {
    Stdout,
    Files {
        secret: SecretFile,
        key: Option<SecretFile>,
    },
}

fn key_path(path: &Path) -> PathBuf {
    let mut key = path.as_os_str().to_owned();
    key.push(".key");
    key.into()
}

impl Sink {
    /// The secret file (and PATH.key where the provider hands out key material with its
    /// tokens: Dfns; the core capabilities do not say so, hence the name check), or stdout
    /// unless it discards what it gets.
    fn prepare(path: Option<&Path>, provider: &str) -> Result<Self, CliError> {
        match path {
            Some(path) => {
                let secret = SecretFile::create(path)?;
                let key = if provider == "dfns" {
                    Some(SecretFile::create(&key_path(path))?)
                } else {
                    None
                };
                Ok(Self::Files { secret, key })
            }
            None if output::stdout_discards() => Err(CliError::usage(
                "standard output is /dev/null (or was closed), so the secret would be lost: \
                 send it somewhere else or give --secret-file PATH (nothing was created)",
            )),
            None => Ok(Self::Stdout),
        }
    }
}

/// What a command does with a new token.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Verb {
    Create,
    /// A rotation that leaves the old token valid until it is finished.
    Rotate,
    /// A rotation the provider did in one call ([`Capabilities::native_rotate`]): the
    /// server has already revoked the old token, so the new secret is the only one left.
    RotateNative,
}

/// A delivered secret, and what is left to print about it.
struct Report {
    secrets: SecretsJson,
    /// The new token as created.
    token: TokenJson,
    /// The token a rotation replaces.
    old: Option<TokenId>,
    /// The secret went to stdout: the first part of the output is printed already.
    streamed: bool,
}

/// `pats create`.
pub async fn create(
    ctx: &Ctx<'_>,
    name: String,
    expiry: &ExpiryArgs,
    scopes: Vec<String>,
    owner: Option<String>,
    secret_file: Option<&Path>,
) -> Result<Exit, CliError> {
    let mut builder = CreateToken::builder()
        .name(name)
        .scopes(scopes)
        // No expiry flag: the provider's default, which ZITADEL and the SailPoint
        // versions whose default never expires refuse with a message naming the flags.
        .expiry(expiry_from(expiry).unwrap_or(Expiry::ProviderDefault));
    if let Some(owner) = owner {
        builder = builder.owner(owner);
    }
    let request = builder.build()?;
    let sink = Sink::prepare(secret_file, ctx.provider())?;
    let mut interrupts = Interrupts::listen();
    let created = sent(
        ctx,
        &mut interrupts,
        ctx.client.create(&request),
        &request,
        None,
    )
    .await?;
    let report = deliver(ctx, &created, sink, Verb::Create, None)?;
    report.finish(ctx, None, None, &[]);
    Ok(Exit::Ok)
}

/// `pats rotate`.
pub async fn rotate(
    ctx: &Ctx<'_>,
    id: &TokenRef,
    expiry: &ExpiryArgs,
    name: Option<String>,
    scopes: Vec<String>,
    secret_file: Option<&Path>,
    keep_old: bool,
) -> Result<Exit, CliError> {
    let mut interrupts = Interrupts::listen();
    let old = match interrupts.guard(ctx.resolve(id)).await {
        Ok(old) => old?,
        Err(signal) => {
            return Err(CliError {
                exit: signal.into(),
                message: format!("interrupted ({}); nothing was created", signal.name()),
            });
        }
    };
    let caps = ctx.client.capabilities();
    if keep_old && caps.native_rotate {
        return Err(CliError::usage(format!(
            "--keep-old cannot be honoured: {} rotates in one call and revokes the old token at once (nothing was rotated); rotate without --keep-old, or create a second token with `pats create` and revoke the old one later",
            ctx.provider()
        )));
    }
    let request = replacement(&old, &caps, expiry, name, scopes)?;
    let sink = Sink::prepare(secret_file, ctx.provider())?;
    let pending = sent(
        ctx,
        &mut interrupts,
        ctx.client.rotate(&old.id, &request),
        &request,
        Some(&old.id),
    )
    .await?;
    // The secret is handed over first: if that fails, the old token is left alone (or,
    // where the server already revoked it, the new token's id is named to rotate again).
    let verb = if pending.old_revoked() {
        Verb::RotateNative
    } else {
        Verb::Rotate
    };
    let report = deliver(ctx, pending.created(), sink, verb, Some(&old.id))?;
    let new_id = pending.new_id().clone();
    let rename_later = pending
        .final_name()
        .map(|name| format!("; then rename the new token with `pats rename {new_id} {name}`"))
        .unwrap_or_default();
    if keep_old {
        let _kept = pending.into_created();
        report.finish(
            ctx,
            None,
            Some(ReplacedJson::new(&old.id, true, None)),
            &[format!(
                "The old token {} stays valid (--keep-old): revoke it with `pats revoke {}` \
                 once its users have the new secret{rename_later}.",
                old.id, old.id
            )],
        );
        return Ok(Exit::Ok);
    }
    let rotation = match interrupts.guard(pending.finish(ctx.client)).await {
        Ok(rotation) => rotation,
        Err(signal) => {
            report.finish(
                ctx,
                None,
                Some(ReplacedJson::new(
                    &old.id,
                    false,
                    Some(format!("interrupted ({})", signal.name())),
                )),
                &[],
            );
            return Err(CliError {
                exit: signal.into(),
                message: format!(
                    "interrupted ({}) while revoking the old token {}: the new token \
                     {new_id} and its secret were delivered, but the old token may still be \
                     valid: check with `pats get {}` and revoke it with `pats revoke {}`{}",
                    signal.name(),
                    old.id,
                    old.id,
                    old.id,
                    rename_later
                ),
            });
        }
    };
    if let (Renamed::Failed(e), Some(name)) = (&rotation.renamed, request.name()) {
        eprintln!(
            "pats: note: the new token keeps the name `{}`: renaming it to `{}` failed: {}",
            output::printable(rotation.new.name.as_deref().unwrap_or_default()),
            output::printable(name),
            output::printable(&full_text(&e))
        );
    }
    let revoke_error = rotation.revoked.as_ref().err().map(|e| full_text(&e));
    let line = match (&revoke_error, &rotation.renamed) {
        (None, _) if verb == Verb::RotateNative => format!(
            "Old token {} already revoked: {} revoked it when it rotated.",
            old.id,
            ctx.provider()
        ),
        (None, Renamed::Done) => format!(
            "Old token {} revoked; the new token took the name `{}`.",
            old.id,
            rotation.new.name.as_deref().unwrap_or_default()
        ),
        (None, _) => format!("Old token {} revoked.", old.id),
        (Some(e), _) => format!("Old token {} NOT revoked: {e}", old.id),
    };
    report.finish(
        ctx,
        Some(&rotation.new),
        Some(ReplacedJson::new(&old.id, false, revoke_error.clone())),
        &[line],
    );
    match revoke_error {
        None => Ok(Exit::Ok),
        Some(e) => Err(CliError {
            exit: Exit::Failed,
            message: format!(
                "the new token {new_id} was created and its secret delivered, but revoking the \
                 old token {} failed: {e}; revoke it with `pats revoke {}`{rename_later}",
                old.id, old.id
            ),
        }),
    }
}

/// The request that replaces `old`: its name, scopes, owner and lifetime unless the
/// command line says otherwise. Where the provider rotates in one call (the server keeps
/// the name, scopes and owner), only what the command line gives: the provider refuses
/// other scopes or owners, and checks a name, before sending.
fn replacement(
    old: &TokenInfo,
    caps: &Capabilities,
    expiry: &ExpiryArgs,
    name: Option<String>,
    scopes: Vec<String>,
) -> Result<CreateToken, CliError> {
    // Same lifetime as the old token unless told otherwise.
    let expiry = expiry_from(expiry).unwrap_or(match (old.expires, old.created) {
        (Expiration::At(at), Some(created)) if at > created => {
            Expiry::In(std::time::Duration::from_secs(
                u64::try_from((at - created).whole_seconds())
                    .unwrap_or(0)
                    .max(1),
            ))
        }
        _ => Expiry::ProviderDefault,
    });
    // The new token takes the old one's name (where names are unique per owner, `rotate`
    // gives it a temporary name until the old one is revoked). Where a name is its owner's
    // name (ZITADEL), the owner below says it already.
    if caps.native_rotate {
        let mut builder = CreateToken::builder().scopes(scopes).expiry(expiry);
        if let Some(name) = name {
            builder = builder.name(name);
        }
        return Ok(builder.build()?);
    }
    let name = match (name, &old.name) {
        (Some(name), _) => Some(name),
        (None, Some(old_name)) => Some(old_name.clone()),
        (None, None) if caps.naming == Naming::PerToken => Some(format!("rotated-{}", old.id)),
        (None, None) => None,
    };
    let scopes = if scopes.is_empty() && caps.scopes {
        old.scopes.clone()
    } else {
        scopes
    };
    let mut builder = CreateToken::builder().scopes(scopes).expiry(expiry);
    if let Some(name) = name {
        builder = builder.name(name);
    }
    if let (true, Some(owner)) = (caps.create_for_owner, &old.owner) {
        builder = builder.owner(owner.id.clone());
    }
    Ok(builder.build()?)
}

/// The outcome of sending the create of `request` (a plain create, or a rotation's when
/// `old` is given): its error, or [`unknown`]'s where the answer was lost or a signal came
/// while it was in flight.
async fn sent<T>(
    ctx: &Ctx<'_>,
    interrupts: &mut Interrupts,
    create: impl std::future::Future<Output = pats::Result<T>>,
    request: &CreateToken,
    old: Option<&TokenId>,
) -> Result<T, CliError> {
    match interrupts.guard(create).await {
        Ok(Ok(done)) => Ok(done),
        Ok(Err(e)) if e.is_outcome_unknown() => Err(unknown(ctx, request.name(), old, Err(e))),
        Ok(Err(e)) => Err(ctx.create_error(e)),
        Err(signal) => Err(unknown(ctx, request.name(), old, Ok(signal))),
    }
}

/// The error (and, with `--json`, the document) of a create whose outcome is unknown: an
/// answer lost after the request was sent (`Err`), or a signal while it was in flight.
fn unknown(
    ctx: &Ctx<'_>,
    name: Option<&str>,
    old: Option<&TokenId>,
    cause: Result<Signal, pats::Error>,
) -> CliError {
    let caps = ctx.client.capabilities();
    let check = match name {
        Some(name) if caps.naming == Naming::PerToken && !(old.is_some() && caps.unique_names) => {
            format!("pats get @{name}")
        }
        _ => "pats list".to_owned(),
    };
    let (exit, what) = match &cause {
        Ok(signal) => (
            Exit::from(*signal),
            format!("interrupted ({})", signal.name()),
        ),
        Err(e) => (Exit::Unknown, full_text(&e)),
    };
    let token = match name {
        Some(name) => format!("the token `{name}`"),
        None => "the token".to_owned(),
    };
    let old_note = match old {
        Some(id) if caps.native_rotate => format!(
            " (if it rotated, {} also revoked the old token {id}: check it with `pats get {id}`)",
            ctx.provider()
        ),
        Some(id) => format!(" (the old token {id} was not revoked)"),
        None => String::new(),
    };
    if ctx.json {
        let doc = UnknownJson {
            outcome: "unknown",
            provider: ctx.provider(),
            name,
            error: what.clone(),
            check: check.clone(),
        };
        if let Ok(text) = serde_json::to_string_pretty(&doc) {
            outln!("{text}");
        }
    }
    CliError {
        exit,
        message: format!(
            "{what} after the request was sent: {token} may have been created on {}{old_note}; \
             check with `{check}` before creating it again",
            ctx.provider()
        ),
    }
}

/// Hands over `created`'s secret: to the secret file(s), or to stdout with a checked write
/// and a flush. Nothing is revoked before this returned `Ok`; on `Err` the message names
/// the token that holds the secret and what to do.
fn deliver(
    ctx: &Ctx<'_>,
    created: &CreatedToken,
    sink: Sink,
    verb: Verb,
    old: Option<&TokenId>,
) -> Result<Report, CliError> {
    let id = &created.info.id;
    let lost = |what: String| {
        let (old_note, again) = match (verb, old) {
            (Verb::RotateNative, Some(old)) => {
                return CliError::failed(format!(
                    "{what}: the new token {id} on {} holds that secret, and the old token \
                     {old} is already revoked ({} revoked it when it rotated): rotate the new \
                     token with `pats rotate {id}` to get a secret you can store",
                    ctx.provider(),
                    ctx.provider()
                ));
            }
            (Verb::Rotate, Some(old)) => (
                format!("; the old token {old} was not revoked and still works"),
                "rotate again",
            ),
            _ => (String::new(), "create it again"),
        };
        CliError::failed(format!(
            "{what}: the new token {id} on {} holds that secret{old_note}; revoke the new \
             token with `pats revoke {id}` and {again}",
            ctx.provider()
        ))
    };
    let token = ctx.token(&created.info);
    let mut doc = SecretsJson {
        secret: None,
        private_key: None,
        secret_file: None,
        private_key_file: None,
    };
    match sink {
        Sink::Files { secret, key } => {
            doc.secret_file = Some(secret.path().display().to_string());
            let key_file = key_path(secret.path());
            secret.write(created.secret.expose_secret()).map_err(lost)?;
            if let Some(private_key) = &created.private_key {
                let file = match key {
                    Some(file) => file,
                    None => SecretFile::create(&key_file).map_err(|e| lost(e.message))?,
                };
                doc.private_key_file = Some(file.path().display().to_string());
                file.write(private_key.expose_secret()).map_err(lost)?;
            }
            Ok(Report {
                secrets: doc,
                token,
                old: old.cloned(),
                streamed: false,
            })
        }
        Sink::Stdout => {
            doc.secret = Some(created.secret.expose_secret().to_owned());
            doc.private_key = created
                .private_key
                .as_ref()
                .map(|k| k.expose_secret().to_owned());
            let text = if ctx.json {
                json_head(&doc)?
            } else {
                text_head(ctx, &token, &doc, old)
            };
            output::deliver(&text)
                .map_err(|e| lost(format!("writing the secret to standard output failed: {e}")))?;
            Ok(Report {
                secrets: doc,
                token,
                old: old.cloned(),
                streamed: true,
            })
        }
    }
}

/// The pretty JSON of `doc` without its closing brace, so that the token and the replaced
/// one can follow once known.
fn json_head(doc: &SecretsJson) -> Result<String, CliError> {
    let text = serde_json::to_string_pretty(doc)
        .map_err(|e| CliError::failed(format!("cannot render JSON: {e}")))?;
    match text.strip_suffix("\n}") {
        Some(head) => Ok(head.to_owned()),
        None => Err(CliError::failed("cannot render JSON: not an object")),
    }
}

/// What people see about a new token, down to its secret. Untrusted text is escaped
/// ([`output::printable`]); so is a secret or key holding control characters, which no
/// provider hands out (`--json` gives it exactly), with a note on stderr.
fn text_head(ctx: &Ctx<'_>, token: &TokenJson, doc: &SecretsJson, old: Option<&TokenId>) -> String {
    use output::printable as p;
    let mut text = match old {
        Some(old) => format!(
            "Rotated {} on {}: new token {}.\n",
            p(old.as_str()),
            ctx.provider(),
            p(&token.id)
        ),
        None => format!("Created token {} on {}.\n", p(&token.id), ctx.provider()),
    };
    text.push_str(&output::token_details(token));
    if let Some(path) = &doc.secret_file {
        text.push_str(&format!("Secret written to {} (mode 0600).\n", p(path)));
    }
    if let Some(path) = &doc.private_key_file {
        text.push_str(&format!(
            "Private key written to {} (mode 0600).\n",
            p(path)
        ));
    }
    if let Some(secret) = &doc.secret {
        text.push_str("Secret (shown only this once; store it now):\n");
        text.push_str(&shown_secret(secret));
        text.push('\n');
    }
    if let Some(key) = &doc.private_key {
        text.push_str("Private key paired with the token:\n");
        for line in key.lines() {
            text.push_str(&shown_secret(line));
            text.push('\n');
        }
    }
    text
}

/// A line of a secret as printed for people: escaped if it holds control characters.
fn shown_secret(line: &str) -> std::borrow::Cow<'_, str> {
    let shown = output::printable(line);
    if matches!(shown, std::borrow::Cow::Owned(_)) {
        eprintln!(
            "pats: note: the provider's secret holds control characters, shown escaped; \
             --json gives it exactly"
        );
    }
    shown
}

impl Report {
    /// Prints the rest: the whole report where the secret went to a file, else what follows
    /// the secret. `now` is the new token as it is now (renamed by a rotation), `lines` the
    /// closing lines for people.
    fn finish(
        self,
        ctx: &Ctx<'_>,
        now: Option<&pats::TokenInfo>,
        replaced: Option<ReplacedJson>,
        lines: &[String],
    ) {
        if ctx.json {
            let head = if self.streamed {
                None
            } else {
                json_head(&self.secrets).ok()
            };
            if let Some(head) = head {
                out!("{head}");
            }
            let tail = TailJson {
                token: now.map_or(self.token, |info| ctx.token(info)),
                replaced,
            };
            match serde_json::to_string_pretty(&tail) {
                Ok(text) => outln!(",{}", text.strip_prefix('{').unwrap_or(&text)),
                Err(e) => {
                    outln!("\n}}");
                    eprintln!("pats: error: cannot render JSON: {e}");
                }
            }
            return;
        }
        if !self.streamed {
            let token = now.map_or(self.token, |info| ctx.token(info));
            out!(
                "{}",
                text_head(ctx, &token, &self.secrets, self.old.as_ref())
            );
        }
        for line in lines {
            outln!("{}", output::printable(line));
        }
    }
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn no_expiry() -> ExpiryArgs {
        ExpiryArgs {
            expires_in: None,
            expires_at: None,
            never_expires: false,
            i_understand: false,
        }
    }

    fn old(expires: Expiration) -> TokenInfo {
        let mut t = TokenInfo::new(TokenId::new("t1").expect("an id"));
        t.created = Some(datetime!(2026-01-01 00:00 UTC));
        t.expires = expires;
        t
    }

    fn per_token() -> Capabilities {
        let mut c = Capabilities::default();
        c.naming = Naming::PerToken;
        c
    }

    #[test]
    fn the_replacement_keeps_the_lifetime_where_there_is_one() {
        let kept = |expires| {
            replacement(&old(expires), &per_token(), &no_expiry(), None, Vec::new())
                .expect("a request")
                .expiry()
        };
        let a_day = Expiration::At(datetime!(2026-01-02 00:00 UTC));
        assert_eq!(
            kept(a_day),
            Expiry::In(std::time::Duration::from_secs(86_400))
        );
        // An expiry at (or before) creation says no lifetime: the provider's default.
        let at_creation = Expiration::At(datetime!(2026-01-01 00:00 UTC));
        assert_eq!(kept(at_creation), Expiry::ProviderDefault);
        let before = Expiration::At(datetime!(2025-12-31 00:00 UTC));
        assert_eq!(kept(before), Expiry::ProviderDefault);
        assert_eq!(kept(Expiration::Never), Expiry::ProviderDefault);
    }

    #[test]
    fn an_unnamed_token_is_replaced_by_a_named_one_where_tokens_have_names() {
        let unnamed = old(Expiration::Never);
        let request =
            replacement(&unnamed, &per_token(), &no_expiry(), None, Vec::new()).expect("a request");
        assert_eq!(request.name(), Some("rotated-t1"));
        // Where a name is its owner's (ZITADEL), none is made up.
        let mut owner_named = Capabilities::default();
        owner_named.naming = Naming::Owner;
        let request =
            replacement(&unnamed, &owner_named, &no_expiry(), None, Vec::new()).expect("a request");
        assert_eq!(request.name(), None);
        // A name given wins.
        let request = replacement(
            &unnamed,
            &per_token(),
            &no_expiry(),
            Some("n".into()),
            Vec::new(),
        )
        .expect("a request");
        assert_eq!(request.name(), Some("n"));
    }

    #[test]
    fn a_native_rotation_carries_only_what_the_command_line_gives() {
        let mut caps = per_token();
        caps.scopes = true;
        caps.create_for_owner = true;
        let mut token = old(Expiration::At(datetime!(2026-01-31 00:00 UTC)));
        token.name = Some("ci".into());
        token.scopes = vec!["api".into()];
        token.owner = Some(pats::Owner::new("7"));
        // Where the old token is replaced by a new create, it carries the old one's.
        let request =
            replacement(&token, &caps, &no_expiry(), None, Vec::new()).expect("a request");
        assert_eq!(request.name(), Some("ci"));
        assert_eq!(request.scopes(), ["api"]);
        assert_eq!(request.owner(), Some("7"));
        // Where the server rotates (and keeps them), only the lifetime is carried.
        caps.native_rotate = true;
        let request =
            replacement(&token, &caps, &no_expiry(), None, Vec::new()).expect("a request");
        assert_eq!(request.name(), None);
        assert!(request.scopes().is_empty());
        assert_eq!(request.owner(), None);
        assert_eq!(
            request.expiry(),
            Expiry::In(std::time::Duration::from_secs(30 * 86_400))
        );
        let request = replacement(
            &token,
            &caps,
            &no_expiry(),
            Some("ci".into()),
            vec!["read_api".into()],
        )
        .expect("a request");
        assert_eq!(request.name(), Some("ci"));
        assert_eq!(request.scopes(), ["read_api"]);
    }
}
