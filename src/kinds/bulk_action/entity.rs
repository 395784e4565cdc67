//! The bulk action kind's tables: a bulk action ([`action`], its workflow's id) and the
//! workflows it took ([`item`]).

pub mod action {
    //! `bulk_actions`: an operator's action over the workflows a filter selected, with its
    //! counts; its workflow (same id) works through its items.

    use sea_orm::entity::prelude::*;

    pub const STATUS_RUNNING: &str = "RUNNING";
    pub const STATUS_FINISHED: &str = "FINISHED";

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "bulk_actions")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        /// RETRY or RESUME.
        pub action: String,
        /// The filter it was started with, as given.
        pub filter: Json,
        pub note: String,
        pub operator: String,
        pub status: String,
        pub total: i32,
        pub done: i32,
        pub failed: i32,
        pub created_at: ChronoDateTimeUtc,
        pub finished_at: Option<ChronoDateTimeUtc>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod item {
    //! `bulk_action_items`: one workflow a bulk action took, in the order it took them, and how
    //! it went (written in the transaction that acted on the workflow, so each is acted on once).

    use sea_orm::entity::prelude::*;

    pub const STATUS_PENDING: &str = "PENDING";
    pub const STATUS_DONE: &str = "DONE";
    pub const STATUS_FAILED: &str = "FAILED";

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "bulk_action_items")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub bulk_action_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub position: i32,
        pub instance_id: Uuid,
        pub status: String,
        /// Why it failed.
        pub error: Option<String>,
        pub done_at: Option<ChronoDateTimeUtc>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
