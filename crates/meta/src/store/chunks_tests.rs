//! Tests of chunk placement records.
