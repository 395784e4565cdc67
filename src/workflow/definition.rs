//! Workflow definitions: the serde shape of `workflows/*.toml`, and loading a folder of them into
//! validated [`Definition`]s. Loading reports every problem of every file, each with its file
//! name, instead of stopping at the first.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::names::{AlipayPlusVerdict, EffectName, EventName, PublicStatus};
use super::validate::validate;

/// One workflow file, as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DefinitionFile {
    pub kind: String,
    pub version: u32,
    #[serde(default)]
    pub description: String,
    /// Where a new instance starts, and the effects its creation schedules.
    pub start: StartSpec,
    pub states: BTreeMap<String, StateSpec>,
    #[serde(default)]
    pub transitions: Vec<TransitionSpec>,
    /// The retry policy of every effect without its own entry in `effects`.
    pub retry: RetrySpec,
    /// Per-effect retry policies, and what turns an effect off.
    #[serde(default)]
    pub effects: BTreeMap<EffectName, RetrySpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartSpec {
    pub to: String,
    #[serde(default)]
    pub effects: Vec<EffectName>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateSpec {
    pub status: PublicStatus,
    #[serde(default)]
    pub terminal: bool,
    pub timer: Option<TimerSpec>,
    /// Events accepted here without effect (duplicates, late arrivals): recorded as IGNORED.
    #[serde(default)]
    pub ignore: Vec<EventName>,
    /// Entering this state parks the instance for an operator with this reason (a deadline
    /// missed): needs-attention set in the transition's own write.
    pub attention: Option<String>,
    /// Terminal states only: an operator may force an instance here only with an Alipay+ answer
    /// (askAlipayPlus, asked after its last call to Alipay+ ended) that is one of these.
    #[serde(default)]
    pub force_needs_answer: Vec<AlipayPlusVerdict>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimerSpec {
    /// A duration such as `"10m"` or `"1h 30m"` after the state is entered...
    pub after: Option<String>,
    /// ...or the instance data key holding the RFC 3339 time it fires at (a business deadline).
    pub at: Option<String>,
    pub on_timeout: EventName,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransitionSpec {
    pub from: OneOrMany,
    pub on: EventName,
    pub to: String,
    #[serde(default)]
    pub effects: Vec<EffectName>,
}

/// `from = "a"` or `from = ["a", "b"]`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    pub fn states(&self) -> Vec<&str> {
        match self {
            OneOrMany::One(state) => vec![state.as_str()],
            OneOrMany::Many(states) => states.iter().map(String::as_str).collect(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetrySpec {
    /// Executions in all, the first included.
    pub attempts: u32,
    /// Delay before the second execution; doubled each time after that.
    pub backoff: String,
    /// Longest delay between two executions.
    pub cap: String,
    /// Wait before the first execution (e.g. polling, which is pointless at once).
    #[serde(default)]
    pub first_after: Option<String>,
    /// Under `[effects.<name>]` only: the key of the instance data that turns this effect off
    /// when it is `false` (set when the instance is created: a merchant without a webhook URL
    /// has nobody to notify). Absent from the data, the effect is scheduled.
    #[serde(default)]
    pub enabled_by: Option<String>,
}

/// How often, and how far apart, an effect is executed before its instance is parked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub backoff: Duration,
    pub cap: Duration,
    /// Delay of the first execution after it is scheduled.
    pub first_after: Duration,
}

impl RetryPolicy {
    /// For a row that could not be delivered or recorded (see the runner): a few tries seconds
    /// apart, in case a concurrent change was the cause, then parked.
    pub const POISON: RetryPolicy = RetryPolicy {
        attempts: 5,
        backoff: Duration::from_millis(500),
        cap: Duration::from_secs(5),
        first_after: Duration::ZERO,
    };

    /// Delay before the next execution after `failures` failed ones (1 = the first failed).
    pub fn delay_after(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(30);
        self.backoff.saturating_mul(1 << doublings).min(self.cap)
    }

    /// [`RetryPolicy::delay_after`] less up to a quarter, by `fraction` (0..1, drawn at random by
    /// the caller), so executions that failed together are not all retried at the same instant.
    pub fn delay_with_jitter(&self, failures: u32, fraction: f64) -> Duration {
        let delay = self.delay_after(failures);
        delay.saturating_sub(delay.mul_f64(fraction.clamp(0.0, 1.0) / 4.0))
    }
}

/// A timer armed when a state is entered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timer {
    pub due: TimerDue,
    pub on_timeout: EventName,
}

/// When a timer fires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimerDue {
    /// This long after the state is entered.
    After(Duration),
    /// At the RFC 3339 time in this instance data key; at once if the key holds none (a
    /// deadline that cannot be read is treated as reached, never as far away).
    At(String),
}

/// A validated state.
#[derive(Debug, Clone)]
pub struct State {
    pub name: String,
    pub status: PublicStatus,
    pub terminal: bool,
    pub timer: Option<Timer>,
    pub ignore: HashSet<EventName>,
    /// Why entering it parks the instance (see `StateSpec::attention`).
    pub attention: Option<String>,
    /// The Alipay+ answers that let an operator force an instance here (see
    /// `StateSpec::force_needs_answer`); empty: no answer is asked for.
    pub force_needs_answer: Vec<AlipayPlusVerdict>,
}

/// Where a transition (or the start) goes and what it schedules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub to: String,
    pub effects: Vec<EffectName>,
}

/// A validated workflow definition: what [`super::apply`] decides with.
#[derive(Debug, Clone)]
pub struct Definition {
    pub kind: String,
    pub version: u32,
    pub description: String,
    pub start: Step,
    pub states: HashMap<String, State>,
    pub transitions: HashMap<(String, EventName), Step>,
    pub default_retry: RetryPolicy,
    pub retry: HashMap<EffectName, RetryPolicy>,
    /// Effects an instance's data can turn off, with the data key that does (`enabled_by` under
    /// `[effects.<name>]`).
    pub enabled_by: HashMap<EffectName, String>,
    /// Transitions in file order, for rendering.
    pub ordered_transitions: Vec<(String, EventName, Step)>,
}

impl Definition {
    pub fn state(&self, name: &str) -> Option<&State> {
        self.states.get(name)
    }

    /// Every state's name, sorted.
    pub fn state_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.states.keys().cloned().collect();
        names.sort();
        names
    }

    pub fn retry_policy(&self, effect: EffectName) -> RetryPolicy {
        self.retry.get(&effect).copied().unwrap_or(self.default_retry)
    }

    /// Whether `effect` is scheduled for an instance with `data`: unless its `enabled_by` key
    /// is `false` there.
    pub fn enabled_for(&self, effect: EffectName, data: &serde_json::Value) -> bool {
        self.enabled_by
            .get(&effect)
            .is_none_or(|key| data.get(key) != Some(&serde_json::Value::Bool(false)))
    }
}

