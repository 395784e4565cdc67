//! Turns a [`DefinitionFile`] into a [`Definition`], collecting every problem: unknown states,
//! duplicate `(from, on)` pairs, exits from terminal states, unreachable states, states that can
//! wait forever, timers whose event leads nowhere, unusable retry policies.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet, VecDeque};

use super::definition::{
    Definition, DefinitionFile, RetryPolicy, RetrySpec, State, Step, Timer, TimerDue, parse_duration,
};
use super::names::{EffectName, EventName};

pub fn validate(spec: DefinitionFile) -> Result<Definition, Vec<String>> {
    let mut problems = Vec::new();
    if spec.kind.trim().is_empty() {
        problems.push("kind must not be empty".to_string());
    }

    let mut states = HashMap::new();
    for (name, state) in &spec.states {
        let timer = state.timer.as_ref().and_then(|timer| {
            let due = match (&timer.after, &timer.at) {
                (Some(after), None) => match parse_duration(after) {
                    Ok(after) => TimerDue::After(after),
                    Err(e) => {
                        problems.push(format!("state '{name}': timer.after: {e}"));
                        return None;
                    }
                },
                (None, Some(key)) if !key.trim().is_empty() => TimerDue::At(key.clone()),
                _ => {
                    problems.push(format!(
                        "state '{name}': a timer has either `after` (a duration) or `at` (a data key)"
                    ));
                    return None;
                }
            };
            Some(Timer {
                due,
                on_timeout: timer.on_timeout,
            })
        });
        match &state.status {
            None => problems.push(format!(
                "state '{name}' has no status (the public status an instance shows there)"
            )),
            Some(status) if !is_status_name(status) => problems.push(format!(
                "state '{name}': status '{status}' is not a name in capitals (A-Z, _)"
            )),
            Some(_) => {}
        }
        if state.terminal && state.timer.is_some() {
            problems.push(format!("state '{name}' is terminal but has a timer"));
        }
        if !state.terminal && !state.force_needs_answer.is_empty() {
            problems.push(format!(
                "state '{name}' is not terminal but has force_needs_answer (it guards forced ends only)"
            ));
        }
        states.insert(
            name.clone(),
            State {
                name: name.clone(),
                status: state.status.clone().unwrap_or_default(),
                terminal: state.terminal,
                timer,
                ignore: state.ignore.iter().copied().collect(),
                attention: state.attention.clone(),
                force_needs_answer: state.force_needs_answer.clone(),
                settles_money: state.settles_money,
            },
        );
    }

    let known = |state: &str| spec.states.contains_key(state);
    if !known(&spec.start.to) {
        problems.push(format!("start.to names unknown state '{}'", spec.start.to));
    }

    let mut transitions = HashMap::new();
    let mut ordered = Vec::new();
    for (index, transition) in spec.transitions.iter().enumerate() {
        let at = format!(
            "transition #{} ({} on {})",
            index + 1,
            describe_from(&transition.from.states()),
            transition.on
        );
        if !known(&transition.to) {
            problems.push(format!("{at}: 'to' names unknown state '{}'", transition.to));
        }
        for from in transition.from.states() {
            match spec.states.get(from) {
                None => problems.push(format!("{at}: 'from' names unknown state '{from}'")),
                Some(state) if state.terminal => problems.push(format!(
                    "{at}: leaves terminal state '{from}'; terminal states have no exits"
                )),
                Some(state) if state.ignore.contains(&transition.on) => problems.push(format!(
                    "{at}: state '{from}' both ignores and handles '{}'",
                    transition.on
                )),
                Some(_) => {}
            }
            let step = Step {
                to: transition.to.clone(),
                effects: transition.effects.clone(),
            };
            match transitions.entry((from.to_string(), transition.on)) {
                Entry::Occupied(_) => problems.push(format!(
                    "{at}: duplicate transition: ('{from}', {}) is already defined",
                    transition.on
                )),
                Entry::Vacant(slot) => {
                    slot.insert(step.clone());
                    ordered.push((from.to_string(), transition.on, step));
                }
            }
        }
    }

    for (name, state) in &states {
        if let Some(timer) = &state.timer
            && !transitions.contains_key(&(name.clone(), timer.on_timeout))
        {
            problems.push(format!(
                "state '{name}': its timer raises '{}', but no transition leaves '{name}' on it",
                timer.on_timeout
            ));
        }
        let has_exit = transitions.keys().any(|(from, _)| from == name);
        if !state.terminal && !has_exit {
            problems.push(format!(
                "state '{name}' is not terminal but no transition leaves it"
            ));
        }
    }

    let start = Step {
        to: spec.start.to.clone(),
        effects: spec.start.effects.clone(),
    };
    let enabled_by: HashMap<EffectName, String> = spec
        .effects
        .iter()
        .filter_map(|(effect, policy)| Some((*effect, policy.enabled_by.clone()?)))
        .collect();
    problems.extend(unreachable_states(&start, &transitions, &states));
    problems.extend(states_that_wait_forever(&start, &ordered, &states, &enabled_by));

    if spec.retry.enabled_by.is_some() {
        problems.push("retry.enabled_by: what turns an effect off belongs under [effects.<name>]".into());
    }
    let default_retry = retry_policy("retry", &spec.retry, &mut problems);
    let retry = spec
        .effects
        .iter()
        .map(|(effect, policy)| {
            (
                *effect,
                retry_policy(&format!("effects.{effect}"), policy, &mut problems),
            )
        })
        .collect();

    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(Definition {
        kind: spec.kind,
        version: spec.version,
        description: spec.description,
        start,
        states,
        transitions,
        default_retry,
        retry,
        enabled_by,
        ordered_transitions: ordered,
    })
}

