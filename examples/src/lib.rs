//! Runnable examples of wooo live in this package's `examples/` targets; run `cargo run --example quickstart`.
