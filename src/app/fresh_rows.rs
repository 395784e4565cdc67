//! The rows this process has just written for a new workflow, kept for the effect that will
//! read them moments later (see [`FreshRows`]).

use std::any::Any;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use uuid::Uuid;

/// The rows this process just created for instances whose first effect has not run yet (a new
/// payment's `submit_pay`). That effect usually runs here moments later (always with the
/// in-process queue, often with Redis) and takes its row from here instead of reading it back:
/// such a row is never changed once written, so this copy is the row. Bounded: past
/// [`FreshRows::CAPACITY`] the oldest are forgotten, and an effect that finds nothing (run by
/// another process, retried, or after a restart) reads the row.
#[derive(Default)]
pub struct FreshRows {
    rows: Mutex<Kept>,
}

#[derive(Default)]
struct Kept {
    by_id: HashMap<Uuid, Arc<dyn Any + Send + Sync>>,
    /// Ids in the order they were remembered (taken ones included until they come up).
    order: VecDeque<Uuid>,
}

impl FreshRows {
    pub const CAPACITY: usize = 4096;

    /// Remembers `row` of instance `id`, just committed.
    pub fn remember<T: Any + Send + Sync>(&self, id: Uuid, row: T) {
        let mut rows = self.rows.lock().expect("fresh rows");
        rows.order.push_back(id);
        rows.by_id.insert(id, Arc::new(row));
        while rows.order.len() > Self::CAPACITY {
            let oldest = rows.order.pop_front().expect("longer than the capacity");
            rows.by_id.remove(&oldest);
        }
    }

    /// The row of instance `id` if this process wrote it, it is a `T`, and nobody took it yet.
    pub fn take<T: Any + Send + Sync + Clone>(&self, id: Uuid) -> Option<T> {
        let row = self.rows.lock().expect("fresh rows").by_id.remove(&id)?;
        row.downcast_ref::<T>().cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::entity::payment;
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
            metadata: None,
        }
    }

    #[test]
    fn fresh_rows_keep_at_most_their_capacity_forgetting_the_oldest_first() {
        let kept = FreshRows::default();
        for n in 0..=FreshRows::CAPACITY + 1 {
            kept.remember(Uuid::from_u128(n as u128), row(n));
        }
        assert!(kept.take::<payment::Model>(Uuid::from_u128(0)).is_none());
        assert!(kept.take::<payment::Model>(Uuid::from_u128(1)).is_none());
        assert_eq!(kept.take::<payment::Model>(Uuid::from_u128(2)), Some(row(2)));
        let last = FreshRows::CAPACITY as u128 + 1;
        assert_eq!(
            kept.take::<payment::Model>(Uuid::from_u128(last)),
            Some(row(last as usize))
        );
        assert_eq!(kept.rows.lock().unwrap().by_id.len(), FreshRows::CAPACITY - 2);
    }
}
