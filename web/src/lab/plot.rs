//! The lab's plot: t (ms) across, probability (0 to 1) up, inside an SVG
//! box with margins for the axes' ticks and labels. It is drawn as SVG
//! text (numbers and fixed words only, nothing typed by a person): one
//! string is much less page code than an element tree built per node.

use std::fmt::Write;

/// The SVG's size (its `viewBox`; the page scales it) and margins.
pub const WIDTH: f64 = 640.0;
pub const HEIGHT: f64 = 330.0;
pub const LEFT: f64 = 64.0;
pub const RIGHT: f64 = 16.0;
pub const TOP: f64 = 14.0;
pub const BOTTOM: f64 = 50.0;

/// The plot of a curve up to `until_ms`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Plot {
    pub until_ms: f64,
}

impl Plot {
    pub fn new(until_ms: f64) -> Plot {
        Plot {
            until_ms: until_ms.max(1.0),
        }
    }

    /// x for `t_ms`, clamped to the plot area.
    pub fn x(&self, t_ms: f64) -> f64 {
        let f = (t_ms / self.until_ms).clamp(0.0, 1.0);
        LEFT + f * (WIDTH - LEFT - RIGHT)
    }

    /// y for a probability, clamped to the plot area (1 at the top).
    pub fn y(&self, p: f64) -> f64 {
        let p = if p.is_finite() {
            p.clamp(0.0, 1.0)
        } else {
            0.0
        };
        HEIGHT - BOTTOM - p * (HEIGHT - TOP - BOTTOM)
    }

    /// The SVG points of a curve of (t ms, probability).
    pub fn points(&self, curve: &[(f64, f64)]) -> Vec<(f64, f64)> {
        curve.iter().map(|&(t, p)| (self.x(t), self.y(p))).collect()
    }

    /// A polyline's `points` attribute.
    pub fn polyline(&self, curve: &[(f64, f64)]) -> String {
        self.points(curve)
            .iter()
            .map(|(x, y)| format!("{x:.1},{y:.1}"))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Round tick values for the t axis: steps of 1, 2 or 5 times a
    /// power of ten, at most 6 intervals.
    pub fn t_ticks(&self) -> Vec<f64> {
        let mut step = 10f64.powf((self.until_ms / 6.0).log10().floor());
        for m in [1.0, 2.0, 5.0, 10.0] {
            if self.until_ms / (step * m) <= 6.0 {
                step *= m;
                break;
            }
        }
        let count = (self.until_ms / step + 1e-9).floor() as usize;
        (0..=count).map(|i| i as f64 * step).collect()
    }
}

/// A measured point: t (ms), the share of fresh reads, fresh and all reads.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Measured {
    pub t_ms: f64,
    pub p: f64,
    pub fresh: usize,
    pub reads: usize,
}

impl Plot {
    /// The whole SVG: grid, ticks, axis titles, the measured curve (with
    /// two standard errors either side of each point), the model's curve
    /// over it (its dashes show where the two agree), and the legend.
    pub fn svg(&self, measured: &[Measured], model: &[(f64, f64)]) -> String {
        let (x0, x1, y0, y1) = (LEFT, WIDTH - RIGHT, TOP, HEIGHT - BOTTOM);
        let mut s = format!(
            "<svg viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\" data-testid=\"lab-plot\" \
             aria-label=\"the chance that a read returns the write, against the time since the write\">\
             <rect class=\"area\" x=\"{x0}\" y=\"{y0}\" width=\"{}\" height=\"{}\"/>",
            x1 - x0,
            y1 - y0
        );
        for v in [0.0, 0.25, 0.5, 0.75, 1.0] {
            let y = self.y(v);
            let _ = write!(
                s,
                "<g class=\"tick\"><line x1=\"{x0}\" x2=\"{x1}\" y1=\"{y}\" y2=\"{y}\"/>\
                 <text x=\"{}\" y=\"{}\" text-anchor=\"end\">{:.0}%</text></g>",
                x0 - 6.0,
                y + 4.0,
                v * 100.0
            );
        }
        for t in self.t_ticks() {
            let _ = write!(
                s,
                "<text class=\"tick\" x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{t}</text>",
                self.x(t),
                y1 + 17.0
            );
        }
        let _ = write!(
            s,
            "<text class=\"axis\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">t: ms between the write's \
             acknowledgement and the read</text><text class=\"axis\" transform=\"translate(16 {}) \
             rotate(-90)\" text-anchor=\"middle\">reads that return the write</text>",
            (x0 + x1) / 2.0,
            HEIGHT - 8.0,
            (y0 + y1) / 2.0
        );
        let line: Vec<(f64, f64)> = measured.iter().map(|m| (m.t_ms, m.p)).collect();
        let _ = write!(
            s,
            "<polyline class=\"measured\" data-testid=\"lab-measured\" points=\"{}\"/>",
            self.polyline(&line)
        );
        for m in measured {
            let se = 2.0 * (m.p * (1.0 - m.p) / m.reads.max(1) as f64).sqrt();
            let x = self.x(m.t_ms);
            let _ = write!(
                s,
                "<g class=\"dot\"><line x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{:.1}\" y2=\"{:.1}\"/>\
                 <circle cx=\"{x:.1}\" cy=\"{:.1}\" r=\"4\"><title>t = {} ms: {} of {} reads returned \
                 the write ({:.0}%)</title></circle></g>",
                self.y(m.p - se),
                self.y(m.p + se),
                self.y(m.p),
                m.t_ms,
                m.fresh,
                m.reads,
                m.p * 100.0
            );
        }
        let (lx, ly) = (x1 - 250.0, y1 - 50.0);
        let _ = write!(
            s,
            "<polyline class=\"model\" data-testid=\"lab-model\" points=\"{}\"/>\
             <g class=\"legend\"><rect x=\"{lx}\" y=\"{ly}\" width=\"240\" height=\"42\"/>\
             <line class=\"measured\" x1=\"{}\" x2=\"{}\" y1=\"{}\" y2=\"{}\"/>\
             <text x=\"{}\" y=\"{}\">measured in the simulator</text>\
             <line class=\"model\" x1=\"{}\" x2=\"{}\" y1=\"{}\" y2=\"{}\"/>\
             <text x=\"{}\" y=\"{}\">PBS model (WARS)</text></g></svg>",
            self.polyline(model),
            lx + 8.0,
            lx + 40.0,
            ly + 14.0,
            ly + 14.0,
            lx + 48.0,
            ly + 18.0,
            lx + 8.0,
            lx + 40.0,
            ly + 31.0,
            ly + 31.0,
            lx + 48.0,
            ly + 35.0
        );
        s
    }
}
