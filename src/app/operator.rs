//! Who an operator is: the name history and the activity log give it (`admin:<name>`), the
//! role its key carries, and the size of the pages operators read.

use super::errors::{AppError, invalid};
use super::roles::AdminRole;

/// The operator a request comes from (`admin:<name>` in history) and what its key may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator {
    pub name: String,
    pub role: AdminRole,
}

impl Operator {
    /// The operator of the configured `admin.api_key`: an admin.
    pub fn from_config() -> Self {
        Self {
            name: "config".into(),
            role: AdminRole::Admin,
        }
    }

    /// Whoever runs plusflow's command line on a host with its configuration: an admin.
    pub fn command_line() -> Self {
        Self {
            name: "command-line".into(),
            role: AdminRole::Admin,
        }
    }

    pub fn actor(&self) -> String {
        format!("admin:{}", self.name)
    }

    /// FORBIDDEN naming `needed` unless this operator's role allows it.
    pub fn require(&self, needed: AdminRole) -> Result<(), AppError> {
        if self.role.allows(needed) {
            Ok(())
        } else {
            Err(AppError::RoleRequired {
                needed,
                has: self.role,
            })
        }
    }
}

/// At most this many workflows a page.
pub const MAX_PAGE: u64 = 100;

/// The size of an operator's page: `first`, 20 if not given, at most [`MAX_PAGE`].
pub fn page_size(first: Option<i32>) -> Result<u64, AppError> {
    match first {
        None => Ok(20),
        Some(n) if (1..=MAX_PAGE as i32).contains(&n) => Ok(n as u64),
        Some(_) => Err(invalid("first", format!("must be 1 to {MAX_PAGE}"))),
    }
}

/// An operator's page of a list whose cursor is a row id (UUIDv7, newest first): its size (see
/// [`page_size`]) and the row `after` names, if given.
pub fn id_page(first: Option<i32>, after: Option<&str>) -> Result<(u64, Option<uuid::Uuid>), AppError> {
    let before = match after {
        Some(cursor) => {
            Some(uuid::Uuid::parse_str(cursor).map_err(|_| invalid("after", "not a cursor of this list"))?)
        }
        None => None,
    };
    Ok((page_size(first)?, before))
}
