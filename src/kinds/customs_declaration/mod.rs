//! The customs declaration kind: a paid order declared to customs (AlipayCN `declare`,
//! `inquireDeclarationRequests`).

pub mod effects;
pub mod entity;
pub mod graphql;
pub mod names;
pub mod rows;
pub mod simulator;
pub mod test_helpers;
pub mod use_cases;

use crate::app::kind::Kind;

/// An order declared to customs.
pub struct CustomsDeclaration;

impl Kind for CustomsDeclaration {
    crate::kind_folder!(name: "customs_declaration", statuses: graphql::CustomsDeclarationStatus, simulator: simulator::CustomsDeclarations);
}
