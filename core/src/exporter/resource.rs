//! The process's resource: what every exported span says about where it
//! comes from.

use crate::model::value::Attribute;

/// `service.name` and the other resource attributes, in the order given; a
/// key given twice is written once, with its last value.
#[derive(Clone, Debug, PartialEq)]
pub struct Resource {
    pub attributes: Vec<Attribute>,
}
