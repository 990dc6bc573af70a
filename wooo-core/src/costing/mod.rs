//! Pure cost decision logic: allocation of node cost to workloads, and recommendations (idle, right-size,
//! commitment, spot). Every function here is pure: prices, capacity and usage in, figures out. The simulator's
//! analyzer and the cloud analyzers in `wooo-cost` feed them their own data.

mod allocate;
mod prices;
mod recommend;

pub use allocate::{CostInputs, allocate};
pub use prices::{InstancePrice, PriceTable};
pub use recommend::{RecommendInputs, recommend};
