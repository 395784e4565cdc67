//! The pure workflow engine: definitions loaded from `workflows/*.toml`, their validation,
//! the decision function [`apply`], and Mermaid rendering. No database, queue or network here.

mod apply;
mod definition;
mod graph;
mod load;
pub mod names;
mod svg;
mod validate;

pub use apply::{Decision, apply, start};
pub use definition::{
    Definition, Definitions, Problem, RetryPolicy, State, Step, Timer, TimerDue, parse_duration,
};
pub use graph::mermaid;
pub use load::{load, load_built_in, load_dir, parse};
pub use names::{AlipayPlusVerdict, EffectName, EventName};
pub use svg::svg;

#[cfg(test)]
mod tests;
