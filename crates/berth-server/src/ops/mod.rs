//! One module per resource family, each with the handlers of its operations. Handlers take the typed request
//! (snake_case fields, camelCase on the wire) and return the response JSON.

pub mod account;
pub mod agent;
pub mod attributes;
pub mod clusters;
pub mod instance_identity;
pub mod instances;
pub mod link;
pub mod services;
pub mod tags;
pub mod taskdefs;
pub mod tasks;
