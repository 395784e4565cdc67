//! Operators' roles: every admin key carries one. `viewer` reads everything operators read;
//! `operator` also works workflows (retry, resume, answer disputes, ask Alipay+, cancel,
//! redeliver webhooks); `finance` also works reconciliation and settlement; `admin` does all of
//! it and what changes who may do what (keys, merchants, their webhook endpoints, forced ends).
//! A request without the role is FORBIDDEN naming the role it needs.

/// What an operator's key may do (see the module docs).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    strum::Display,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::VariantNames,
)]
#[strum(serialize_all = "lowercase")]
pub enum AdminRole {
    Viewer,
    Operator,
    Finance,
    Admin,
}

impl AdminRole {
    /// Whether a key with this role may do what needs `needed`: every role reads; `operator`
    /// and `finance` each their own work; `admin` everything.
    pub fn allows(self, needed: AdminRole) -> bool {
        self == needed || self == AdminRole::Admin || needed == AdminRole::Viewer
    }
}

#[cfg(test)]
mod tests {
    use super::AdminRole::*;

    #[test]
    fn each_role_does_its_own_work_and_admin_all_of_it() {
        let table = [
            (Viewer, [true, false, false, false]),
            (Operator, [true, true, false, false]),
            (Finance, [true, false, true, false]),
            (Admin, [true, true, true, true]),
        ];
        for (role, allowed) in table {
            for (needed, expected) in [Viewer, Operator, Finance, Admin].into_iter().zip(allowed) {
                assert_eq!(role.allows(needed), expected, "{role} doing {needed}'s work");
            }
        }
        assert_eq!("finance".parse::<super::AdminRole>(), Ok(Finance));
        assert!("root".parse::<super::AdminRole>().is_err());
    }
}
