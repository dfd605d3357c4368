//! What a run has made: `state.json` under the state directory.

mod layout;

pub use layout::Layout;
