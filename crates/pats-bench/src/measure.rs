//! Timing of sections 3 and 4 (sections 1 and 2 are criterion's): warm-up, then rounds
//! that run every variant once each in a rotating order (so drift and order effects hit
//! them alike), then medians and percentiles from the sorted samples. These measurements
//! take seconds per sample and need heap peaks and request counts beside the time, which a
//! per-call harness does not give.

use std::time::{Duration, Instant};

/// The error type of the benchmarks.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// The result type of the benchmarks.
pub type Result<T, E = BoxError> = std::result::Result<T, E>;

/// Drops a call's value and boxes its error: what a timed call returns.
pub fn done<T, E: Into<BoxError>>(outcome: std::result::Result<T, E>) -> Result<()> {
    outcome.map(drop).map_err(Into::into)
}

/// Sorted durations of one variant.
#[derive(Debug, Clone, Default)]
pub struct Samples {
    nanos: Vec<u64>,
}

impl Samples {
    /// Samples from durations.
    pub fn new(durations: impl IntoIterator<Item = Duration>) -> Self {
        let mut nanos: Vec<u64> = durations
            .into_iter()
            .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
            .collect();
        nanos.sort_unstable();
        Self { nanos }
    }

    /// How many samples.
    pub fn len(&self) -> usize {
        self.nanos.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.nanos.is_empty()
    }

    /// The `q` quantile (0.0..=1.0, nearest rank), in nanoseconds; 0 without samples.
    pub fn quantile(&self, q: f64) -> f64 {
        if self.nanos.is_empty() {
            return 0.0;
        }
        let last = self.nanos.len() - 1;
        // Nearest rank; the cast is of a value in 0..=last.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let index = ((q.clamp(0.0, 1.0) * last as f64).round() as usize).min(last);
        self.nanos[index] as f64
    }

    /// The median, in nanoseconds.
    pub fn median(&self) -> f64 {
        self.quantile(0.5)
    }

    /// The 99th percentile, in nanoseconds.
    pub fn p99(&self) -> f64 {
        self.quantile(0.99)
    }
}

/// How many rounds to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// Rounds run and thrown away first.
    pub warmup: usize,
    /// Rounds measured.
    pub iterations: usize,
}

impl Plan {
    /// `warmup` rounds, then `iterations` measured ones.
    pub fn new(warmup: usize, iterations: usize) -> Self {
        Self { warmup, iterations }
    }
}

async fn timed<F: AsyncFnMut() -> Result<()>>(f: &mut F) -> Result<Duration> {
    let start = Instant::now();
    f().await?;
    Ok(start.elapsed())
}

/// Runs `a` and `b` once per round, in alternating order, and returns their samples.
pub async fn compare2<A, B>(plan: Plan, mut a: A, mut b: B) -> Result<[Samples; 2]>
where
    A: AsyncFnMut() -> Result<()>,
    B: AsyncFnMut() -> Result<()>,
{
    let mut out: [Vec<Duration>; 2] = Default::default();
    for round in 0..plan.warmup + plan.iterations {
        let mut t = [Duration::ZERO; 2];
        for k in 0..2 {
            let which = (round + k) % 2;
            t[which] = match which {
                0 => timed(&mut a).await?,
                _ => timed(&mut b).await?,
            };
        }
        if round >= plan.warmup {
            for (o, t) in out.iter_mut().zip(t) {
                o.push(t);
            }
        }
    }
    Ok(out.map(Samples::new))
}

/// Runs `a`, `b` and `c` once per round, in a rotating order, and returns their samples.
pub async fn compare3<A, B, C>(plan: Plan, mut a: A, mut b: B, mut c: C) -> Result<[Samples; 3]>
where
    A: AsyncFnMut() -> Result<()>,
    B: AsyncFnMut() -> Result<()>,
    C: AsyncFnMut() -> Result<()>,
{
    let mut out: [Vec<Duration>; 3] = Default::default();
    for round in 0..plan.warmup + plan.iterations {
        let mut t = [Duration::ZERO; 3];
        for k in 0..3 {
            let which = (round + k) % 3;
            t[which] = match which {
                0 => timed(&mut a).await?,
                1 => timed(&mut b).await?,
                _ => timed(&mut c).await?,
            };
        }
        if round >= plan.warmup {
            for (o, t) in out.iter_mut().zip(t) {
                o.push(t);
            }
        }
    }
    Ok(out.map(Samples::new))
}

/// Times a synchronous `f`, `plan` rounds.
pub fn time_sync<F: FnMut() -> Result<()>>(plan: Plan, mut f: F) -> Result<Samples> {
    let mut out = Vec::with_capacity(plan.iterations);
    for round in 0..plan.warmup + plan.iterations {
        let start = Instant::now();
        f()?;
        let elapsed = start.elapsed();
        if round >= plan.warmup {
            out.push(elapsed);
        }
    }
    Ok(Samples::new(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_by_nearest_rank() {
        let s = Samples::new((1..=101).map(Duration::from_nanos));
        assert_eq!(s.median(), 51.0);
        assert_eq!(s.p99(), 100.0);
        assert_eq!(s.quantile(0.0), 1.0);
        assert_eq!(Samples::default().median(), 0.0);
    }
}
