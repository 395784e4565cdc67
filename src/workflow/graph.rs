//! Renders a definition as a Mermaid state diagram, for docs and the admin.

use std::fmt::Write;

use super::definition::Definition;

pub fn mermaid(definition: &Definition) -> String {
    let mut out = String::from("stateDiagram-v2\n");
    let effects = |effects: &[super::EffectName]| {
        if effects.is_empty() {
            String::new()
        } else {
            let names: Vec<String> = effects
                .iter()
                .map(|effect| match definition.enabled_by.get(effect) {
                    Some(key) => format!("{effect} unless {key} = false"),
                    None => effect.to_string(),
                })
                .collect();
            format!(" / {}", names.join(", "))
        }
    };
    let start = &definition.start;
    let _ = writeln!(out, "    [*] --> {} : start{}", start.to, effects(&start.effects));
    for (from, on, step) in &definition.ordered_transitions {
        let timer = definition
            .state(from)
            .and_then(|s| s.timer.as_ref())
            .filter(|t| t.on_timeout == *on)
            .map(|t| match &t.due {
                super::TimerDue::After(after) => format!(" (after {})", humantime::format_duration(*after)),
                super::TimerDue::At(key) => format!(" (at {key})"),
            })
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "    {from} --> {} : {on}{timer}{}",
            step.to,
            effects(&step.effects)
        );
    }
    let mut terminal: Vec<&str> = definition
        .states
        .values()
        .filter(|s| s.terminal)
        .map(|s| s.name.as_str())
        .collect();
    terminal.sort();
    for state in terminal {
        let _ = writeln!(out, "    {state} --> [*]");
    }
    out
}
