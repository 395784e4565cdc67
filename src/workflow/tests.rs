use std::path::Path;

use proptest::prelude::*;

use super::*;

fn probe() -> Definition {
    let text = include_str!("../../workflows/engine_probe.toml");
    parse(Path::new("engine_probe.toml"), text).expect("the shipped probe workflow is valid")
}

fn transition(to: &str, effects: &[EffectName], terminal: bool, timer: Option<Timer>) -> Decision {
    Decision::Transition {
        to: to.into(),
        effects: effects.to_vec(),
        timer,
        terminal,
    }
}

#[test]
fn apply_decides_each_state_and_event_as_the_table_says() {
    use crate::kinds::engine_probe::names::*;
    const CANCEL_REQUESTED: EventName = EventName::CANCEL_REQUESTED;
    let definition = probe();
    let rest = Some(Timer {
        due: crate::workflow::TimerDue::After(std::time::Duration::from_secs(1)),
        on_timeout: RESTED,
    });
    let table: Vec<(&str, EventName, Decision)> = vec![
        (
            "stepping",
            STEP_DONE,
            transition("resting", &[], false, rest.clone()),
        ),
        (
            "resting",
            RESTED,
            transition("finishing", &[PROBE_FINISH], false, None),
        ),
        ("finishing", FINISH_DONE, transition("completed", &[], true, None)),
        (
            "stepping",
            CANCEL_REQUESTED,
            transition("cancelled", &[], true, None),
        ),
        (
            "resting",
            CANCEL_REQUESTED,
            transition("cancelled", &[], true, None),
        ),
        (
            "finishing",
            CANCEL_REQUESTED,
            transition("cancelled", &[], true, None),
        ),
        (
            "stepping",
            RESTED,
            Decision::Rejected {
                reason: "'rested' is not allowed in state 'stepping'".into(),
            },
        ),
        (
            "finishing",
            STEP_DONE,
            Decision::Rejected {
                reason: "'step_done' is not allowed in state 'finishing'".into(),
            },
        ),
        (
            "completed",
            FINISH_DONE,
            Decision::Ignored {
                reason: "'finish_done' is ignored in state 'completed'".into(),
            },
        ),
        (
            "completed",
            CANCEL_REQUESTED,
            Decision::Rejected {
                reason: "'completed' is terminal; 'cancel_requested' cannot change it".into(),
            },
        ),
        (
            "cancelled",
            CANCEL_REQUESTED,
            Decision::Ignored {
                reason: "'cancel_requested' is ignored in state 'cancelled'".into(),
            },
        ),
        (
            "nowhere",
            STEP_DONE,
            Decision::Rejected {
                reason: "state 'nowhere' is not part of engine_probe v1".into(),
            },
        ),
    ];
    for (state, event, expected) in table {
        assert_eq!(apply(&definition, state, event), expected, "({state}, {event})");
    }
}

#[test]
fn start_enters_the_start_state_with_its_effects() {
    assert_eq!(
        start(&probe()),
        transition(
            "stepping",
            &[crate::kinds::engine_probe::names::PROBE_STEP],
            false,
            None
        )
    );
}

