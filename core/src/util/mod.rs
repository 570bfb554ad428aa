//! Leaf helpers shared by several subsystems; nothing here depends on the
//! rest of the crate except `error`.

pub(crate) mod bounds;
pub(crate) mod clock;
pub(crate) mod fasthash;
pub(crate) mod intern;
pub(crate) mod json_depth;
pub(crate) mod padded;
pub(crate) mod parse;
pub(crate) mod url;
