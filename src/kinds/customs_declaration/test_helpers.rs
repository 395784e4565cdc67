//! `simulateCustomsDecision` (test mode only): customs decides a declaration now, accepting or
//! rejecting it, instead of in its own time; plusflow learns it from its next inquiry, as it
//! would from Alipay+.

use serde_json::json;
use uuid::Uuid;

use super::use_cases::{DeclarationView, get_declaration};
use crate::app::Engine;
use crate::app::auth::Principal;
use crate::app::errors::AppError;
use crate::app::test_mode::TestMode;

/// Has customs decide declaration `id` (one `principal` may see): accepted if `accept`.
pub async fn simulate_decision(
    engine: &Engine,
    test_mode: &TestMode,
    principal: &Principal,
    id: Uuid,
    accept: bool,
) -> Result<DeclarationView, AppError> {
    let controls = test_mode.controls()?;
    let view = get_declaration(engine, principal, id).await?;
    let path = format!(
        "/simulator/customs/{}/decide",
        view.declaration.customs_declaration_request_id
    );
    controls.post(&path, json!({ "accept": accept })).await?;
    get_declaration(engine, principal, id).await
}