#[test]
fn validation_reports_every_mistake_at_once() {
    let text = r#"
kind = "broken"
version = 1
[start]
to = "a"
[states.a]
status = "PENDING"
[states.b]
status = "PENDING"
timer = { after = "soon", on_timeout = "rested" }
[states.done]
status = "SUCCEEDED"
terminal = true
[states.island]
status = "PENDING"
timer = { after = "1m", on_timeout = "rested" }
[states.both]
status = "PENDING"
timer = { after = "1m", at = "respondBy", on_timeout = "rested" }
[states.neither]
status = "PENDING"
timer = { on_timeout = "rested" }
[[transitions]]
from = "a"
on = "step_done"
to = "b"
[[transitions]]
from = "a"
on = "step_done"
to = "done"
[[transitions]]
from = "done"
on = "rested"
to = "a"
[[transitions]]
from = "ghost"
on = "rested"
to = "done"
[[transitions]]
from = "island"
on = "rested"
to = "done"
[retry]
attempts = 0
backoff = "1s"
cap = "1s"
"#;
    let problems = parse(Path::new("broken.toml"), text).expect_err("the file is full of mistakes");
    let messages: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
    let expect = [
        "broken.toml: state 'b': timer.after: 'soon' is not a duration",
        "duplicate transition: ('a', step_done) is already defined",
        "leaves terminal state 'done'",
        "'from' names unknown state 'ghost'",
        "state 'island' is unreachable",
        "state 'a' can wait forever",
        "retry.attempts must be at least 1",
        "state 'both': a timer has either `after` (a duration) or `at` (a data key)",
        "state 'neither': a timer has either `after` (a duration) or `at` (a data key)",
    ];
    for wanted in expect {
        assert!(
            messages.iter().any(|m| m.contains(wanted)),
            "missing {wanted:?} in {messages:#?}"
        );
    }
}

#[test]
fn instance_data_turns_off_only_the_effects_that_name_their_key() {
    use crate::kinds::engine_probe::names::{PROBE_FINISH, PROBE_STEP};
    let text = r#"
kind = "switched"
version = 1
[start]
to = "stepping"
effects = ["probe_step", "probe_finish"]
[states.stepping]
status = "PENDING"
[states.done]
status = "SUCCEEDED"
terminal = true
[[transitions]]
from = "stepping"
on = "step_done"
to = "done"
[retry]
attempts = 3
backoff = "1s"
cap = "1s"
[effects.probe_finish]
attempts = 3
backoff = "1s"
cap = "1s"
enabled_by = "finishToo"
"#;
    let definition = parse(Path::new("switched.toml"), text).expect("a valid definition");
    let without = serde_json::json!({ "finishToo": false });
    assert!(!definition.enabled_for(PROBE_FINISH, &without));
    assert!(definition.enabled_for(PROBE_STEP, &without));
    // Instances created before the key existed keep the effect.
    assert!(definition.enabled_for(PROBE_FINISH, &serde_json::json!({})));
    assert!(definition.enabled_for(PROBE_FINISH, &serde_json::json!({ "finishToo": true })));
}

#[test]
fn an_effect_that_data_can_turn_off_does_not_count_as_a_way_out_of_a_state() {
    let probe = include_str!("../../workflows/engine_probe.toml");
    let optional_step = format!(
        "{probe}\n[effects.probe_step]\nattempts = 1\nbackoff = \"1s\"\ncap = \"1s\"\nenabled_by = \"probing\"\n"
    );
    let first_problem = |text: &str| parse(Path::new("x.toml"), text).expect_err("invalid")[0].to_string();
    let problem = first_problem(&optional_step);
    assert!(
        problem.contains("state 'stepping' can wait forever: it has no timer, and start enters it"),
        "{problem}"
    );
    let default_with_key = probe.replace("cap = \"5s\"", "cap = \"5s\"\nenabled_by = \"probing\"");
    let problem = first_problem(&default_with_key);
    assert!(
        problem.contains("retry.enabled_by: what turns an effect off belongs under"),
        "{problem}"
    );
}

#[test]
fn a_typo_in_an_event_name_is_reported_with_its_line() {
    let text = include_str!("../../workflows/engine_probe.toml").replace("on = \"rested\"", "on = \"restd\"");
    let problems = parse(Path::new("typo.toml"), &text).expect_err("unknown event");
    let message = problems[0].to_string();
    assert!(
        message.starts_with("typo.toml: TOML parse error at line"),
        "{message}"
    );
    assert!(message.contains("restd"), "{message}");
}

