//! The offline quickstart (being written).
fn main() {}
