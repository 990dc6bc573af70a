//! The domain model: specs in, observed state out. Every type is serde, so host programs keep specs in git
//! as YAML or JSON ([`from_yaml`], [`from_yaml_file`]).

mod app;
mod cluster;
mod common;
mod cost;
mod mesh;
mod prices;
mod units;

pub use app::*;
pub use cluster::*;
pub use common::*;
pub use cost::*;
pub use mesh::*;
pub use prices::{Arch, CommitmentDiscount, InstancePrice, PriceTable};
pub use units::{
    Cpu, Currency, HOURS_PER_MONTH, HourlyRate, Memory, Money, MoneyError, MonthlyRate, ParseUnitError, PerHour,
    PerMonth, Period, Rate, duration_str, format_duration, opt_duration_str, parse_duration,
};