#[test]
fn retry_delays_double_up_to_the_cap() {
    let policy = probe().retry_policy(crate::kinds::engine_probe::names::PROBE_STEP);
    let delays: Vec<u128> = (1..=7).map(|n| policy.delay_after(n).as_millis()).collect();
    assert_eq!(delays, [200, 400, 800, 1600, 3200, 5000, 5000]);
}

#[test]
fn retry_delays_get_up_to_a_quarter_less_by_the_jitter_drawn() {
    let policy = probe().retry_policy(crate::kinds::engine_probe::names::PROBE_STEP);
    let delays: Vec<u128> = [0.0, 0.5, 1.0]
        .iter()
        .map(|fraction| policy.delay_with_jitter(3, *fraction).as_millis())
        .collect();
    assert_eq!(delays, [800, 700, 600]);
}

#[test]
fn a_pay_answered_unknown_five_times_reaches_its_sixth_attempt_within_eight_seconds() {
    let text = include_str!("../../workflows/payment.toml");
    let payment = parse(Path::new("payment.toml"), text).expect("the shipped payment workflow is valid");
    let policy = payment.retry_policy(crate::kinds::payment::names::SUBMIT_PAY);
    let waited: std::time::Duration = (1..=5).map(|n| policy.delay_after(n)).sum();
    assert!(
        waited <= std::time::Duration::from_secs(8),
        "a customer at the checkout waits {waited:?} through five unknown answers"
    );
    assert!(policy.attempts >= 60, "still tried for minutes");
}

#[test]
fn the_built_in_workflows_are_the_shipped_folder() {
    let built_in = load_built_in().expect("the built-in workflows are valid");
    let folder = load_dir(Path::new("workflows")).expect("the shipped folder is valid");
    let kinds = |definitions: &Definitions| {
        definitions
            .iter()
            .map(|d| (d.kind.clone(), d.version, d.transitions.len(), d.states.len()))
            .collect::<std::collections::BTreeSet<_>>()
    };
    assert_eq!(kinds(&built_in), kinds(&folder));
    assert!(
        load(Path::new("")).is_ok(),
        "an empty folder setting means the built-in ones"
    );
}

/// A registration started under version 1 (in_review from the acknowledgement) still reaches its
/// end under the events version 2 sends, `wallets_listed` included; version 2 tells SUBMITTED
/// from IN_REVIEW by state.
#[test]
fn registrations_of_either_version_take_every_event_version_two_sends() {
    let parsed = |name: &str, text: &str| parse(Path::new(name), text).expect("shipped and valid");
    let v1 = parsed(
        "registration.v1.toml",
        include_str!("../../workflows/registration.v1.toml"),
    );
    let v2 = parsed(
        "registration.toml",
        include_str!("../../workflows/registration.toml"),
    );
    let to = |definition: &Definition, state: &str, event: EventName| match apply(definition, state, event) {
        Decision::Transition { to, .. } => to,
        other => format!("{other:?}"),
    };
    assert_eq!(
        to(
            &v1,
            "in_review",
            crate::kinds::registration::names::WALLETS_LISTED
        ),
        "in_review"
    );
    assert_eq!(
        to(
            &v1,
            "submitting",
            crate::kinds::registration::names::WALLETS_LISTED
        ),
        "in_review"
    );
    assert_eq!(
        to(
            &v1,
            "in_review",
            crate::kinds::registration::names::REGISTRATION_COMPLETED
        ),
        "completed"
    );
    assert_eq!(
        to(
            &v2,
            "submitting",
            crate::kinds::registration::names::REGISTRATION_ACCEPTED
        ),
        "submitted"
    );
    assert_eq!(
        to(
            &v2,
            "submitted",
            crate::kinds::registration::names::WALLETS_LISTED
        ),
        "submitted"
    );
    assert_eq!(
        to(
            &v2,
            "submitted",
            crate::kinds::registration::names::WALLETS_ANSWERED
        ),
        "in_review"
    );
    assert_eq!(
        to(&v2, "submitted", crate::kinds::registration::names::INQUIRY_DUE),
        "submitted"
    );
    assert_eq!(
        to(
            &v2,
            "in_review",
            crate::kinds::registration::names::REGISTRATION_REJECTED
        ),
        "rejected"
    );
    let status = |definition: &Definition, state: &str| definition.state(state).unwrap().status.clone();
    assert_eq!(status(&v1, "in_review"), "IN_REVIEW");
    assert_eq!(status(&v2, "submitted"), "SUBMITTED");
    assert_eq!(status(&v2, "in_review"), "IN_REVIEW");
    assert!(
        to(
            &v2,
            "completed",
            crate::kinds::registration::names::WALLETS_LISTED
        )
        .starts_with("Ignored")
    );
}

