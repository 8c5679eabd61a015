//! The gateway's HTTP front: everything a request meets before an S3
//! handler. `http` is the S3 endpoint's router (request ids, CORS
//! preflight, the bare `/health`, s3s and its limits) and runs the guards:
//! `post_form` refuses unsigned form uploads before their file is read,
//! `xml_cap` caps XML bodies before they are parsed. `health` holds the
//! health answers and the admin address's router (`/metrics`, detailed
//! `/health`). `access` checks every signed request against its key's
//! grants (tenants). Imports point one way: `http` → `access`, `post_form`,
//! `xml_cap`, `health` → the rest of the crate.

mod access;
pub mod health;
pub mod http;
mod post_form;
mod xml_cap;
