//! The pieces of the Linux demo, shared by the `demo` binary and the
//! integration tests: an RPMsg echo remote and a ping host, each one process,
//! meeting on OpenAMP's Linux-process platform (a shared file and a Unix
//! socket, laid out as `openamp_remoteproc::linux::LinuxProcessLayout` says).

pub mod bench;
pub mod echo;
pub mod ping;
pub mod profile;

use openamp_metal_sys_linux::{MonotonicClock, SocketNotifier};
use openamp_remoteproc::VdevTransport;
use openamp_rpmsg::{NotifyWait, RpmsgDevice};

/// The endpoint name OpenAMP's echo demo uses.
pub const DEMO_CHANNEL: &str = "rpmsg-openamp-demo-channel";

/// A payload that tells OpenAMP's echo remote (and ours) to stop.
pub const SHUTDOWN_MAGIC: u32 = 0xEF56_A55A;

/// The RPMsg device both sides use: a vdev transport over the shared file,
/// woken by the socket.
pub type Device<'a, 'cb> = RpmsgDevice<
    'a,
    'cb,
    VdevTransport<'a, &'a SocketNotifier>,
    NotifyWait<&'a SocketNotifier, MonotonicClock>,
>;

/// The demo's payload for message `seq` of `size` bytes: easy to check,
/// different for every message.
pub fn pattern(seq: u64, size: usize, out: &mut [u8]) {
    let mut x = seq.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ size as u64;
    for b in out.iter_mut().take(size) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x as u8;
    }
}
