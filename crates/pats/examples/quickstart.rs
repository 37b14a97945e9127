//! The token lifecycle through one trait, on every provider.
//!
//! ```sh
//! cargo run -p pats --example quickstart
//! ```
//!
//! Without `PATS_PROVIDER` it starts the `pats-sim` emulator (a dev-dependency; loopback
//! only), configures a client for each provider from the variables the emulator gives (as
//! a real provider's are read from the environment), and runs
//! create → list → get → rename → deactivate/activate → rotate → revoke on each, through
//! `&dyn PersonalAccessTokens`, printing one table. With `PATS_PROVIDER` and that
//! provider's variables set (see `pats::config`) it talks to the real provider instead:
//! read-only (list, get) unless `--write` is given (on ZITADEL, where a token's name is its
//! machine user's username, machine users `quickstart` and `quickstart-rotated` must
//! exist). Secrets are never printed.

use pats::{
    CreateToken, Expiry, ListQuery, PersonalAccessTokens, PersonalAccessTokensExt, TokenId,
};
use std::collections::HashMap;
use std::time::{Duration, Instant};

struct Row {
    provider: &'static str,
    operation: &'static str,
    result: String,
    time: Duration,
}

struct Table(Vec<Row>);

impl Table {
    /// Runs `step`, timing it and recording its outcome; returns its value on success.
    async fn step<T>(
        &mut self,
        provider: &'static str,
        operation: &'static str,
        step: impl std::future::Future<Output = pats::Result<T>>,
        describe: impl FnOnce(&T) -> String,
    ) -> Option<T> {
        let start = Instant::now();
        let outcome = step.await;
        let time = start.elapsed();
        let (result, value) = match outcome {
            Ok(v) => (describe(&v), Some(v)),
            Err(e) => (format!("error: {e}"), None),
        };
        self.0.push(Row {
            provider,
            operation,
            result,
            time,
        });
        value
    }

    fn print(&self) {
        let width = |f: fn(&Row) -> usize, title: &str| {
            self.0.iter().map(f).max().unwrap_or(0).max(title.len())
        };
        let (wp, wo, wr) = (
            width(|r| r.provider.len(), "provider"),
            width(|r| r.operation.len(), "operation"),
            width(|r| r.result.chars().count(), "result"),
        );
        println!(
            "{:wp$}  {:wo$}  {:wr$}  {:>9}",
            "provider", "operation", "result", "time"
        );
        println!("{}", "-".repeat(wp + wo + wr + 15));
        for r in &self.0 {
            println!(
                "{:wp$}  {:wo$}  {:wr$}  {:>7.1}ms",
                r.provider,
                r.operation,
                r.result,
                r.time.as_secs_f64() * 1000.0
            );
        }
    }
}

/// The token names the lifecycle uses (on ZITADEL, machine users of these usernames).
const NAMES: [&str; 2] = ["quickstart", "quickstart-rotated"];

fn request(pats: &dyn PersonalAccessTokens, name: &str) -> pats::Result<CreateToken> {
    let lifetime = pats
        .capabilities()
        .fit_lifetime(Duration::from_secs(30 * 24 * 3600));
    CreateToken::builder()
        .name(name)
        .expiry(Expiry::In(lifetime))
        .build()
}