#[test]
fn a_cancel_that_cannot_be_done_settles_on_the_inquiry_and_nothing_moves_a_settled_payment() {
    let text = include_str!("../../workflows/payment.toml");
    let payment = parse(Path::new("payment.toml"), text).expect("the shipped payment workflow is valid");
    let to = |state: &str, event: EventName| match apply(&payment, state, event) {
        Decision::Transition { to, .. } => to,
        other => format!("{other:?}"),
    };
    assert_eq!(
        to("cancelling", crate::kinds::payment::names::CONFIRMED_SUCCESS),
        "succeeded"
    );
    assert_eq!(
        to("cancelling", crate::kinds::payment::names::CONFIRMED_FAILURE),
        "failed"
    );
    // Only the cancel's own inquiry decides; a late notification or poll does not.
    assert!(to("cancelling", crate::kinds::payment::names::NOTIFIED_SUCCESS).starts_with("Ignored"));
    assert!(to("cancelling", crate::kinds::payment::names::INQUIRY_SUCCESS).starts_with("Ignored"));
    for settled in ["succeeded", "failed", "cancelled"] {
        assert!(
            to(settled, crate::kinds::payment::names::CONFIRMED_SUCCESS).starts_with("Ignored"),
            "{settled}"
        );
    }
}

#[test]
fn mermaid_shows_the_start_each_transition_and_the_terminal_states() {
    let graph = mermaid(&probe());
    assert!(graph.starts_with("stateDiagram-v2\n    [*] --> stepping : start / probe_step\n"));
    assert!(graph.contains("resting --> finishing : rested (after 1s) / probe_finish"));
    assert!(graph.contains("completed --> [*]"));
}

proptest! {
    #[test]
    fn no_sequence_of_events_leaves_a_terminal_state(indices in proptest::collection::vec(0..EventName::all().count(), 0..40)) {
        let definition = probe();
        let events: Vec<EventName> = EventName::all().collect();
        let Decision::Transition { to, .. } = start(&definition) else { unreachable!() };
        let mut state = to;
        let mut reached_terminal: Option<String> = None;
        for index in indices {
            let event = events[index];
            if let Decision::Transition { to, .. } = apply(&definition, &state, event) {
                state = to;
            }
            if let Some(terminal) = &reached_terminal {
                prop_assert_eq!(&state, terminal, "left terminal state on {}", event);
            }
            if definition.state(&state).unwrap().terminal {
                reached_terminal = Some(state.clone());
            }
        }
    }
}

#[test]
fn a_deadline_timer_names_its_data_key_and_an_attention_state_parks() {
    let text = include_str!("../../tests/fixtures/workflows/deadline/deadline_probe.toml");
    let deadline = parse(Path::new("deadline_probe.toml"), text).expect("the fixture is valid");
    let reminded = deadline.state("reminded").unwrap();
    assert_eq!(
        reminded.timer.as_ref().map(|t| &t.due),
        Some(&crate::workflow::TimerDue::At("respondBy".into()))
    );
    assert_eq!(
        deadline.state("missed").unwrap().attention.as_deref(),
        Some("no answer by the deadline")
    );
    assert!(mermaid(&deadline).contains("reminded --> missed : expired (at respondBy)"));
}
