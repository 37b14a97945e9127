//! The results: one row per figure, rendered as a markdown table and as JSON.

use serde_json::{Value, json};

/// The five sections of the run.
pub const SECTIONS: [&str; 7] = [
    "1. Overhead per call",
    "2. Dfns signed change",
    "3. SailPoint cold start under concurrency",
    "4. Large lists",
    "5. Build cost",
    "6. Emulator (pats-sim)",
    "7. Many tenants: pats audit --all",
];

/// An absolute target for a figure (the "≥ 20,000 requests/s", "≤ 50 ms").
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Target {
    /// The value must be at least this.
    AtLeast(f64),
    /// The value must be at most this.
    AtMost(f64),
}

impl Target {
    /// Whether `value` meets it.
    pub fn met_by(self, value: f64) -> bool {
        match self {
            Self::AtLeast(t) => value >= t,
            Self::AtMost(t) => value <= t,
        }
    }
}

/// One figure.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Index into [`SECTIONS`].
    pub section: usize,
    /// What was measured.
    pub name: String,
    /// The figure.
    pub value: f64,
    /// Its unit (`µs`, `MB/s`, `MiB`, `crates`, ...).
    pub unit: &'static str,
    /// The floor it is compared with, in the same unit.
    pub floor: Option<f64>,
    /// The goal for `value / floor` (at most this), if the issue sets one.
    pub goal: Option<f64>,
    /// An absolute target for `value`, if the issue sets one.
    pub target: Option<Target>,
    /// Anything else worth reading next to the figure.
    pub note: String,
}

impl Row {
    /// A figure without floor or goal.
    pub fn new(section: usize, name: impl Into<String>, value: f64, unit: &'static str) -> Self {
        Self {
            section,
            name: name.into(),
            value,
            unit,
            floor: None,
            goal: None,
            target: None,
            note: String::new(),
        }
    }

    /// Adds the floor.
    #[must_use]
    pub fn floor(mut self, floor: f64) -> Self {
        self.floor = Some(floor);
        self
    }

    /// Adds the goal for the ratio.
    #[must_use]
    pub fn goal(mut self, goal: f64) -> Self {
        self.goal = Some(goal);
        self
    }

    /// Adds the target: `value ≥ target`.
    #[must_use]
    pub fn at_least(mut self, target: f64) -> Self {
        self.target = Some(Target::AtLeast(target));
        self
    }

    /// Adds the target: `value ≤ target`.
    #[must_use]
    pub fn at_most(mut self, target: f64) -> Self {
        self.target = Some(Target::AtMost(target));
        self
    }

    /// Adds a note.
    #[must_use]
    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.note = note.into();
        self
    }

    /// `value / floor`.
    pub fn ratio(&self) -> Option<f64> {
        self.floor.filter(|f| *f > 0.0).map(|f| self.value / f)
    }

    /// Whether the ratio meets the goal and the value its target (`None` without either).
    pub fn pass(&self) -> Option<bool> {
        let goal = self.goal.and_then(|g| Some(self.ratio()? <= g));
        let target = self.target.map(|t| t.met_by(self.value));
        match (goal, target) {
            (None, None) => None,
            (a, b) => Some(a.unwrap_or(true) && b.unwrap_or(true)),
        }
    }

    /// What it misses, for a failure line: `ratio 1.234 > 1.10`, `15000 req/s < 20000`.
    pub fn shortfall(&self) -> String {
        let mut out = Vec::new();
        if let (Some(r), Some(g)) = (self.ratio(), self.goal)
            && r > g
        {
            out.push(format!("ratio {r:.3} > {g:.2}"));
        }
        match self.target {
            Some(Target::AtLeast(t)) if self.value < t => {
                out.push(format!(
                    "{} {} < {}",
                    number(self.value),
                    self.unit,
                    number(t)
                ));
            }
            Some(Target::AtMost(t)) if self.value > t => {
                out.push(format!(
                    "{} {} > {}",
                    number(self.value),
                    self.unit,
                    number(t)
                ));
            }
            _ => {}
        }
        out.join(", ")
    }
}

/// All figures of a run, and where it ran.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// The machine (CPU, cores, OS, rustc).
    pub machine: String,
    /// Whether this was the quick test-mode run.
    pub quick: bool,
    /// The figures.
    pub rows: Vec<Row>,
    /// Notes printed under the table.
    pub notes: Vec<String>,
}

