//! The remoteproc life cycle with RPMsg on top: a host `Remoteproc` on the
//! Linux-process platform starts the echo remote (the `demo` binary), sets
//! up the vdev through the resource table, runs the RPMsg echo to the end,
//! stops the remote, starts it again and does it all once more.

use std::path::PathBuf;
use std::time::Duration;

use openamp_examples_linux::ping;
use openamp_metal_sys_linux::{MonotonicClock, PrivateDir, SharedMemory};
use openamp_remoteproc::linux::{LinuxProcessLayout, LinuxProcessPlatform};
use openamp_remoteproc::{Remoteproc, Role, State};
use openamp_rpmsg::{Config, NotifyWait, RpmsgDevice};

const TIMEOUT: Duration = Duration::from_secs(10);

#[test]
fn remoteproc_starts_the_echo_remote_and_rpmsg_runs_to_the_end_twice() {
    // A fresh private directory: no other user can reach these paths.
    let dir = PrivateDir::new("openamp-rs-rproc-rpmsg-").unwrap();
    let layout = LinuxProcessLayout::in_dir(dir.path());
    let shm = SharedMemory::open_or_create(&layout.shm_path, layout.shm_size).unwrap();
    let platform = LinuxProcessPlatform::new(
        layout.clone(),
        shm.region(),
        env!("CARGO_BIN_EXE_demo"),
        ["--role", "remote"],
    );
    let mut rproc = Remoteproc::new(platform).unwrap();
    rproc.config().unwrap();
    rproc.prepare().unwrap();

    for round in 0..2 {
        rproc.start().unwrap();
        assert_eq!(rproc.state(), State::Running);
        let child = rproc.ops().pid().unwrap();
        let table = rproc.ops().table_region().unwrap();
        rproc.attach_table(table).unwrap();
        assert_eq!(rproc.resources().vdevs.len(), 1);
        {
            // The vdev from the table, as a virtio transport, carries RPMsg.
            let pool = rproc.ops().pool_region().unwrap();
            let transport = rproc.create_virtio(0, Role::Driver, pool).unwrap();
            let kicks = rproc.ops().kick().unwrap();
            let dev: RpmsgDevice<'_, '_, _, _> = RpmsgDevice::new_host(
                transport,
                NotifyWait {
                    kicks,
                    clock: MonotonicClock,
                },
                Config::default(),
            )
            .unwrap();
            let ep = ping::bind_demo(&dev, TIMEOUT).unwrap();
            let report = ping::run(&dev, ep, 1, TIMEOUT).unwrap();
            assert_eq!(
                report.messages, 496,
                "round {round}: every size from 1 to 496 echoed"
            );
            // Destroying the endpoint tells the echo remote to finish.
            dev.destroy_endpoint(ep).unwrap();
        }
        rproc.stop().unwrap();
        assert_eq!(rproc.state(), State::Stopped);
        assert!(
            !PathBuf::from(format!("/proc/{child}")).exists(),
            "remote {child} reaped"
        );
    }
    rproc.shutdown().unwrap();
    rproc.remove().unwrap();
}
