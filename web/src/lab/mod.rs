//! The staleness lab's data path, apart from its panel
//! ([`crate::components::lab`]): the form a student fills in and its link
//! (this module), a run in slices between animation frames ([`run`]), and
//! the plot's geometry ([`plot`]). The trials and the PBS model are
//! `core::lab`'s.
//!
//! The form keeps what was typed; [`LabForm::config`] turns it into a
//! [`LabConfig`] or an error that starts with the field's name (`n: ...`,
//! `write: ...`), which the panel shows beside that field.

pub mod plot;
pub mod run;
#[cfg(test)]
mod tests;

use ringside_core::lab::LabConfig;
use ringside_core::sim::Latency;

/// The four legs of a trial, as `core::lab` and the PBS model's WARS name
/// them: (field and link key, where the message goes).
pub const LEGS: [(&str, &str); 4] = [
    ("write", "→ replica"),
    ("ack", "→ coordinator"),
    ("read", "→ replica"),
    ("reply", "→ coordinator"),
];

/// Points on the measured curve: `0, until/10, ..., until`.
pub const CURVE_POINTS: u64 = 10;
const MAX_TRIALS: usize = 200_000;
const MAX_LATENCY_MS: f64 = 10_000.0;

/// One leg's distribution as typed: exponential (`a` = the minimum, `b` =
/// the mean of the tail) or uniform (`a` = min, `b` = max), in ms.
#[derive(Clone, Debug, PartialEq)]
pub struct LegForm {
    pub exponential: bool,
    pub a: String,
    pub b: String,
}

/// The lab's settings as typed in the form.
#[derive(Clone, Debug, PartialEq)]
pub struct LabForm {
    pub n: String,
    pub r: String,
    pub w: String,
    /// In the order of [`LEGS`].
    pub legs: [LegForm; 4],
    pub rate: String,
    pub trials: String,
    /// The curve's last point, in ms after the acknowledgement.
    pub until: String,
    pub seed: String,
}

impl Default for LabForm {
    /// `core::lab`'s classroom settings, its curve up to 50 ms.
    fn default() -> LabForm {
        let mut c = LabConfig::classroom();
        c.ts_ms = curve_ts(50);
        LabForm::from_config(&c)
    }
}

fn ms(us: u64) -> String {
    format!("{}", us as f64 / 1000.0)
}

/// The curve's points for a last point `until` ms.
pub fn curve_ts(until: u64) -> Vec<u64> {
    (0..=CURVE_POINTS)
        .map(|i| until * i / CURVE_POINTS)
        .collect()
}

impl LabForm {
    pub fn from_config(c: &LabConfig) -> LabForm {
        let leg = |l: Latency| match l {
            Latency::Exponential { min_us, mean_us } => LegForm {
                exponential: true,
                a: ms(min_us),
                b: ms(mean_us),
            },
            Latency::Uniform { min_us, max_us } => LegForm {
                exponential: false,
                a: ms(min_us),
                b: ms(max_us),
            },
        };
        LabForm {
            n: c.n.to_string(),
            r: c.r.to_string(),
            w: c.w.to_string(),
            legs: [c.write, c.ack, c.read, c.response].map(leg),
            rate: c.writes_per_s.to_string(),
            trials: c.trials.to_string(),
            until: c.ts_ms.last().copied().unwrap_or(0).to_string(),
            seed: c.seed.to_string(),
        }
    }

    /// The settings, checked; an error names its field first.
    pub fn config(&self) -> Result<LabConfig, String> {
        let int = |field: &str, text: &str| -> Result<u64, String> {
            text.trim()
                .parse::<u64>()
                .map_err(|_| format!("{field}: {text:?} is not a whole number"))
        };
        let until = int("until", &self.until)?;
        if !(10..=60_000).contains(&until) {
            return Err(format!("until: 10 to 60000 ms, got {until}"));
        }
        // Saturated, not wrapped (the page's usize is 32 bits): the checks
        // below refuse a number too large by name.
        let count = |field: &str, text: &str| {
            int(field, text).map(|v| usize::try_from(v).unwrap_or(usize::MAX))
        };
        let trials = count("trials", &self.trials)?;
        if !(1..=MAX_TRIALS).contains(&trials) {
            return Err(format!(
                "trials: 1 to {MAX_TRIALS}, got {}",
                self.trials.trim()
            ));
        }
        let mut legs = Vec::with_capacity(LEGS.len());
        for ((field, _), leg) in LEGS.iter().zip(&self.legs) {
            legs.push(leg.latency().map_err(|e| format!("{field}: {e}"))?);
        }
        let rate: f64 = self
            .rate
            .trim()
            .parse()
            .map_err(|_| format!("rate: {:?} is not a number", self.rate))?;
        let config = LabConfig {
            n: count("n", &self.n)?,
            r: count("r", &self.r)?,
            w: count("w", &self.w)?,
            write: legs[0],
            ack: legs[1],
            read: legs[2],
            response: legs[3],
            writes_per_s: rate,
            ts_ms: curve_ts(until),
            trials,
            seed: int("seed", &self.seed)?,
            read_repair: false,
        };
        // core::lab names its own fields; the form calls the rate `rate`.
        config
            .validate()
            .map_err(|e| e.replacen("writes_per_s:", "rate:", 1))?;
        Ok(config)
    }

