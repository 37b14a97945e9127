//! The README's example: connects to the provider the environment names, lists its tokens,
//! names those that expire within two weeks and, given a name, creates a token.
//!
//! ```sh
//! export PATS_PROVIDER=sailpoint SAIL_BASE_URL=https://acme.api.identitynow.com \
//!   SAIL_CLIENT_ID=... SAIL_CLIENT_SECRET=...
//! cargo run -p pats --example basic               # read-only
//! cargo run -p pats --example basic -- ci-deploy  # also creates `ci-deploy`
//! ```
//!
//! Against the emulator instead of a real provider: `pats sim serve` in one terminal,
//! `eval "$(pats sim env)"` in the other. A test keeps README.md's copy equal to the marked
//! section.

// README: begin
use pats::reexports::secrecy::ExposeSecret;
use pats::{BoxError, CreateToken, Expiry, ListQuery, PersonalAccessTokensExt};
use std::time::Duration;

const DAY: Duration = Duration::from_secs(24 * 3600);

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    // PATS_PROVIDER=sailpoint SAIL_BASE_URL=... SAIL_CLIENT_ID=... SAIL_CLIENT_SECRET=...
    let pats = pats::from_env()?;
    let tokens = pats.list_all(&ListQuery::new()).await?;
    println!("{} token(s) on {}", tokens.len(), pats.provider());
    for token in pats.expiring_within(14 * DAY, &ListQuery::new()).await? {
        println!("expires within 14 days: {} {:?}", token.id, token.name);
    }
    if let Some(name) = std::env::args().nth(1) {
        // 30 days, or the provider's maximum where that is shorter.
        let lifetime = pats.capabilities().fit_lifetime(30 * DAY);
        let request = CreateToken::builder()
            .name(name)
            .expiry(Expiry::In(lifetime));
        let created = pats.create(&request.build()?).await?;
        // The secret is shown only this once: store it now.
        println!("{} {}", created.info.id, created.secret.expose_secret());
    }
    Ok(())
}
// README: end
