//! GraphQL of reconciliation (operators only): the runs, newest first, and each run's
//! discrepancies, both as Relay connections.

use super::lists;
use async_graphql::connection::{Connection, EmptyFields};
use async_graphql::resolver_utils::EnumType;
use async_graphql::{Context, Enum, ID, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};

use super::console::operator;
use super::context::{engine, graphql_error, principal};
use crate::app::errors::AppError;
use crate::app::reconciliation as recon;
use crate::app::roles::AdminRole;
use crate::store::entity::{reconciliation_discrepancy, reconciliation_run};

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum DiscrepancyKind {
    /// A report row no payment or refund of ours has.
    MissingInPlusflow,
    /// A payment or refund of ours that succeeded in the cycle, not in the report.
    MissingInReport,
    AmountMismatch,
    CurrencyMismatch,
    /// In the report as succeeded, not succeeded here (its inquiry is started if it is not final).
    StatusMismatch,
    DuplicateInReport,
    /// Fee lines that do not add up to their summary, or charge a transaction not in the report.
    FeeMismatch,
    /// A file's totals (summary, settlement) that differ from its rows.
    TotalsMismatch,
    /// A row that could not be read (its file and line say where).
    MalformedRow,
    /// A payment's settlement amount in the file differs from the one Alipay+ stated when it
    /// settled (its `settlementAmount`).
    SettlementAmountMismatch,
    /// A payment's wallet in the file (`counterParticipantId`) is not the pspId its result named.
    WalletMismatch,
    /// What a settlement batch pays differs from what the ledger says Alipay+ owes for the
    /// clearing days it covers (`theirs - ours` is the difference).
    SettlementBatchMismatch,
}

impl DiscrepancyKind {
    /// As the store names it (the GraphQL name, e.g. `AMOUNT_MISMATCH`).
    fn name(self) -> &'static str {
        Self::items()
            .iter()
            .find(|item| item.value == self)
            .map_or("MALFORMED_ROW", |item| item.name)
    }

    pub(crate) fn of(name: &str) -> DiscrepancyKind {
        Self::items()
            .iter()
            .find(|item| item.name == name)
            .map_or(DiscrepancyKind::MalformedRow, |item| item.value)
    }
}

/// What a run found that does not agree.
#[derive(SimpleObject)]
pub struct Discrepancy {
    pub kind: DiscrepancyKind,
    /// The paymentRequestId / refundRequestId concerned, or the file.
    pub reference: String,
    pub ours: Option<String>,
    pub theirs: Option<String>,
    pub detail: String,
    pub file: Option<String>,
    pub line: Option<i64>,
}

impl From<reconciliation_discrepancy::Model> for Discrepancy {
    fn from(row: reconciliation_discrepancy::Model) -> Self {
        Discrepancy {
            kind: DiscrepancyKind::of(&row.kind),
            reference: row.reference,
            ours: row.ours,
            theirs: row.theirs,
            detail: row.detail,
            file: row.file,
            line: row.line,
        }
    }
}

/// One reconciliation of a report date and settlement agreement.
pub struct ReconciliationRun(pub(crate) reconciliation_run::Model);

#[Object]
impl ReconciliationRun {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    /// The clearing day (UTC+8) of clearing files, the settlement date of a settlement file,
    /// YYYYMMDD.
    async fn report_date(&self) -> &str {
        &self.0.report_date
    }
    /// CLEARING (a clearing day's files) or SETTLEMENT (a settlement file, on its own calendar).
    async fn kind(&self) -> &str {
        &self.0.kind
    }
    /// A clearing run's clearing batch (what a settlement names it by).
    async fn clearing_batch_id(&self) -> Option<&str> {
        self.0.clearing_batch_id.as_deref()
    }
    async fn agreement_id(&self) -> &str {
        &self.0.agreement_id
    }
    async fn settlement_currency(&self) -> &str {
        &self.0.settlement_currency
    }
    /// The files reconciled, by name.
    async fn files(&self) -> Vec<String> {
        self.0
            .files
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|file| file["name"].as_str().map(str::to_string))
            .collect()
    }
    /// RUNNING, RECONCILED (no discrepancy) or DISCREPANCIES.
    async fn status(&self) -> &str {
        &self.0.status
    }
    async fn rows_read(&self) -> i64 {
        self.0.rows_read
    }
    async fn matched(&self) -> i64 {
        self.0.matched
    }
    async fn discrepancy_count(&self) -> i64 {
        self.0.discrepancy_count
    }
    /// The run of earlier files for the same date and agreement that this one replaces.
    async fn supersedes(&self) -> Option<ID> {
        self.0.supersedes.map(|id| ID(id.to_string()))
    }
    async fn superseded_by(&self) -> Option<ID> {
        self.0.superseded_by.map(|id| ID(id.to_string()))
    }
    /// What changed from the run it supersedes.
    async fn changes(&self) -> Option<&str> {
        self.0.changes.as_deref()
    }
    async fn started_at(&self) -> DateTime<Utc> {
        self.0.started_at
    }
    async fn finished_at(&self) -> Option<DateTime<Utc>> {
        self.0.finished_at
    }
    #[graphql(complexity = "super::limits::page_cost(first, child_complexity)")]
    async fn discrepancies(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        kind: Option<DiscrepancyKind>,
    ) -> Result<Connection<String, Discrepancy, EmptyFields, EmptyFields>> {
        let after_id = match &after {
            Some(cursor) => Some(cursor.parse::<i64>().map_err(|_| {
                graphql_error(AppError::Validation {
                    field: "after".into(),
                    message: "is not a cursor of this list".into(),
                })
            })?),
            None => None,
        };
        let (rows, more) = recon::discrepancies(
            engine(ctx),
            self.0.id,
            kind.map(DiscrepancyKind::name),
            first,
            after_id,
        )
        .await
        .map_err(graphql_error)?;
        Ok(lists::page(rows, more, after.is_some(), |row| {
            (row.id.to_string(), Discrepancy::from(row))
        }))
    }
}

/// The operators' reconciliation queries (merged into `Query`).
#[derive(Default)]
pub struct ReconciliationQueries;

#[Object]
impl ReconciliationQueries {
    /// Reconciliation runs, newest first (Relay connection, `first` at most 100).
    #[graphql(complexity = "super::limits::page_cost(first, child_complexity)")]
    async fn reconciliation_runs(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<String, ReconciliationRun, EmptyFields, EmptyFields>> {
        operator(ctx, AdminRole::Viewer)?;
        let after_id = match &after {
            Some(cursor) => Some(uuid::Uuid::parse_str(cursor).map_err(|_| {
                graphql_error(AppError::Validation {
                    field: "after".into(),
                    message: "is not a cursor of this list".into(),
                })
            })?),
            None => None,
        };
        let (runs, more) = recon::runs(engine(ctx), principal(ctx)?, first, after_id)
            .await
            .map_err(graphql_error)?;
        Ok(lists::page(runs, more, after.is_some(), |run| {
            (run.id.to_string(), ReconciliationRun(run))
        }))
    }

    async fn reconciliation_run(&self, ctx: &Context<'_>, id: ID) -> Result<Option<ReconciliationRun>> {
        operator(ctx, AdminRole::Viewer)?;
        let Ok(id) = uuid::Uuid::parse_str(&id) else {
            return Ok(None);
        };
        match recon::run(engine(ctx), principal(ctx)?, id).await {
            Ok(run) => Ok(Some(ReconciliationRun(run))),
            Err(AppError::NotFound) => Ok(None),
            Err(e) => Err(graphql_error(e)),
        }
    }
}
