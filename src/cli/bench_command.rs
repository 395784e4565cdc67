//! The `plusflow bench` subcommands and their arguments (run by `super::bench`).

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Durable workflow transitions per second.
    Engine {
        /// Workflow instances driven to their end.
        #[arg(long, default_value_t = 2_000)]
        instances: usize,
        /// Effects run at a time.
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
    },
    /// Payments end to end: createPayment over GraphQL -> the simulator pays at once ->
    /// notification -> SUCCEEDED.
    Payments {
        /// Payments measured (after a warm-up that is not counted).
        #[arg(long, default_value_t = 1_000)]
        payments: usize,
        /// Clients creating payments back to back (closed loop: as fast as the system allows).
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        /// Instead of back-to-back clients, start a createPayment every 1/RATE s whatever the
        /// answers (open loop): the latency a merchant sees at that load, queueing included.
        #[arg(long)]
        rate: Option<f64>,
        /// Also run pgbench (TPC-B-like, 10 s) on the same PostgreSQL database and print the
        /// ratio, since absolute figures drift on shared machines.
        #[arg(long)]
        compare_pgbench: bool,
    },
    /// The operators' stuck list at N instances, in a scratch database of the configured kind.
    Stuck {
        /// Workflow instances in the scratch database.
        #[arg(long, default_value_t = 1_000_000)]
        instances: usize,
    },
    /// The operators' search and overview at N payments (a year of them, 1 in 1,000 open), in a
    /// scratch database of the configured kind.
    Console {
        /// Payments (and their workflows) in the scratch database.
        #[arg(long, default_value_t = 10_000_000)]
        payments: usize,
    },
    /// Reconciliation of N report rows against N payments, in a scratch database of the
    /// configured kind: rows per second and peak memory.
    Reconcile {
        /// Payments, and report rows for them.
        #[arg(long, default_value_t = 1_000_000)]
        rows: usize,
    },
    /// A merchant reading its event feed (`events(after:, first: 100)`) at N events, in a
    /// scratch database of the configured kind.
    Events {
        /// Events in the scratch database (nine in ten the reading merchant's).
        #[arg(long, default_value_t = 1_000_000)]
        events: usize,
    },
    /// What a payment costs the database once retention runs (bytes a payment, per day kept),
    /// and payments per pgbench transaction and createPayment p99 with a year of history
    /// against an empty database, in a scratch PostgreSQL database.
    Lifecycle {
        /// Payments of history written before the second measurement.
        #[arg(long, default_value_t = 10_000_000)]
        history: usize,
        /// Payments of each closed-loop measurement.
        #[arg(long, default_value_t = 4_000)]
        payments: usize,
        /// Clients of the closed-loop measurement.
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        /// createPayment calls a second in the open-loop measurement (10 s of them).
        #[arg(long, default_value_t = 300.0)]
        rate: f64,
    },
}