fn number(v: f64) -> String {
    let a = v.abs();
    if a >= 1000.0 || v == v.trunc() {
        format!("{v:.0}")
    } else if a >= 100.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

impl Report {
    /// Rows that have a goal and miss it.
    pub fn failures(&self) -> Vec<&Row> {
        self.rows
            .iter()
            .filter(|r| r.pass() == Some(false))
            .collect()
    }

    /// The markdown table (by section), with the machine and the notes.
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        out.push_str(&format!("Machine: {}\n", self.machine));
        if self.quick {
            out.push_str("\n**Quick test-mode run: one iteration, small sizes; the figures mean nothing.**\n");
        }
        for (index, title) in SECTIONS.iter().enumerate() {
            let rows: Vec<&Row> = self.rows.iter().filter(|r| r.section == index).collect();
            if rows.is_empty() {
                continue;
            }
            out.push_str(&format!("\n### {title}\n\n"));
            out.push_str("| measurement | value | floor | ratio | goal | result | note |\n");
            out.push_str("| --- | ---: | ---: | ---: | ---: | --- | --- |\n");
            for r in rows {
                let floor = r
                    .floor
                    .map_or_else(String::new, |f| format!("{} {}", number(f), r.unit));
                let ratio = r.ratio().map_or_else(String::new, |x| format!("{x:.3}"));
                let goal = match (r.goal, r.target) {
                    (Some(g), _) => format!("≤ {g:.2}"),
                    (None, Some(Target::AtLeast(t))) => format!("≥ {} {}", number(t), r.unit),
                    (None, Some(Target::AtMost(t))) => format!("≤ {} {}", number(t), r.unit),
                    (None, None) => String::new(),
                };
                let result = match r.pass() {
                    Some(true) => "pass",
                    Some(false) => "**FAIL**",
                    None => "",
                };
                out.push_str(&format!(
                    "| {} | {} {} | {floor} | {ratio} | {goal} | {result} | {} |\n",
                    r.name,
                    number(r.value),
                    r.unit,
                    r.note
                ));
            }
        }
        if !self.notes.is_empty() {
            out.push('\n');
            for n in &self.notes {
                out.push_str(&format!("- {n}\n"));
            }
        }
        out
    }

    /// The same as JSON.
    pub fn json(&self) -> Value {
        let rows: Vec<Value> = self
            .rows
            .iter()
            .map(|r| {
                json!({
                    "section": SECTIONS.get(r.section).copied().unwrap_or_default(),
                    "name": r.name,
                    "value": r.value,
                    "unit": r.unit,
                    "floor": r.floor,
                    "ratio": r.ratio(),
                    "goal": r.goal,
                    "target": r.target.map(|t| match t {
                        Target::AtLeast(v) => json!({ "at_least": v }),
                        Target::AtMost(v) => json!({ "at_most": v }),
                    }),
                    "pass": r.pass(),
                    "note": r.note,
                })
            })
            .collect();
        json!({
            "machine": self.machine,
            "quick": self.quick,
            "rows": rows,
            "notes": self.notes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratio_and_goal() {
        let r = Row::new(0, "x", 110.0, "µs").floor(100.0).goal(1.10);
        assert_eq!(r.pass(), Some(true));
        let r = Row::new(0, "x", 120.0, "µs").floor(100.0).goal(1.10);
        assert_eq!(r.pass(), Some(false));
        assert_eq!(Row::new(0, "x", 1.0, "µs").pass(), None);
        let report = Report {
            rows: vec![r],
            ..Report::default()
        };
        assert!(report.markdown().contains("**FAIL**"));
        assert_eq!(report.json()["rows"][0]["pass"], false);
    }

    #[test]
    fn absolute_targets() {
        let fast = Row::new(5, "x", 25_000.0, "req/s").at_least(20_000.0);
        assert_eq!(fast.pass(), Some(true));
        let slow = Row::new(5, "x", 15_000.0, "req/s")
            .floor(60_000.0)
            .at_least(20_000.0);
        assert_eq!(slow.pass(), Some(false));
        assert_eq!(slow.shortfall(), "15000 req/s < 20000");
        assert_eq!(
            Row::new(5, "x", 60.0, "ms").at_most(50.0).pass(),
            Some(false)
        );
        let report = Report {
            rows: vec![slow],
            ..Report::default()
        };
        assert!(report.markdown().contains("≥ 20000 req/s"));
        assert_eq!(report.json()["rows"][0]["target"]["at_least"], 20_000.0);
    }
}
