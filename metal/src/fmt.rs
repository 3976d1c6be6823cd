//! Logging macros that forward to `defmt` or `log`, chosen by feature.
//!
//! `trace!`, `debug!`, `info!`, `warn!` and `error!` take a format string and
//! arguments. With feature `log` they go to the `log` crate; with `defmt` to
//! `defmt` (the calling crate must then depend on `defmt` itself, as defmt's
//! macros require); with neither they compile to nothing but still evaluate
//! nothing and keep the arguments "used". Enabling both is an error.

#[cfg(all(feature = "defmt", feature = "log"))]
compile_error!("features `defmt` and `log` of openamp-metal are mutually exclusive");

#[doc(hidden)]
#[cfg(feature = "log")]
pub use log as __log;

#[doc(hidden)]
#[macro_export]
macro_rules! __openamp_log {
    ($level:ident, $s:literal $(, $x:expr)* $(,)?) => {{
        #[cfg(feature = "log")]
        $crate::fmt::__log::$level!($s $(, $x)*);
        #[cfg(feature = "defmt")]
        ::defmt::$level!($s $(, $x)*);
        #[cfg(not(any(feature = "log", feature = "defmt")))]
        let _ = ($( & $x ),*);
    }};
}

/// Logs at trace level.
#[macro_export]
macro_rules! trace {
    ($($t:tt)*) => { $crate::__openamp_log!(trace, $($t)*) };
}
/// Logs at debug level.
#[macro_export]
macro_rules! debug {
    ($($t:tt)*) => { $crate::__openamp_log!(debug, $($t)*) };
}
/// Logs at info level.
#[macro_export]
macro_rules! info {
    ($($t:tt)*) => { $crate::__openamp_log!(info, $($t)*) };
}
/// Logs at warning level.
#[macro_export]
macro_rules! warn {
    ($($t:tt)*) => { $crate::__openamp_log!(warn, $($t)*) };
}
/// Logs at error level.
#[macro_export]
macro_rules! error {
    ($($t:tt)*) => { $crate::__openamp_log!(error, $($t)*) };
}
