//! The [`Transport`] trait: what a virtio device is reached through, and the
//! status handshake of both roles over it.

use openamp_metal::{Clock, Deadline, DelayNs, IoRegion};

use crate::queue::QueueConfig;
use crate::status::{
    negotiate, DeviceStatus, STATUS_ACKNOWLEDGE, STATUS_DRIVER, STATUS_DRIVER_OK, STATUS_FAILED,
    STATUS_FEATURES_OK, VIRTIO_RING_F_EVENT_IDX,
};
use crate::{Error, Result};

/// One vring as a transport describes it.
#[derive(Debug, Clone, Copy)]
pub struct VringInfo<'a> {
    /// The ring memory, starting at its descriptor table.
    pub ring: IoRegion<'a>,
    /// Number of entries.
    pub num: u32,
    /// Alignment of the used ring.
    pub align: u32,
    /// The id that kicks for this ring carry.
    pub notify_id: u32,
}

impl VringInfo<'_> {
    /// The queue configuration for this ring, with the negotiated `features`
    /// deciding `EVENT_IDX`.
    pub fn config(&self, features: u32) -> QueueConfig {
        QueueConfig::new(self.num, self.align)
            .with_event_idx(features & VIRTIO_RING_F_EVENT_IDX != 0)
    }
}

/// How one side reaches a virtio device: its vrings, buffer memory, status,
/// features, config space, and kicks to the other side.
///
/// The same trait serves both roles; `notify` kicks the *other* side. The
/// remoteproc layer implements it over a resource table's vdev entry; a
/// [`Loopback`](crate::Loopback) implements it for tests.
///
/// Features are the 32 bits a legacy device has.
pub trait Transport<'a> {
    /// The virtio device id (7 for RPMsg).
    fn device_id(&self) -> u32;
    /// Number of vrings.
    fn num_queues(&self) -> u16;
    /// Vring `index`, or [`Error::NoSuchQueue`].
    fn vring(&self, index: u16) -> Result<VringInfo<'a>>;
    /// The memory that buffers live in; descriptor addresses are translated
    /// through it.
    fn buffers(&self) -> Result<IoRegion<'a>>;
    /// Reads the status byte.
    fn status(&self) -> Result<DeviceStatus>;
    /// Writes the status byte.
    fn set_status(&self, status: DeviceStatus) -> Result<()>;
    /// The features the device offers.
    fn device_features(&self) -> Result<u32>;
    /// Sets the features the device offers (device side).
    fn set_device_features(&self, features: u32) -> Result<()>;
    /// The features the driver accepted.
    fn driver_features(&self) -> Result<u32>;
    /// Sets the features the driver accepts (driver side).
    fn set_driver_features(&self, features: u32) -> Result<()>;
    /// Size of the config space in bytes.
    fn config_len(&self) -> usize;
    /// Copies config space bytes from `offset` into `dst`.
    fn read_config(&self, offset: usize, dst: &mut [u8]) -> Result<()>;
    /// Copies `src` into config space at `offset`.
    fn write_config(&self, offset: usize, src: &[u8]) -> Result<()>;
    /// Kicks the other side about vring `queue`.
    fn notify(&self, queue: u16) -> Result<()>;
}

/// Driver side, step 1: resets the device, acknowledges it, accepts the
/// offered features that are also in `wanted`, and sets `FEATURES_OK`.
/// Returns the negotiated features. Then set up the queues, offer buffers,
/// and call [`driver_ready`].
pub fn driver_start<'a>(t: &impl Transport<'a>, wanted: u32) -> Result<u32> {
    t.set_status(DeviceStatus::RESET)?;
    let s = DeviceStatus(STATUS_ACKNOWLEDGE);
    t.set_status(s)?;
    let s = s.with(STATUS_DRIVER);
    t.set_status(s)?;
    let features = negotiate(t.device_features()?, wanted);
    t.set_driver_features(features)?;
    t.set_status(s.with(STATUS_FEATURES_OK))?;
    Ok(features)
}

/// Driver side, step 2: sets `DRIVER_OK`; the device may start.
pub fn driver_ready<'a>(t: &impl Transport<'a>) -> Result<()> {
    let s = t.status()?;
    t.set_status(s.with(STATUS_DRIVER_OK))
}

/// Driver side: gives up on the device (sets `FAILED`).
pub fn driver_fail<'a>(t: &impl Transport<'a>) -> Result<()> {
    let s = t.status()?;
    t.set_status(s.with(STATUS_FAILED))
}

/// Device side, without waiting: `Some(features)` (the negotiated ones) once
/// the driver set `DRIVER_OK`, `None` before. A `NEEDS_RESET` status is
/// answered, as OpenAMP does, by writing 0 and going on waiting; `FAILED`
/// gives [`Error::DriverFailed`].
pub fn device_poll_ready<'a>(t: &impl Transport<'a>) -> Result<Option<u32>> {
    let s = t.status()?;
    if s.failed() {
        return Err(Error::DriverFailed { status: s.0 });
    }
    if s.needs_reset() {
        t.set_status(DeviceStatus::RESET)?;
        return Ok(None);
    }
    if !s.driver_ok() {
        return Ok(None);
    }
    Ok(Some(negotiate(t.device_features()?, t.driver_features()?)))
}

/// Device side: polls [`device_poll_ready`] every `poll_ms` milliseconds
/// until `deadline`, then gives [`Error::Timeout`].
pub fn device_wait_ready<'a>(
    t: &impl Transport<'a>,
    clock: &impl Clock,
    deadline: Deadline,
    delay: &mut impl DelayNs,
    poll_ms: u32,
) -> Result<u32> {
    loop {
        if let Some(f) = device_poll_ready(t)? {
            return Ok(f);
        }
        if deadline.expired(clock) {
            return Err(Error::Timeout);
        }
        delay.delay_ms(poll_ms);
    }
}
