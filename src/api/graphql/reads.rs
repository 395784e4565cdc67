//! What one answer has read: a payment, its result and its refunds are read from the database at
//! most once per answer, however the query nests them (`refund { payment { refunds { payment
//! ... } } }` costs one read of the payment and one of its refunds at any depth). The cache
//! travels with the objects of one answer (each root field starts one, a subscription one per
//! update), so nothing is kept beyond the answer and an update is never answered from an
//! older read.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;
use uuid::Uuid;

use crate::app::Engine;
use crate::app::auth::Principal;
use crate::app::errors::AppError;
use crate::kinds::payment::use_cases::{self as payments, PaymentView};
use crate::kinds::refund::use_cases::{self as refunds, RefundView};
use crate::store::entity::payment_result;

/// The payments and refund lists one answer has read (see the module docs).
#[derive(Default)]
pub struct AnswerReads {
    payments: Mutex<HashMap<Uuid, Arc<OnceCell<PaymentView>>>>,
    refunds: Mutex<HashMap<Uuid, Arc<OnceCell<Vec<RefundView>>>>>,
    results: Mutex<HashMap<Uuid, Arc<OnceCell<Option<payment_result::Model>>>>>,
}

fn cell<T>(cells: &Mutex<HashMap<Uuid, Arc<OnceCell<T>>>>, id: Uuid) -> Arc<OnceCell<T>> {
    cells
        .lock()
        .expect("never poisoned")
        .entry(id)
        .or_default()
        .clone()
}

impl AnswerReads {
    /// A new answer that starts from `view` (already read).
    pub fn starting_with(view: &PaymentView) -> Arc<Self> {
        let reads = Self::default();
        let known = OnceCell::new_with(Some(view.clone()));
        reads
            .payments
            .lock()
            .expect("never poisoned")
            .insert(view.payment.id, Arc::new(known));
        Arc::new(reads)
    }

    /// Payment `id`, whose refund the caller may already see.
    pub async fn payment(&self, engine: &Engine, id: Uuid) -> Result<PaymentView, AppError> {
        let cell = cell(&self.payments, id);
        let view = cell
            .get_or_try_init(|| payments::get_payment(engine, &Principal::Admin, id))
            .await?;
        Ok(view.clone())
    }

    /// What Alipay+ stated of payment `id`'s success, if it succeeded.
    pub async fn result_of(
        &self,
        engine: &Engine,
        id: Uuid,
    ) -> Result<Option<payment_result::Model>, AppError> {
        let cell = cell(&self.results, id);
        let result = cell
            .get_or_try_init(|| crate::kinds::payment::results::stated_result(engine, id))
            .await?;
        Ok(result.clone())
    }

    /// The refunds of payment `id`, oldest first.
    pub async fn refunds_of(&self, engine: &Engine, id: Uuid) -> Result<Vec<RefundView>, AppError> {
        let cell = cell(&self.refunds, id);
        let views = cell.get_or_try_init(|| refunds::refunds_of(engine, id)).await?;
        Ok(views.clone())
    }
}
