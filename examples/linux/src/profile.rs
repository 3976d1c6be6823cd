//! Peer profiles: our host and remote writing the wire the way a particular
//! real peer does (see `openamp_rpmsg::conventions`), so that tests meet
//! OpenAMP C's and Linux's habits without running either.
//!
//! A profile changes only what this side writes; what it accepts is always
//! everything any profile writes.

use openamp_rpmsg::conventions::{Conventions, TxDescriptorLen, TxReuse, UsedLen};
use openamp_rpmsg::Config;

/// A named set of wire conventions.
#[derive(Debug, Clone, Copy)]
pub struct Profile {
    /// The name `demo --profile` takes.
    pub name: &'static str,
    /// What it reproduces.
    pub about: &'static str,
    /// What this side writes.
    pub conventions: Conventions,
}

impl Profile {
    /// The device configuration of this profile (default buffers and
    /// features).
    pub fn config(&self) -> Config {
        Config {
            conventions: self.conventions,
            ..Config::default()
        }
    }
}

/// Every profile.
pub const PROFILES: &[Profile] = &[
    Profile {
        name: "ours",
        about: "this crate's defaults: what OpenAMP C and Linux both accept",
        conventions: Conventions::OURS,
    },
    Profile {
        name: "openamp-c",
        about: "OpenAMP C v2025.10.0: junk after name NULs and in `reserved`, whole-buffer \
                lengths, DRIVER_OK alone, returned buffers reused at once",
        conventions: Conventions::OPENAMP_C,
    },
    Profile {
        name: "linux",
        about: "Linux virtio_rpmsg_bus (a host): message-sized transmit descriptors, \
                status 0x0F",
        conventions: Conventions::LINUX,
    },
    Profile {
        name: "spec",
        about: "the virtio specification read literally: used len = bytes written (0 for a \
                consumed buffer), message-sized descriptors, no kick suppression",
        conventions: Conventions {
            used_len: UsedLen::Written,
            tx_descriptor_len: TxDescriptorLen::Message,
            suppress_kicks: false,
            ..Conventions::OURS
        },
    },
    Profile {
        name: "message-len",
        about: "used len = message size for every returned buffer, OpenAMP C's junk, \
                returned buffers reused at once",
        conventions: Conventions {
            used_len: UsedLen::Message,
            tx_reuse: TxReuse::ReturnedFirst,
            ..Conventions::OPENAMP_C
        },
    },
];

/// The profile called `name`.
pub fn find(name: &str) -> Result<&'static Profile, String> {
    PROFILES.iter().find(|p| p.name == name).ok_or_else(|| {
        let names: Vec<_> = PROFILES.iter().map(|p| p.name).collect();
        format!("unknown profile {name:?} (one of: {})", names.join(", "))
    })
}
