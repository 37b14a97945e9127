//! The results: one row per figure, rendered as a markdown table and as JSON.

use serde_json::{Value, json};

/// The five sections of the run.
pub const SECTIONS: [&str; 5] = [
    "1. Overhead per call",
    "2. Dfns signed change",
    "3. SailPoint cold start under concurrency",
    "4. Large lists",
    "5. Build cost",
];

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

    /// Whether the ratio meets the goal (`None` without a goal).
    pub fn pass(&self) -> Option<bool> {
        Some(self.ratio()? <= self.goal?)
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
                let goal = r.goal.map_or_else(String::new, |g| format!("≤ {g:.2}"));
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
}
