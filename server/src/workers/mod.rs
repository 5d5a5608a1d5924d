//! Background work, each as one step (`run_once`, testable) plus a loop around it.

pub mod alerts;
pub mod purge;
pub mod watchdog;
