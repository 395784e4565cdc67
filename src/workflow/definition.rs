//! Workflow definitions: the serde shape of `workflows/*.toml` ([`DefinitionFile`]) and the
//! validated [`Definition`] the engine decides with (loading them is `super::load`).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::names::{AlipayPlusVerdict, EffectName, EventName};

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
    /// The public status an instance shows here, a name of its kind's vocabulary in capitals
    /// (e.g. `SUCCEEDED`, `NEEDS_RESPONSE`): required; the kind's code reads it from here only.
    pub status: Option<String>,
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
    /// Entering this state moves or settles money (a payment or refund settled, a dispute
    /// answered): an operator forcing an instance here needs a second operator's approval where
    /// `admin.four_eyes` names the kind.
    #[serde(default)]
    pub settles_money: bool,
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
    /// The public status it shows (see `StateSpec::status`).
    pub status: String,
    pub terminal: bool,
    pub timer: Option<Timer>,
    pub ignore: HashSet<EventName>,
    /// Why entering it parks the instance (see `StateSpec::attention`).
    pub attention: Option<String>,
    /// The Alipay+ answers that let an operator force an instance here (see
    /// `StateSpec::force_needs_answer`); empty: no answer is asked for.
    pub force_needs_answer: Vec<AlipayPlusVerdict>,
    /// See `StateSpec::settles_money`.
    pub settles_money: bool,
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

    /// The states of `kind`, in any of its versions, whose status is `status`: where its
    /// instances showing `status` are (sorted, each once).
    pub fn states_showing(&self, kind: &str, status: &str) -> Vec<String> {
        let mut states: Vec<String> = self
            .by_kind
            .get(kind)
            .into_iter()
            .flat_map(BTreeMap::values)
            .flat_map(|definition| definition.states.values())
            .filter(|state| state.status == status)
            .map(|state| state.name.clone())
            .collect();
        states.sort();
        states.dedup();
        states
    }

    pub fn insert(&mut self, definition: Definition) {
        self.by_kind
            .entry(definition.kind.clone())
            .or_default()
            .insert(definition.version, definition);
    }
}

/// Parses a duration written like `"10m"`, `"1h 30m"` or `"250ms"`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text).map_err(|e| format!("'{text}' is not a duration ({e})"))
}