/// A problem found in one workflow file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: PathBuf,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.file.display(), self.message)
    }
}

/// Every loaded definition, by kind and version.
#[derive(Debug, Clone, Default)]
pub struct Definitions {
    by_kind: HashMap<String, BTreeMap<u32, Definition>>,
}

impl Definitions {
    pub fn get(&self, kind: &str, version: u32) -> Option<&Definition> {
        self.by_kind.get(kind)?.get(&version)
    }

    /// The newest version of a kind: what new instances start on.
    pub fn current(&self, kind: &str) -> Option<&Definition> {
        self.by_kind.get(kind)?.values().next_back()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Definition> {
        self.by_kind.values().flat_map(BTreeMap::values)
    }

    pub fn insert(&mut self, definition: Definition) {
        self.by_kind
            .entry(definition.kind.clone())
            .or_default()
            .insert(definition.version, definition);
    }
}

/// Parses and validates one workflow file's text.
pub fn parse(file: &Path, text: &str) -> Result<Definition, Vec<Problem>> {
    let problem = |message: String| Problem {
        file: file.to_path_buf(),
        message,
    };
    let spec: DefinitionFile = toml::from_str(text).map_err(|e| vec![problem(one_line(&e))])?;
    validate(spec).map_err(|messages| messages.into_iter().map(problem).collect())
}

/// The workflow files shipped with plusflow, built into the binary: an installed binary runs
/// anywhere, and a configured folder overrides them.
const BUILT_IN: [(&str, &str); 6] = [
    (
        "engine_probe.toml",
        include_str!("../../workflows/engine_probe.toml"),
    ),
    ("payment.toml", include_str!("../../workflows/payment.toml")),
    ("refund.toml", include_str!("../../workflows/refund.toml")),
    ("dispute.toml", include_str!("../../workflows/dispute.toml")),
    (
        "customs_declaration.toml",
        include_str!("../../workflows/customs_declaration.toml"),
    ),
    (
        "registration.toml",
        include_str!("../../workflows/registration.toml"),
    ),
];

/// The shipped definitions (see [`BUILT_IN`]), validated like a folder's.
pub fn load_built_in() -> Result<Definitions, Vec<Problem>> {
    let files = BUILT_IN
        .iter()
        .map(|(name, text)| (Path::new("built-in").join(name), Ok(text.to_string())))
        .collect();
    load_files(files)
}

/// The definitions of `dir`, or the built-in ones when `dir` is empty.
pub fn load(dir: &Path) -> Result<Definitions, Vec<Problem>> {
    if dir.as_os_str().is_empty() {
        load_built_in()
    } else {
        load_dir(dir)
    }
}

/// Loads every `*.toml` of a folder; all problems of all files, or all definitions.
pub fn load_dir(dir: &Path) -> Result<Definitions, Vec<Problem>> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        vec![Problem {
            file: dir.to_path_buf(),
            message: format!("cannot read the workflow folder: {e}"),
        }]
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(vec![Problem {
            file: dir.to_path_buf(),
            message: "no workflow files (*.toml)".into(),
        }]);
    }
    let files = files
        .into_iter()
        .map(|file| {
            let text = std::fs::read_to_string(&file).map_err(|e| format!("cannot read: {e}"));
            (file, text)
        })
        .collect();
    load_files(files)
}

