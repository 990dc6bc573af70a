//! AWS cost sources (feature `aws`).
