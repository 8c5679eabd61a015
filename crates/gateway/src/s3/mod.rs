//! The S3 wing: one module per area of the S3 API, each turning s3s's typed
//! requests into meta commands and data-path calls and back into S3 answers.
//! `service` is the s3s `S3` implementation that routes each operation to
//! its area; `common` holds what several areas share. Nothing here moves
//! bytes itself: that is the data wing (`crate::data`).

mod acl;
mod attributes;
mod bucket;
mod checksum;
mod common;
mod copy;
pub(crate) mod cors;
mod delete;
mod lifecycle;
mod list;
mod list_uploads;
mod list_versions;
mod multipart;
mod object;
mod part_copy;
mod policy;
mod service;
mod tagging;
mod unsupported;
mod versioning;

#[cfg(test)]
mod input_fuzz_tests;
