//! The vocabulary workflow files may use. Each kind declares its own event and effect names in
//! its folder ([`event_names!`], [`effect_names!`]: a constant for each, gathered at link time
//! into [`EVENT_NAMES`] and [`EFFECT_NAMES`]); the engine's own are here. A name in
//! `workflows/*.toml` that no kind declares is rejected by serde with the file, line and column,
//! so a typo never reaches runtime.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use strum::{Display, EnumString, IntoStaticStr};

/// Every kind's event names, one slice per kind (see [`event_names!`]).
#[linkme::distributed_slice]
pub static EVENT_NAMES: [&'static [EventName]];

/// Every kind's effect names, one slice per kind (see [`effect_names!`]).
#[linkme::distributed_slice]
pub static EFFECT_NAMES: [&'static [EffectName]];

/// Something that happened to an instance: an effect's outcome, a timer, a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventName(&'static str);

/// Work a transition schedules, executed by a background job after the transaction commits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EffectName {
    name: &'static str,
    changes_alipayplus: bool,
}

impl EventName {
    /// Someone asked the instance to stop.
    pub const CANCEL_REQUESTED: EventName = EventName::new("cancel_requested");

    pub const fn new(name: &'static str) -> Self {
        Self(name)
    }

    pub fn as_str(self) -> &'static str {
        self.0
    }

    /// Every declared event name.
    pub fn all() -> impl Iterator<Item = EventName> {
        EVENT_NAMES.iter().flat_map(|names| names.iter().copied())
    }
}

impl EffectName {
    /// Tell the merchant's webhook URL about the new status (HMAC-signed).
    pub const NOTIFY_MERCHANT: EffectName = EffectName::new("notify_merchant", false);

    /// `changes_alipayplus`: whether the effect asks Alipay+ to change something (money, a
    /// record): while one may be in flight, an operator cannot force its instance to an end
    /// (see `store::force`). Inquiries, the merchant's webhook and the probe change nothing.
    pub const fn new(name: &'static str, changes_alipayplus: bool) -> Self {
        Self {
            name,
            changes_alipayplus,
        }
    }

    pub fn as_str(self) -> &'static str {
        self.name
    }

    /// Whether the effect asks Alipay+ to change something (see [`EffectName::new`]).
    pub fn changes_alipayplus(self) -> bool {
        self.changes_alipayplus
    }

    /// Every declared effect name.
    pub fn all() -> impl Iterator<Item = EffectName> {
        EFFECT_NAMES.iter().flat_map(|names| names.iter().copied())
    }
}

#[linkme::distributed_slice(EVENT_NAMES)]
static ENGINE_EVENTS: &[EventName] = &[EventName::CANCEL_REQUESTED];

#[linkme::distributed_slice(EFFECT_NAMES)]
static ENGINE_EFFECTS: &[EffectName] = &[EffectName::NOTIFY_MERCHANT];

/// A name no kind declares.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} '{name}'")]
pub struct UnknownName {
    what: &'static str,
    name: String,
}

macro_rules! name_traits {
    ($Name:ident, $what:literal) => {
        impl fmt::Display for $Name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl From<$Name> for &'static str {
            fn from(name: $Name) -> Self {
                name.as_str()
            }
        }

        impl FromStr for $Name {
            type Err = UnknownName;

            /// The declared name spelled `text`.
            fn from_str(text: &str) -> Result<Self, UnknownName> {
                $Name::all()
                    .find(|name| name.as_str() == text)
                    .ok_or_else(|| UnknownName {
                        what: $what,
                        name: text.to_string(),
                    })
            }
        }

        impl Serialize for $Name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $Name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

name_traits!(EventName, "event");
name_traits!(EffectName, "effect");

/// Declares a kind's event names, each a constant of the calling module, gathered into
/// [`EVENT_NAMES`]: `event_names! { /// doc \n PAY_ACCEPTED = "pay_accepted"; }`.
#[macro_export]
macro_rules! event_names {
    ($($(#[$doc:meta])* $constant:ident = $name:literal;)*) => {
        $( $(#[$doc])* pub const $constant: $crate::workflow::names::EventName =
            $crate::workflow::names::EventName::new($name); )*

        #[linkme::distributed_slice($crate::workflow::names::EVENT_NAMES)]
        static DECLARED_EVENTS: &[$crate::workflow::names::EventName] = &[$($constant),*];
    };
}

/// Declares a kind's effect names, each a constant of the calling module, gathered into
/// [`EFFECT_NAMES`]; `changes_alipayplus` after a name marks a call that changes something at
/// Alipay+ (see [`EffectName::new`]): `effect_names! { SUBMIT_PAY = "submit_pay",
/// changes_alipayplus; POLL_PAYMENT = "poll_payment"; }`.
#[macro_export]
macro_rules! effect_names {
    (@changes changes_alipayplus) => { true };
    (@changes) => { false };
    ($($(#[$doc:meta])* $constant:ident = $name:literal $(, $changes:ident)?;)*) => {
        $( $(#[$doc])* pub const $constant: $crate::workflow::names::EffectName =
            $crate::workflow::names::EffectName::new($name, $crate::effect_names!(@changes $($changes)?)); )*

        #[linkme::distributed_slice($crate::workflow::names::EFFECT_NAMES)]
        static DECLARED_EFFECTS: &[$crate::workflow::names::EffectName] = &[$($constant),*];
    };
}

/// What Alipay+ said of an object when an operator asked it (askAlipayPlus), reduced to what
/// a forced outcome is checked against (a state's `force_needs_answer`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Display, EnumString, IntoStaticStr,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum AlipayPlusVerdict {
    /// Done at Alipay+ (paid, refunded).
    Success,
    /// Finally failed or closed at Alipay+.
    Fail,
    /// Alipay+ has it and has not decided (a payment the customer may still pay).
    Processing,
    /// Alipay+ has no such object (a payment it never created, a refund not among its
    /// transactions).
    Absent,
    /// No usable answer (the call failed or timed out).
    Unknown,
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn every_name_is_declared_once_and_read_back_as_declared() {
        let events: Vec<EventName> = EventName::all().collect();
        let distinct: HashSet<&str> = events.iter().map(|name| name.as_str()).collect();
        assert_eq!(distinct.len(), events.len(), "an event name declared twice");
        let effects: Vec<EffectName> = EffectName::all().collect();
        let distinct: HashSet<&str> = effects.iter().map(|name| name.as_str()).collect();
        assert_eq!(distinct.len(), effects.len(), "an effect name declared twice");
        for effect in effects {
            assert_eq!(effect.as_str().parse::<EffectName>(), Ok(effect));
        }
        assert!("submit_pay".parse::<EffectName>().unwrap().changes_alipayplus());
        assert!(!"poll_payment".parse::<EffectName>().unwrap().changes_alipayplus());
        assert_eq!(
            "restd".parse::<EventName>().unwrap_err().to_string(),
            "unknown event 'restd'"
        );
    }
}
