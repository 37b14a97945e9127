//! Section 7: `pats audit --all` over many profiles against the emulator.
//!
//! One ZITADEL emulator holds `profiles` machine users of `tokens` tokens each; a profiles
//! file names one profile per machine user. The `pats` binary (release, next to this one)
//! audits them all (`--expiring-within 1d`: the seeded tokens never expire, so nothing is
//! found and the report stays small) at a concurrency of 8. The floor is the same pages
//! (100 tokens each, the client's default page size) fetched with `reqwest` at the same
//! concurrency in this process, in the same run. Memory is the `pats` process's peak RSS
//! (`VmHWM` of /proc/PID/status, polled until it exits) at two sizes: if the CLI kept every
//! token, the peak would grow with the token count; streaming pages keeps it near one page
//! per in-flight profile.

use crate::measure::Result;
use crate::raw::{Raw, RawRequest};
use crate::report::{Report, Row};
use pats::reexports::reqwest::Method;
use pats_sim::zitadel::ZitadelSim;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

const LIST: &str = "/zitadel.user.v2.UserService/ListPersonalAccessTokens";
const PAGE: usize = 100;
const CONCURRENCY: usize = 8;

/// Where `pats` is: next to this executable (or one level up, from `deps/`).
fn pats_binary() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let dir = exe.parent()?;
    [dir.join("pats"), dir.parent()?.join("pats")]
        .into_iter()
        .find(|p| p.is_file())
}

/// Builds the release `pats` into `target` (a no-op when it is up to date).
fn build_pats(workspace: &Path, target: &Path) -> Result<PathBuf> {
    let status = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args(["build", "--release", "-p", "pats-cli", "--bin", "pats"])
        .env("CARGO_TARGET_DIR", target)
        .current_dir(workspace)
        .status()?;
    if !status.success() {
        return Err("cargo build --release -p pats-cli failed".into());
    }
    Ok(target.join("release").join("pats"))
}

/// The emulator with `profiles` machine users of `tokens` tokens each, and the profiles
/// file naming them (the admin PAT comes from `BENCH_PAT`).
struct Fleet {
    sim: ZitadelSim,
    users: Vec<(String, String)>,
    _dir: tempfile_dir::Dir,
    config: PathBuf,
}

/// A temporary directory removed on drop (no `tempfile` dependency for one directory).
mod tempfile_dir {
    use std::path::{Path, PathBuf};

    pub struct Dir(PathBuf);

    impl Dir {
        pub fn new(tag: &str) -> std::io::Result<Self> {
            let path = std::env::temp_dir().join(format!(
                "pats-bench-{tag}-{}-{}",
                std::process::id(),
                fastrand_like()
            ));
            std::fs::create_dir_all(&path)?;
            Ok(Self(path))
        }

        pub fn path(&self) -> &Path {
            &self.0
        }
    }

    fn fastrand_like() -> u128 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

impl Fleet {
    async fn start(profiles: usize, tokens: usize) -> Result<Self> {
        let sim = ZitadelSim::start().await;
        let dir = tempfile_dir::Dir::new("fleet")?;
        let mut text = String::new();
        let mut users = Vec::new();
        for i in 0..profiles {
            let org = format!("{}", 310_000_000_000_000_000u64 + i as u64);
            let user = format!("{}", 320_000_000_000_000_000u64 + i as u64);
            sim.add_org(&org);
            sim.add_machine_user(&org, &user);
            if sim.seed_pats(&user, tokens).len() != tokens {
                return Err(format!("seeding {tokens} tokens for {user} failed").into());
            }
            text.push_str(&format!(
                "[profiles.tenant-{i:03}]\nprovider = \"zitadel\"\nbase_url = \"{}\"\n\
                 pat_env = \"BENCH_PAT\"\norganization_id = \"{org}\"\nuser_id = \"{user}\"\n\n",
                sim.uri()
            ));
            users.push((org, user));
        }
        let config = dir.path().join("profiles.toml");
        std::fs::write(&config, text)?;
        Ok(Self {
            sim,
            users,
            _dir: dir,
            config,
        })
    }

