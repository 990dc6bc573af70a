//! wooo's cost analyzers. (Being written.)
