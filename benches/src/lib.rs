//! Criterion benches of wooo live in `benches/`.
