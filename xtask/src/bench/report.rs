//! The report `cargo xtask bench` prints: rows with a value, a target and
//! their raw figures, then notes.

#[derive(Default)]
pub struct Report {
    rows: Vec<(String, f64, &'static str, String)>,
    notes: Vec<String>,
}

impl Report {
    pub fn row(&mut self, what: String, value: f64, target: &'static str, raw: String) {
        self.rows.push((what, value, target, raw));
    }

    pub fn note(&mut self, n: String) {
        self.notes.push(n);
    }

    /// A row whose value is the median over `rounds` of `of(round)`'s
    /// value; its raw figures are the median round's, then every round's
    /// value. Returns the median round's index and every round's value.
    pub fn median_row<T>(
        &mut self,
        what: String,
        target: &'static str,
        rounds: &[T],
        of: impl Fn(&T) -> (f64, String),
    ) -> (usize, Vec<f64>) {
        let all: Vec<(f64, String)> = rounds.iter().map(of).collect();
        let values: Vec<f64> = all.iter().map(|a| a.0).collect();
        let m = median_index(&values);
        let raw = if all.len() == 1 {
            all[m].1.clone()
        } else {
            let each: Vec<String> = values.iter().map(|&v| figure(v)).collect();
            format!(
                "median round: {}; each round: {}",
                all[m].1,
                each.join(", ")
            )
        };
        self.row(what, values[m], target, raw);
        (m, values)
    }

    /// A row for how far `values`' rounds stray from their median: the
    /// largest |round ÷ median − 1|.
    pub fn spread_row(&mut self, what: String, target: &'static str, values: &[f64]) {
        let m = values[median_index(values)];
        let (lo, hi) = values
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
                (lo.min(*v), hi.max(*v))
            });
        let raw = if values.len() < 2 {
            "one round: no spread to measure (--rounds 3 or more)".to_string()
        } else {
            format!(
                "{} rounds from {lo:.3} to {hi:.3}, median {m:.3}",
                values.len()
            )
        };
        self.row(what, spread(values), target, raw);
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        let w = self
            .rows
            .iter()
            .map(|r| r.0.chars().count())
            .max()
            .unwrap_or(0);
        for (what, value, target, raw) in &self.rows {
            let v = if value.abs() >= 1000.0 {
                format!("{value:.0}")
            } else {
                format!("{value:.3}")
            };
            let pad = w - what.chars().count();
            out.push_str(&format!(
                "{what}{}  {v:>10}  (target {target})  [{raw}]\n",
                " ".repeat(pad)
            ));
        }
        for n in &self.notes {
            out.push_str(&format!("  {n}\n"));
        }
        out
    }
}

/// The index of the median of `values` (of the lower middle one for an
/// even count; NaN sorts last).
/// A round's value as a row lists it: three decimals for a ratio or a
/// time, none for a count per second.
fn figure(v: f64) -> String {
    if v.abs() >= 10_000.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.3}")
    }
}

pub fn median_index(values: &[f64]) -> usize {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    order[values.len().saturating_sub(1) / 2]
}

/// The largest |v ÷ median − 1| over `values` (NaN when the median is
/// not a positive number).
pub fn spread(values: &[f64]) -> f64 {
    let m = values[median_index(values)];
    if m.is_nan() || m <= 0.0 {
        return f64::NAN;
    }
    values
        .iter()
        .map(|v| (v / m - 1.0).abs())
        .fold(0.0, f64::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_round_is_the_middle_one_by_value() {
        assert_eq!(median_index(&[4.0]), 0);
        assert_eq!(median_index(&[5.1, 4.0, 4.9]), 2);
        assert_eq!(median_index(&[3.0, 1.0, 2.0, 9.0, 4.0]), 0);
        // An even count: the lower middle one.
        assert_eq!(median_index(&[2.0, 1.0, 4.0, 3.0]), 0);
        // A ratio that could not be taken (NaN) sorts last.
        assert_eq!(median_index(&[f64::NAN, 1.0, 2.0]), 2);
    }

    #[test]
    fn the_spread_is_the_farthest_round_from_the_median() {
        assert_eq!(spread(&[1.0]), 0.0);
        let s = spread(&[0.8, 1.0, 1.1]);
        assert!((s - 0.2).abs() < 1e-9, "{s}");
        let s = spread(&[2.0, 1.0, 0.9]);
        assert!((s - 1.0).abs() < 1e-9, "{s}");
        assert!(spread(&[0.0, 0.0, 1.0]).is_nan());
    }
}