fn describe_from(states: &[&str]) -> String {
    states.join("|")
}

fn unreachable_states(
    start: &Step,
    transitions: &HashMap<(String, EventName), Step>,
    states: &HashMap<String, State>,
) -> Vec<String> {
    let mut reached = HashSet::from([start.to.clone()]);
    let mut queue = VecDeque::from([start.to.clone()]);
    while let Some(state) = queue.pop_front() {
        for ((from, _), step) in transitions {
            if *from == state && reached.insert(step.to.clone()) {
                queue.push_back(step.to.clone());
            }
        }
    }
    let mut unreachable: Vec<_> = states.keys().filter(|name| !reached.contains(*name)).collect();
    unreachable.sort();
    unreachable
        .into_iter()
        .map(|name| {
            format!(
                "state '{name}' is unreachable from the start state '{}'",
                start.to
            )
        })
        .collect()
}

/// A non-terminal state without a timer only moves on when an effect reports back, so every
/// way into it must schedule an effect that instance data cannot turn off; otherwise an
/// instance can sit there forever.
fn states_that_wait_forever(
    start: &Step,
    ordered: &[(String, EventName, Step)],
    states: &HashMap<String, State>,
    enabled_by: &HashMap<EffectName, String>,
) -> Vec<String> {
    let entries = std::iter::once(("start".to_string(), start)).chain(
        ordered
            .iter()
            .map(|(from, on, step)| (format!("'{from}' on {on}"), step)),
    );
    let mut problems = Vec::new();
    for (entry, step) in entries {
        let Some(state) = states.get(&step.to) else {
            continue;
        };
        let always_scheduled = step.effects.iter().any(|effect| !enabled_by.contains_key(effect));
        if !state.terminal && state.timer.is_none() && !always_scheduled {
            problems.push(format!(
                "state '{}' can wait forever: it has no timer, and {entry} enters it without scheduling an effect \
                 that always runs",
                step.to
            ));
        }
    }
    problems
}

fn retry_policy(at: &str, spec: &RetrySpec, problems: &mut Vec<String>) -> RetryPolicy {
    let mut duration = |field: &str, text: &str| {
        parse_duration(text).unwrap_or_else(|e| {
            problems.push(format!("{at}.{field}: {e}"));
            std::time::Duration::ZERO
        })
    };
    let backoff = duration("backoff", &spec.backoff);
    let cap = duration("cap", &spec.cap);
    let first_after = spec
        .first_after
        .as_deref()
        .map(|text| duration("first_after", text))
        .unwrap_or_default();
    if spec.attempts == 0 {
        problems.push(format!("{at}.attempts must be at least 1"));
    }
    if cap < backoff {
        problems.push(format!("{at}.cap must not be shorter than {at}.backoff"));
    }
    RetryPolicy {
        attempts: spec.attempts,
        backoff,
        cap,
        first_after,
    }
}

/// `SUCCEEDED`, `NEEDS_RESPONSE`: capitals and underscores, starting with a capital.
fn is_status_name(status: &str) -> bool {
    status.starts_with(|c: char| c.is_ascii_uppercase())
        && status.chars().all(|c| c.is_ascii_uppercase() || c == '_')
}
