//! The domain's rules, tested natively: one module per area, each test named after the rule
//! it checks. One test binary (`cargo test -p certflow-domain --test rules <module>::`).

mod common;

mod audit;
mod certificate;
mod complaints;
mod cycle;
mod decision;
mod input;
mod intake;
mod layers;
mod people;
mod programme;
mod properties;
mod recertification;
mod remote_audit;
mod review;
mod review_properties;
mod sampling;
mod team;
mod transfer;