    /// Runs `pats audit --all`; its wall time and peak RSS in bytes.
    fn audit(&self, pats: &Path, tokens: usize) -> Result<(Duration, u64)> {
        let start = Instant::now();
        let mut child = Command::new(pats)
            .env_clear()
            .env("BENCH_PAT", self.sim.admin_pat())
            .arg("--config")
            .arg(&self.config)
            .args(["audit", "--all", "--json", "--expiring-within", "1d"])
            .args(["--concurrency", &CONCURRENCY.to_string()])
            .args(["--per-provider", &CONCURRENCY.to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let status_file = format!("/proc/{}/status", child.id());
        let mut peak_kib = 0u64;
        // Read the output while polling (a full pipe would stall the child).
        let mut stdout = child.stdout.take().ok_or("no stdout")?;
        let reader = std::thread::spawn(move || {
            let mut out = String::new();
            let _ = std::io::Read::read_to_string(&mut stdout, &mut out);
            out
        });
        let status = loop {
            if let Some(kib) = std::fs::read_to_string(&status_file)
                .ok()
                .and_then(|s| vm_hwm_kib(&s))
            {
                peak_kib = peak_kib.max(kib);
            }
            if let Some(status) = child.try_wait()? {
                break status;
            }
            std::thread::sleep(Duration::from_millis(2));
        };
        let elapsed = start.elapsed();
        let out = reader.join().map_err(|_| "the output reader panicked")?;
        let report: Value = serde_json::from_str(&out)
            .map_err(|e| format!("pats audit --all printed no JSON ({e}); {status}"))?;
        let want = (self.users.len() * tokens) as u64;
        if status.code() != Some(0)
            || report["summary"]["failed"] != 0
            || report["summary"]["tokens_checked"].as_u64() != Some(want)
        {
            return Err(format!(
                "pats audit --all: {status}, summary {} (expected {want} tokens, none failed)",
                report["summary"]
            )
            .into());
        }
        Ok((elapsed, peak_kib * 1024))
    }

    /// The floor: every profile's pages fetched with `reqwest`, `CONCURRENCY` profiles at
    /// a time, each answer parsed into `serde_json::Value` and dropped.
    async fn floor(&self, tokens: usize) -> Result<Duration> {
        let raw = Raw::new(&self.sim.uri(), &self.sim.admin_pat())?;
        let slots = Arc::new(Semaphore::new(CONCURRENCY));
        let start = Instant::now();
        let mut set = JoinSet::new();
        for (org, user) in self.users.clone() {
            let (raw, slots) = (raw.clone(), slots.clone());
            set.spawn(async move {
                let _slot = slots.acquire_owned().await?;
                let mut offset = 0;
                loop {
                    let body = format!(
                        r#"{{"filters":[{{"userIdFilter":{{"id":"{user}"}}}}],"pagination":{{"offset":{offset},"limit":{PAGE},"asc":true}},"sortingColumn":"PERSONAL_ACCESS_TOKEN_FIELD_NAME_CREATED_DATE"}}"#
                    );
                    let answer = raw
                        .json(
                            &RawRequest::new(Method::POST, LIST)
                                .header("connect-protocol-version", "1")
                                .header("x-zitadel-orgid", org.clone())
                                .json(body),
                        )
                        .await?;
                    let n = answer["result"].as_array().map_or(0, Vec::len);
                    offset += n;
                    if n < PAGE || offset >= tokens {
                        break;
                    }
                }
                if offset == tokens {
                    Ok::<(), crate::BoxError>(())
                } else {
                    Err(format!("the floor saw {offset} tokens of {user}, not {tokens}").into())
                }
            });
        }
        while let Some(joined) = set.join_next().await {
            joined??;
        }
        Ok(start.elapsed())
    }
}

fn vm_hwm_kib(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Section 7. Quick mode: 4 profiles × 50 and × 10 tokens, and only if a `pats` binary is
/// already built next to this one.
pub fn section7(quick: bool, workspace: &Path, target: &Path, report: &mut Report) -> Result<()> {
    let pats = match (pats_binary(), quick) {
        (Some(p), _) => p,
        (None, false) => build_pats(workspace, target)?,
        (None, true) => {
            report.notes.push(
                "Section 7 skipped: no `pats` binary next to the runner (a full run builds it)."
                    .to_owned(),
            );
            return Ok(());
        }
    };
    let (profiles, sizes): (usize, [usize; 2]) = if quick {
        (4, [50, 10])
    } else {
        (100, [1000, 100])
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let mut peaks = Vec::new();
    for tokens in sizes {
        let fleet = runtime.block_on(Fleet::start(profiles, tokens))?;
        // One warm-up each, then the median of three.
        let rounds = if quick { 1 } else { 3 };
        let _ = runtime.block_on(fleet.floor(tokens))?;
        let _ = fleet.audit(&pats, tokens)?;
        let mut times = Vec::new();
        let mut floors = Vec::new();
        let mut peak = 0;
        for _ in 0..rounds {
            let (t, rss) = fleet.audit(&pats, tokens)?;
            times.push(t);
            peak = peak.max(rss);
            floors.push(runtime.block_on(fleet.floor(tokens))?);
        }
        times.sort();
        floors.sort();
        let (t, f) = (times[rounds / 2], floors[rounds / 2]);
        report.rows.push(
            Row::new(
                6,
                format!("pats audit --all: {profiles} profiles × {tokens} tokens"),
                t.as_secs_f64() * 1e3,
                "ms",
            )
            .floor(f.as_secs_f64() * 1e3)
            .note(format!(
                "ZITADEL emulator, pages of {PAGE}, {CONCURRENCY} profiles in flight; floor: \
                 the same pages with reqwest at the same concurrency; the pats time includes \
                 starting the process"
            )),
        );
        report.rows.push(
            Row::new(
                6,
                format!("pats audit --all peak RSS: {profiles} × {tokens} tokens"),
                peak as f64 / (1024.0 * 1024.0),
                "MiB",
            )
            .note("VmHWM of the pats process"),
        );
        peaks.push(peak);
    }
    if let [big, small] = peaks[..] {
        report.notes.push(format!(
            "Section 7: peak RSS of `pats audit --all` at {} tokens per profile is {:.2} × the \
             peak at {} (10 × the tokens): memory follows the pages in flight, not the tokens.",
            sizes[0],
            big as f64 / small.max(1) as f64,
            sizes[1]
        ));
    }
    Ok(())
}
