//! The lesson file's shape: the TOML document read into the types below,
//! each part keeping its place in the text so that an error names its
//! line.
//!
//! The document is parsed into toml's spanned tree and walked here; the
//! small inline parts (an action, an expectation, a wait) are deserialized
//! from a `serde_json::Value` made from their subtree. The page already
//! carries serde_json's `Value` deserializer (for a live cluster's events
//! and its share links); toml's own serde deserializer, instantiated for
//! every type of the file, was one of the largest parts of the page's wasm.

use super::{line_of, LessonCluster, LessonError};
use crate::types::NodeId;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;
use std::ops::Range;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

pub(super) struct FileLesson {
    pub id: String,
    pub title: String,
    pub cluster: Option<Spanned<LessonCluster>>,
    pub steps: Vec<Spanned<FileStep>>,
}

pub(super) struct FileStep {
    pub say: String,
    pub actions: Vec<Spanned<FileAction>>,
    pub wait: Option<Spanned<FileWait>>,
    pub expect: Vec<Spanned<FileExpect>>,
    pub predict: Option<Spanned<FilePredict>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub(super) enum FileWait {
    Answered,
    Ms(u64),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub(super) enum FileAction {
    Put {
        node: NodeId,
        key: u8,
        value: String,
        cl: String,
    },
    Get {
        node: NodeId,
        key: u8,
        cl: String,
    },
    Delete {
        node: NodeId,
        key: u8,
        cl: String,
    },
    Crash(NodeId),
    Restart(NodeId),
    Cut([NodeId; 2]),
    Heal([NodeId; 2]),
    HealAll,
    Skew {
        node: NodeId,
        ms: i64,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub(super) enum FileExpect {
    Value {
        node: NodeId,
        key: u8,
        #[serde(default)]
        is: Option<String>,
    },
    Hints {
        holder: NodeId,
        target: NodeId,
        count: usize,
    },
    Outcome(String),
    Read {
        #[serde(default)]
        value: Option<String>,
    },
}

pub(super) struct FilePredict {
    pub question: String,
    pub choices: Vec<String>,
    pub answer: String,
    pub why: String,
}

/// Reads the file's shape; the checks of what it says are the caller's.
pub(super) fn read(text: &str) -> Result<FileLesson, LessonError> {
    let doc = DeTable::parse(text).map_err(|e| LessonError {
        line: e.span().map_or(0, |s| line_of(text, s.start)),
        reason: e.message().trim().to_string(),
    })?;
    let top = Fields::new(
        text,
        doc.get_ref(),
        doc.span(),
        &["id", "title", "cluster", "step"],
    )?;
    let cluster = match top.get("cluster") {
        None => None,
        Some(c) => {
            let f = Fields::of(text, c, &["nodes", "rf", "seed"])?;
            let d = LessonCluster::default();
            let cluster = LessonCluster {
                nodes: f.optional("nodes")?.unwrap_or(d.nodes),
                rf: f.optional("rf")?.unwrap_or(d.rf),
                seed: f.optional("seed")?.unwrap_or(d.seed),
            };
            Some(Spanned::new(c.span(), cluster))
        }
    };
    let mut steps = Vec::new();
    for s in top.array("step", "an array of [[step]] tables")? {
        let f = Fields::of(text, s, &["say", "actions", "wait", "expect", "predict"])?;
        let predict = match f.get("predict") {
            None => None,
            Some(p) => {
                let f = Fields::of(text, p, &["question", "choices", "answer", "why"])?;
                let predict = FilePredict {
                    question: f.required("question")?,
                    choices: f.required("choices")?,
                    answer: f.required("answer")?,
                    why: f.required("why")?,
                };
                Some(Spanned::new(p.span(), predict))
            }
        };
        let step = FileStep {
            say: f.required("say")?,
            actions: f.list("actions")?,
            wait: match f.get("wait") {
                None => None,
                Some(w) => Some(Spanned::new(w.span(), value(text, w)?)),
            },
            expect: f.list("expect")?,
            predict,
        };
        steps.push(Spanned::new(s.span(), step));
    }
    Ok(FileLesson {
        id: top.required("id")?,
        title: top.required("title")?,
        cluster,
        steps,
    })
}

/// A table of the file, its names checked against the known ones.
struct Fields<'a, 'i> {
    text: &'a str,
    table: &'a DeTable<'i>,
    span: Range<usize>,
}

impl<'a, 'i> Fields<'a, 'i> {
    /// Refuses the first name (in the text's order) not in `known`.
    fn new(
        text: &'a str,
        table: &'a DeTable<'i>,
        span: Range<usize>,
        known: &[&str],
    ) -> Result<Self, LessonError> {
        let unknown = table
            .keys()
            .filter(|k| !known.contains(&k.get_ref().as_ref()))
            .min_by_key(|k| k.span().start);
        if let Some(k) = unknown {
            let expected: Vec<String> = known.iter().map(|n| format!("`{n}`")).collect();
            return Err(LessonError {
                line: line_of(text, k.span().start),
                reason: format!(
                    "unknown field `{}`, expected one of {}",
                    k.get_ref(),
                    expected.join(", ")
                ),
            });
        }
        Ok(Fields { text, table, span })
    }

    /// `value` as a table with the `known` names.
    fn of(
        text: &'a str,
        value: &'a Spanned<DeValue<'i>>,
        known: &[&str],
    ) -> Result<Self, LessonError> {
        match value.get_ref() {
            DeValue::Table(t) => Fields::new(text, t, value.span(), known),
            other => Err(at(
                text,
                value.span(),
                format!("invalid type: {}, expected a table", other.type_str()),
            )),
        }
    }

    fn get(&self, name: &str) -> Option<&'a Spanned<DeValue<'i>>> {
        self.table
            .iter()
            .find(|(k, _)| k.get_ref() == name)
            .map(|(_, v)| v)
    }

    fn optional<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>, LessonError> {
        self.get(name).map(|v| value(self.text, v)).transpose()
    }

    fn required<T: DeserializeOwned>(&self, name: &str) -> Result<T, LessonError> {
        self.optional(name)?.ok_or_else(|| {
            at(
                self.text,
                self.span.clone(),
                format!("missing field `{name}`"),
            )
        })
    }

    /// The array `name` (empty when absent), each item with its place.
    fn array(&self, name: &str, expected: &str) -> Result<&'a [Spanned<DeValue<'i>>], LessonError> {
        match self.get(name).map(|v| (v, v.get_ref())) {
            None => Ok(&[]),
            Some((_, DeValue::Array(items))) => Ok(items),
            Some((v, other)) => Err(at(
                self.text,
                v.span(),
                format!(
                    "{name}: invalid type: {}, expected {expected}",
                    other.type_str()
                ),
            )),
        }
    }

    /// The array `name` (empty when absent), each item read as a `T`.
    fn list<T: DeserializeOwned>(&self, name: &str) -> Result<Vec<Spanned<T>>, LessonError> {
        self.array(name, "an array")?
            .iter()
            .map(|v| Ok(Spanned::new(v.span(), value(self.text, v)?)))
            .collect()
    }
}

fn at(text: &str, span: Range<usize>, reason: String) -> LessonError {
    LessonError {
        line: line_of(text, span.start),
        reason,
    }
}

/// One value of the file read as a `T`; an error names the value's line.
fn value<T: DeserializeOwned>(text: &str, v: &Spanned<DeValue<'_>>) -> Result<T, LessonError> {
    serde_json::from_value(json(text, v)?).map_err(|e| at(text, v.span(), e.to_string()))
}

/// A TOML value as JSON. TOML's date-times have no use in a lesson and
/// are refused rather than turned into strings.
fn json(text: &str, v: &Spanned<DeValue<'_>>) -> Result<Value, LessonError> {
    Ok(match v.get_ref() {
        DeValue::String(s) => Value::String(s.to_string()),
        DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix())
            .map(Value::from)
            .map_err(|_| at(text, v.span(), format!("integer {i} is out of range")))?,
        DeValue::Float(f) => f
            .as_str()
            .parse()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| at(text, v.span(), format!("{f}: expected a finite number")))?,
        DeValue::Boolean(b) => Value::Bool(*b),
        DeValue::Datetime(d) => {
            return Err(at(
                text,
                v.span(),
                format!("invalid type: date-time {d}, a lesson has no dates"),
            ))
        }
        DeValue::Array(items) => Value::Array(
            items
                .iter()
                .map(|x| json(text, x))
                .collect::<Result<_, _>>()?,
        ),
        DeValue::Table(t) => Value::Object(
            t.iter()
                .map(|(k, x)| Ok((k.get_ref().to_string(), json(text, x)?)))
                .collect::<Result<_, _>>()?,
        ),
    })
}