    /// The form a link's parameters ask for (`n=3&r=1&...`): the
    /// defaults for what the link leaves out, an error for what it gets
    /// wrong (nothing of a bad link is applied). Other parameters (the
    /// cluster's) are not the lab's business.
    pub fn from_params(params: &[(String, String)]) -> Result<LabForm, String> {
        let mut f = LabForm::default();
        for (k, v) in params {
            let v = v.clone();
            match k.as_str() {
                "n" => f.n = v,
                "r" => f.r = v,
                "w" => f.w = v,
                "rate" => f.rate = v,
                "trials" => f.trials = v,
                "until" => f.until = v,
                "labseed" => f.seed = v,
                _ => {
                    let Some(i) = LEGS.iter().position(|(key, _)| key == k) else {
                        continue;
                    };
                    f.legs[i] = LegForm::from_link(&v).map_err(|e| format!("{k}: {e}"))?;
                }
            }
        }
        f.config()
            .map_err(|e| format!("the link's lab settings: {e}"))?;
        Ok(f)
    }
}

impl LegForm {
    fn latency(&self) -> Result<Latency, String> {
        let num = |what: &str, text: &str| -> Result<u64, String> {
            let x: f64 = text
                .trim()
                .parse()
                .map_err(|_| format!("{what} {text:?} is not a number of ms"))?;
            if !(0.0..=MAX_LATENCY_MS).contains(&x) {
                return Err(format!("{what} must be 0 to {MAX_LATENCY_MS} ms, got {x}"));
            }
            Ok((x * 1000.0).round() as u64)
        };
        let min_us = num("the minimum", &self.a)?;
        if self.exponential {
            let mean_us = num("the mean", &self.b)?;
            Ok(Latency::Exponential { min_us, mean_us })
        } else {
            let max_us = num("the maximum", &self.b)?;
            if max_us < min_us {
                return Err("the maximum is below the minimum".into());
            }
            Ok(Latency::Uniform { min_us, max_us })
        }
    }

    /// `exp,0.2,10` or `uniform,1,5` (ms).
    fn from_link(text: &str) -> Result<LegForm, String> {
        let parts: Vec<&str> = text.split(',').collect();
        let [dist, a, b] = parts[..] else {
            return Err(format!(
                "{text:?} is not `exp,MIN,MEAN` or `uniform,MIN,MAX` (ms)"
            ));
        };
        let exponential = match dist {
            "exp" => true,
            "uniform" => false,
            _ => return Err(format!("{dist:?} is not `exp` or `uniform`")),
        };
        Ok(LegForm {
            exponential,
            a: a.to_string(),
            b: b.to_string(),
        })
    }
}

fn leg_link(l: Latency) -> String {
    match l {
        Latency::Exponential { min_us, mean_us } => format!("exp,{},{}", ms(min_us), ms(mean_us)),
        Latency::Uniform { min_us, max_us } => format!("uniform,{},{}", ms(min_us), ms(max_us)),
    }
}

/// The page's fragment for a lab with these settings (without `#`):
/// [`LabForm::from_params`] reads it back.
pub fn link(c: &LabConfig) -> String {
    let mut s = format!("lab&n={}&r={}&w={}", c.n, c.r, c.w);
    for ((key, _), l) in LEGS.iter().zip([c.write, c.ack, c.read, c.response]) {
        s.push_str(&format!("&{key}={}", leg_link(l)));
    }
    s.push_str(&format!(
        "&rate={}&trials={}&until={}&labseed={}",
        c.writes_per_s,
        c.trials,
        c.ts_ms.last().copied().unwrap_or(0),
        c.seed
    ));
    s
}
