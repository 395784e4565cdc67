//! Request and response bodies of every Alipay+ API an ACQP uses (ALIPAYPLUS.md section 2), with
//! the exact camelCase names. Scalars (amount values, integers, booleans) are written as JSON
//! strings and read from strings or numbers; absent optional fields are omitted, never `""`.
//! Unknown fields are ignored on input. Amounts are integer minor units.
//!
//! Fields that decide money (payment, refund, order and declaration amounts, results) are read
//! strictly: a malformed one makes the message unreadable. Informational ones (settlement
//! amounts and quotes, the transaction list) are read leniently: a malformed one reads as
//! absent, so it cannot turn a readable final result into an unknown one.
//!
//! One module per API family; everything is re-exported here.

mod common;
mod customs;
mod dispute;
mod payment;
mod refund;
mod registration;

pub use common::*;
pub use customs::*;
pub use dispute::*;
pub use payment::*;
pub use refund::*;
pub use registration::*;
