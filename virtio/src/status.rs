//! Device status and feature bits.
//!
//! Status is a set of bits, tested one by one: OpenAMP hosts write
//! `DRIVER_OK` alone, Linux writes `ACKNOWLEDGE | DRIVER | FEATURES_OK |
//! DRIVER_OK`, and both mean "ready".

/// Device status: the driver noticed the device.
pub const STATUS_ACKNOWLEDGE: u8 = 0x01;
/// Device status: the driver knows how to drive it.
pub const STATUS_DRIVER: u8 = 0x02;
/// Device status: the driver is ready.
pub const STATUS_DRIVER_OK: u8 = 0x04;
/// Device status: feature negotiation is complete.
pub const STATUS_FEATURES_OK: u8 = 0x08;
/// Device status: the device needs a reset.
pub const STATUS_NEEDS_RESET: u8 = 0x40;
/// Device status: the driver gave up on the device.
pub const STATUS_FAILED: u8 = 0x80;

/// Feature bit: the event-index notification scheme (`used_event` /
/// `avail_event`), bit 29.
pub const VIRTIO_RING_F_EVENT_IDX: u32 = 1 << 29;
/// Feature bit: indirect descriptors, bit 28. Never offered or accepted here.
pub const VIRTIO_RING_F_INDIRECT_DESC: u32 = 1 << 28;

/// The device status byte, as a set of bits.
///
/// ```
/// use openamp_virtio::DeviceStatus;
/// // An OpenAMP host writes DRIVER_OK alone; Linux writes 0x0F.
/// assert!(DeviceStatus(0x04).driver_ok());
/// assert!(DeviceStatus(0x0F).driver_ok());
/// assert!(!DeviceStatus(0x0B).driver_ok());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DeviceStatus(pub u8);

impl DeviceStatus {
    /// No bit set: the device is reset.
    pub const RESET: DeviceStatus = DeviceStatus(0);

    /// Whether every bit of `bits` is set.
    pub const fn contains(self, bits: u8) -> bool {
        self.0 & bits == bits
    }
    /// This status with `bits` set too.
    #[must_use]
    pub const fn with(self, bits: u8) -> DeviceStatus {
        DeviceStatus(self.0 | bits)
    }
    /// This status with `bits` cleared.
    #[must_use]
    pub const fn without(self, bits: u8) -> DeviceStatus {
        DeviceStatus(self.0 & !bits)
    }
    /// `DRIVER_OK` is set.
    pub const fn driver_ok(self) -> bool {
        self.contains(STATUS_DRIVER_OK)
    }
    /// `FEATURES_OK` is set.
    pub const fn features_ok(self) -> bool {
        self.contains(STATUS_FEATURES_OK)
    }
    /// `NEEDS_RESET` is set.
    pub const fn needs_reset(self) -> bool {
        self.contains(STATUS_NEEDS_RESET)
    }
    /// `FAILED` is set.
    pub const fn failed(self) -> bool {
        self.contains(STATUS_FAILED)
    }
}

/// The features both sides use: those the device offers and the driver accepted.
///
/// OpenAMP's remote does exactly this (`dfeatures & gfeatures`), and so never
/// uses a bit the driver did not accept, whatever the driver wrote.
pub const fn negotiate(device: u32, driver: u32) -> u32 {
    device & driver
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_not_values() {
        let s = DeviceStatus::RESET
            .with(STATUS_ACKNOWLEDGE)
            .with(STATUS_DRIVER);
        assert!(!s.driver_ok());
        let s = s.with(STATUS_FEATURES_OK).with(STATUS_DRIVER_OK);
        assert_eq!(s, DeviceStatus(0x0F));
        assert!(s.driver_ok() && s.features_ok());
        assert!(!s.failed() && !s.needs_reset());
        assert!(DeviceStatus(0xC4).failed() && DeviceStatus(0xC4).needs_reset());
        assert_eq!(s.without(STATUS_DRIVER_OK), DeviceStatus(0x0B));
        assert_eq!(negotiate(0b1011, 0b0110), 0b0010);
    }
}
