//! System-wide set-up and tear-down, as libmetal's `metal_init`/`metal_finish`.

use crate::Result;

/// A platform's one-time initialisation and its undoing.
///
/// Backends implement it for their platform type: bare metal sets up the
/// console and interrupt controller, Linux opens what it needs.
pub trait System {
    /// Brings the platform up. Calling it twice is allowed and does nothing more.
    fn init(&mut self) -> Result<()>;
    /// Releases what `init` took.
    fn finish(&mut self);
}
