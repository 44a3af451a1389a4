//! Where the lab's plot puts things: t (ms) across, probability (0 to 1)
//! up, inside an SVG box with margins for the axes' ticks and labels.

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
