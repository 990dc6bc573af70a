//! wooo's providers. (Being written.)
