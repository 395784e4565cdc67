//! The payments this process created and has not sent to Alipay+ yet (see [`NewPayments`]).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use uuid::Uuid;

use crate::store::entity::payment;

/// The payments this process created whose `pay` it has not sent yet. The `submit_pay` effect
/// usually runs here moments later (always with the in-process queue, often with Redis) and
/// takes its row from here instead of reading it back: a payment row is never changed once
/// written, so this copy is the row. Bounded: past [`NewPayments::CAPACITY`] the oldest are
/// forgotten, and an effect that finds nothing (run by another process, retried, or after a
/// restart) reads the row.
#[derive(Default)]
pub struct NewPayments {
    rows: Mutex<NewRows>,
}

#[derive(Default)]
struct NewRows {
    by_id: HashMap<Uuid, payment::Model>,
    /// Ids in the order they were remembered (taken ones included until they come up).
    order: VecDeque<Uuid>,
}

impl NewPayments {
    pub const CAPACITY: usize = 4096;

    /// Remembers `row`, just committed.
    pub(super) fn remember(&self, row: payment::Model) {
        let mut rows = self.rows.lock().expect("new payments");
        rows.order.push_back(row.id);
        rows.by_id.insert(row.id, row);
        while rows.order.len() > Self::CAPACITY {
            let oldest = rows.order.pop_front().expect("longer than the capacity");
            rows.by_id.remove(&oldest);
        }
    }

    /// The row of payment `id` if this process created it and nobody took it yet.
    pub fn take(&self, id: Uuid) -> Option<payment::Model> {
        self.rows.lock().expect("new payments").by_id.remove(&id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};

    fn row(n: usize) -> payment::Model {
        let at = DateTime::<Utc>::UNIX_EPOCH;
        payment::Model {
            id: Uuid::from_u128(n as u128),
            merchant_id: Uuid::nil(),
            merchant_order_id: format!("order-{n}"),
            payment_request_id: format!("pf_{n}"),
            order_description: "Tea".into(),
            currency: "USD".into(),
            amount: 100,
            terminal_type: "WEB".into(),
            os_type: None,
            redirect_url: "https://shop.example/back".into(),
            user_region: None,
            settlement_currency: None,
            expires_at: at,
            checkout_url: None,
            alipay_payment_id: None,
            wallet_brand_name: None,
            failure_code: None,
            created_at: at,
            buyer_reference: None,
        }
    }

    #[test]
    fn new_payments_keep_at_most_their_capacity_forgetting_the_oldest_first() {
        let kept = NewPayments::default();
        for n in 0..=NewPayments::CAPACITY + 1 {
            kept.remember(row(n));
        }
        assert!(kept.take(Uuid::from_u128(0)).is_none());
        assert!(kept.take(Uuid::from_u128(1)).is_none());
        assert_eq!(kept.take(Uuid::from_u128(2)), Some(row(2)));
        let last = NewPayments::CAPACITY as u128 + 1;
        assert_eq!(kept.take(Uuid::from_u128(last)), Some(row(last as usize)));
        assert_eq!(kept.rows.lock().unwrap().by_id.len(), NewPayments::CAPACITY - 2);
    }
}