async fn lifecycle(pats: &dyn PersonalAccessTokens, table: &mut Table) {
    let p = pats.provider();
    let caps = pats.capabilities();
    let Ok(req) = request(pats, NAMES[0]) else {
        return;
    };
    let Some(created) = table
        .step(p, "create", pats.create(&req), |c| {
            format!("{} (secret shown once, not printed)", c.info.id)
        })
        .await
    else {
        return;
    };
    let id = created.info.id.clone();
    table
        .step(p, "list", pats.list_all(&ListQuery::new()), |all| {
            format!(
                "{} token(s), includes it: {}",
                all.len(),
                all.iter().any(|t| t.id == id)
            )
        })
        .await;
    table
        .step(p, "get", pats.get(&id), |t| match t.expires {
            pats::Expiration::At(at) => format!("expires {}", at.date()),
            pats::Expiration::Never => "never expires".into(),
            _ => "expiry not reported by the provider".into(),
        })
        .await;
    if caps.rename {
        table
            .step(p, "rename", pats.rename(&id, "quickstart-renamed"), |t| {
                format!("now {:?}", t.name.as_deref().unwrap_or(""))
            })
            .await;
    }
    if caps.set_active {
        table
            .step(p, "deactivate", pats.set_active(&id, false), |t| {
                format!("active: {:?}", t.active)
            })
            .await;
        table
            .step(p, "activate", pats.set_active(&id, true), |t| {
                format!("active: {:?}", t.active)
            })
            .await;
    }
    // A native rotation (GitLab's) keeps the old token's name: ask for that one.
    let next_name = if caps.native_rotate {
        NAMES[0]
    } else {
        NAMES[1]
    };
    let Ok(next) = request(pats, next_name) else {
        return;
    };
    let rotated = table
        .step(
            p,
            "rotate",
            async {
                // The new secret would be stored here, before `finish` revokes the old token.
                let pending = pats.rotate(&id, &next).await?;
                Ok(pending.finish(pats).await)
            },
            |r| format!("new {}, old revoked: {}", r.new.id, r.revoked.is_ok()),
        )
        .await;
    if let Some(rotation) = rotated {
        let new_id: TokenId = rotation.new.id.clone();
        table
            .step(p, "revoke", pats.revoke(&new_id), |_| "revoked".into())
            .await;
        table
            .step(
                p,
                "get (revoked)",
                async { Ok(pats.get(&new_id).await) },
                |r| match r {
                    Err(e) => format!("{:?} as expected", e.kind()),
                    // Where the provider keeps a revoked token (GitLab), it is inactive.
                    Ok(t) if caps.revoked_readable && t.active == Some(false) => {
                        "kept, inactive, as expected".into()
                    }
                    Ok(_) => "still there!".into(),
                },
            )
            .await;
    }
}

async fn read_only(pats: &dyn PersonalAccessTokens, table: &mut Table) {
    let p = pats.provider();
    let listed = table
        .step(p, "list", pats.list_all(&ListQuery::new()), |all| {
            format!("{} token(s)", all.len())
        })
        .await;
    if let Some(first) = listed.and_then(|all| all.into_iter().next()) {
        table
            .step(p, "get", pats.get(&first.id), |t| {
                format!("{} {:?}", t.id, t.name)
            })
            .await;
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let write = std::env::args().any(|a| a == "--write");
    let mut table = Table(Vec::new());
    if std::env::var_os("PATS_PROVIDER").is_some() {
        let pats = pats::from_env()?;
        println!(
            "{}: {}",
            pats.provider(),
            if write {
                "full lifecycle (--write)"
            } else {
                "read-only (pass --write to create and revoke a token)"
            }
        );
        if write {
            lifecycle(pats.as_ref(), &mut table).await;
        } else {
            read_only(pats.as_ref(), &mut table).await;
        }
    } else {
        println!("No PATS_PROVIDER set: running against the pats-sim emulator on 127.0.0.1.\n");
        let emulator = pats_sim::start(pats_sim::Options::default())?;
        // On ZITADEL a token's name is its machine user's username: machine users of the
        // names the lifecycle uses, as a provider's administrator would add them.
        let org = pats_sim::zitadel::ZitadelSim::DEFAULT_ORG;
        emulator.zitadel().add_named_machine_users(org, &NAMES);
        for provider in pats::PROVIDERS {
            // What `pats sim env --provider <provider>` prints, read as the environment is.
            let vars: HashMap<String, String> = emulator.env(Some(provider)).into_iter().collect();
            let config = pats::Config::from_lookup(|name| vars.get(name).cloned())?;
            let pats = pats::connect(&config)?;
            lifecycle(pats.as_ref(), &mut table).await;
        }
    }
    table.print();
    if table.0.iter().any(|r| r.result.starts_with("error")) {
        return Err("some steps failed".into());
    }
    Ok(())
}