/// Parses and validates each file's text (or reports why it could not be read); all problems
/// of all files, or all definitions.
fn load_files(files: Vec<(PathBuf, Result<String, String>)>) -> Result<Definitions, Vec<Problem>> {
    let mut definitions = Definitions::default();
    let mut problems = Vec::new();
    let mut seen: HashMap<(String, u32), PathBuf> = HashMap::new();
    for (file, text) in files {
        let text = match text {
            Ok(text) => text,
            Err(message) => {
                problems.push(Problem { file, message });
                continue;
            }
        };
        match parse(&file, &text) {
            Ok(definition) => {
                let key = (definition.kind.clone(), definition.version);
                if let Some(other) = seen.insert(key, file.clone()) {
                    problems.push(Problem {
                        file,
                        message: format!(
                            "kind '{}' version {} is also defined in {}",
                            definition.kind,
                            definition.version,
                            other.display()
                        ),
                    });
                } else {
                    definitions.insert(definition);
                }
            }
            Err(found) => problems.extend(found),
        }
    }
    if problems.is_empty() {
        Ok(definitions)
    } else {
        Err(problems)
    }
}

/// toml's errors span several lines with a source excerpt; keep the message on one line.
fn one_line(error: &toml::de::Error) -> String {
    let mut message = error.message().to_string();
    if let Some(span) = error.span() {
        message = format!("at byte {}..{}: {message}", span.start, span.end);
    }
    let rendered = error.to_string();
    match rendered.lines().next() {
        Some(first) if first.contains("line") => {
            format!("{} {}", first.trim_end_matches(':'), error.message())
        }
        _ => message,
    }
}

/// Parses a duration written like `"10m"`, `"1h 30m"` or `"250ms"`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text).map_err(|e| format!("'{text}' is not a duration ({e})"))
}
