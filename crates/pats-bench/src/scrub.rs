//! Section 4, hostile bodies: scrubbing secrets out of a 4 MiB body built to be slow to
//! scrub (the scrubber once lowercased the rest of the text after every `bearer ` it found,
//! which made such a body take minutes). The floor is one lowercased copy of the body: a
//! linear scrubber costs a few such passes.

use crate::measure::{Plan, Result, time_sync};
use crate::report::{Report, Row};

/// The size of the hostile bodies in a full run (the transport's default response cap).
pub const HOSTILE_BYTES: usize = 4 * 1024 * 1024;

/// The repeated units the hostile bodies are made of, and what each attacks.
pub const UNITS: [(&str, &str); 3] = [
    ("Bearer x ", "a credential after every `Bearer`"),
    ("bearer ", "`bearer` after `bearer`"),
    ("\"token\":", "a secret JSON key after every key"),
];

/// A body of about `size` bytes made of `unit` over and over.
pub fn hostile_body(unit: &str, size: usize) -> String {
    unit.repeat(size / unit.len().max(1))
}

/// Times [`pats::__private::redact::scrub`] on each hostile body against its floor.
pub fn section4_scrub(quick: bool, report: &mut Report) -> Result<()> {
    let (size, plan) = if quick {
        (64 * 1024, Plan::new(0, 1))
    } else {
        (HOSTILE_BYTES, Plan::new(1, 7))
    };
    for (unit, what) in UNITS {
        let body = hostile_body(unit, size);
        let scrubbed = pats::__private::redact::scrub(&body, &[]);
        if !scrubbed.contains(pats::__private::redact::REDACTED) || scrubbed.contains("Bearer x") {
            return Err(format!("the hostile body `{unit}` was not scrubbed").into());
        }
        let floor = time_sync(plan, || {
            std::hint::black_box(body.to_ascii_lowercase());
            Ok(())
        })?;
        let timed = time_sync(plan, || {
            std::hint::black_box(pats::__private::redact::scrub(
                std::hint::black_box(&body),
                &[],
            ));
            Ok(())
        })?;
        let ms = |nanos: f64| nanos / 1e6;
        let mb_per_s = body.len() as f64 / (timed.median() / 1e9) / 1e6;
        report.rows.push(
            Row::new(
                3,
                format!(
                    "scrub a hostile {} KiB body: `{}` repeated",
                    body.len() / 1024,
                    unit.trim_end()
                ),
                ms(timed.median()),
                "ms",
            )
            .floor(ms(floor.median()))
            .note(format!(
                "{what}; {mb_per_s:.0} MB/s; floor: one lowercased copy of the body"
            )),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_bodies_have_the_size_asked_for() {
        for (unit, _) in UNITS {
            let body = hostile_body(unit, 1000);
            assert!(
                body.len() <= 1000 && body.len() > 1000 - unit.len(),
                "{unit}"
            );
            assert!(body.starts_with(unit));
        }
    }
}
