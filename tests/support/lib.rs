//! Helpers shared by wskit's integration tests.
