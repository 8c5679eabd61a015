//! What a call to one of meta's endpoints besides read and write is: the
//! path it goes to and the answer it gets (`MetaClient::call`). Its own
//! module so that every family of endpoints (`meta_api`, `repair_api`,
//! `health_api`) names it without importing another.

use serde::Serialize;
use serde::de::DeserializeOwned;

/// A request to one of meta's endpoints besides read and write: the path it
/// goes to and the answer it gets (`MetaClient::call`).
pub trait Endpoint: Serialize {
    const PATH: &'static str;
    type Answer: DeserializeOwned;
}
