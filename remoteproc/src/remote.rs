//! The remote's side: attach to its own resource table (nothing to load),
//! wait for the host's `DRIVER_OK`, and use the same transport.

use core::time::Duration;

use openamp_metal::{Clock, DelayNs, IoRegion, Notify};
use openamp_rsc_table::ResourceTable;
use openamp_virtio::transport::device_wait_ready;

use crate::mem::AddressSpace;
use crate::vdev::{copy_table, find_vdev_by_notify_id, VdevTransport};
use crate::{Error, Result};

/// The device-role transport of the vdev whose notify id is `notify_id` in
/// the remote's own table at the start of `table`; vrings are found through
/// `mem`, buffers in `buffers`, kicks go through `notifier`.
pub fn attach<'a, N: Notify>(
    table: IoRegion<'a>,
    notify_id: u32,
    mem: &impl AddressSpace<'a>,
    buffers: IoRegion<'a>,
    notifier: N,
) -> Result<VdevTransport<'a, N>> {
    let bytes = copy_table(&table)?;
    let parsed = ResourceTable::parse(&bytes)?;
    let index = find_vdev_by_notify_id(&parsed, notify_id)?;
    VdevTransport::remote(table, index, mem, buffers, notifier)
}

/// Waits up to `timeout` for the host's `DRIVER_OK`, polling every
/// millisecond as OpenAMP does, and returns the negotiated features.
pub fn wait_driver_ok<'a, N: Notify>(
    t: &VdevTransport<'a, N>,
    clock: &impl Clock,
    delay: &mut impl DelayNs,
    timeout: Duration,
) -> Result<u32> {
    let deadline = clock.deadline(timeout);
    device_wait_ready(t, clock, deadline, delay, 1).map_err(|e| match e {
        openamp_virtio::Error::Timeout => Error::Timeout { what: "DRIVER_OK" },
        e => Error::Virtio(e),
    })
}
