//! sea-orm entities of the tables the kinds share, one module per table (a table of one kind
//! only is in its folder, `kinds/<kind>/entity.rs`), and what a row of a workflow instance is.

pub mod admin_key;
pub mod api_key;
pub mod feed_event;
pub mod force_request;
pub mod history;
pub mod idempotency;
pub mod inbound;
pub mod instance;
pub mod ledger_entry;
pub mod merchant;
pub mod operator_activity;
pub mod outbox;
pub mod payment;
pub mod payment_result;
pub mod reconciliation_discrepancy;
pub mod reconciliation_run;
pub mod refund;
pub mod service_mark;
pub mod settlement_batch;
pub mod webhook_delivery;
pub mod webhook_delivery_attempt;
pub mod webhook_endpoint;
pub mod webhook_redelivery;

/// A row that belongs to a workflow instance (a payment or refund has its instance's id).
pub trait OfInstance {
    fn instance_id(&self) -> uuid::Uuid;
}

/// For the entity of the module it is used in, whose column `$column` (field `$field`) holds
/// its workflow instance's id: the relation to `workflow_instances` (so a query can
/// `find_also_related(instance::Entity)`), [`OfInstance`], and the default active model
/// behaviour.
#[macro_export]
macro_rules! belongs_to_instance {
    ($column:ident, $field:ident) => {
        #[derive(Copy, Clone, Debug, EnumIter)]
        pub enum Relation {
            /// The row's workflow instance.
            Instance,
        }

        impl RelationTrait for Relation {
            fn def(&self) -> RelationDef {
                Entity::belongs_to($crate::store::entity::instance::Entity)
                    .from(Column::$column)
                    .to($crate::store::entity::instance::Column::Id)
                    .into()
            }
        }

        impl Related<$crate::store::entity::instance::Entity> for Entity {
            fn to() -> RelationDef {
                Relation::Instance.def()
            }
        }

        impl $crate::store::entity::OfInstance for Model {
            fn instance_id(&self) -> Uuid {
                self.$field
            }
        }

        impl ActiveModelBehavior for ActiveModel {}
    };
}
