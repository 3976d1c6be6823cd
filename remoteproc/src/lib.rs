#![doc = include_str!("../README.md")]
#![cfg_attr(not(test), no_std)]
#![deny(unsafe_code)]

/// The states of a remote processor, as OpenAMP names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Not initialised, or powered off.
    Offline,
    /// Configured, firmware not yet loaded.
    Configured,
    /// Firmware loaded, ready to start.
    Ready,
    /// Running.
    Running,
    /// Suspended.
    Suspended,
    /// Crashed or failed.
    Error,
    /// Stopped after running.
    Stopped,
}
