//! The Cadence UART of Zynq-7000 and ZynqMP, as a polled console.
//!
//! It assumes the boot loader has set the baud rate (as Xilinx's FSBL does);
//! [`CadenceUart::enable`] only turns the transmitter and receiver on, which
//! is also all QEMU's model needs.

use openamp_metal::IoRegion;

/// Control register.
const CR: usize = 0x00;
/// Mode register.
const MR: usize = 0x04;
/// Channel status register.
const SR: usize = 0x2C;
/// TX/RX FIFO.
const FIFO: usize = 0x30;
/// CR: enable the receiver and the transmitter.
const CR_RX_TX_EN: u32 = 0x14;
/// MR: 8 data bits, no parity, 1 stop bit, normal mode.
const MR_8N1: u32 = 0x20;
/// SR: transmit FIFO full.
const SR_TXFULL: u32 = 1 << 4;
/// SR: receive FIFO empty.
const SR_RXEMPTY: u32 = 1 << 1;
/// How long to wait for room in the FIFO before dropping a byte, so that a
/// stuck UART can never hang the firmware.
const TX_SPIN_LIMIT: u32 = if cfg!(miri) { 1_000 } else { 1_000_000 };

/// A Cadence UART driven by polling.
#[derive(Debug, Clone, Copy)]
pub struct CadenceUart<'a> {
    regs: IoRegion<'a>,
}

impl<'a> CadenceUart<'a> {
    /// Size of the register window.
    pub const REGS_LEN: usize = 0x48;

    /// A UART whose registers are `regs` (at least [`Self::REGS_LEN`] bytes).
    pub fn new(regs: IoRegion<'a>) -> Result<Self, openamp_metal::Error> {
        regs.check(0, Self::REGS_LEN)?;
        Ok(CadenceUart { regs })
    }

    /// Turns on the transmitter and receiver in 8N1 mode.
    pub fn enable(&self) {
        // In bounds by construction: `new` checked the register window.
        let _ = self.regs.write_u32(MR, MR_8N1);
        let _ = self.regs.write_u32(CR, CR_RX_TX_EN);
    }

    /// Sends one byte, waiting (boundedly) for room in the FIFO.
    /// Returns false if the byte was dropped because the FIFO stayed full.
    pub fn write_byte(&self, byte: u8) -> bool {
        for _ in 0..TX_SPIN_LIMIT {
            match self.regs.read_u32(SR) {
                Ok(sr) if sr & SR_TXFULL == 0 => {
                    return self.regs.write_u32(FIFO, u32::from(byte)).is_ok();
                }
                Ok(_) => core::hint::spin_loop(),
                Err(_) => return false,
            }
        }
        false
    }

    /// Receives one byte if one is waiting.
    pub fn read_byte(&self) -> Option<u8> {
        match self.regs.read_u32(SR) {
            Ok(sr) if sr & SR_RXEMPTY == 0 => self.regs.read_u32(FIFO).ok().map(|v| v as u8),
            _ => None,
        }
    }
}

impl core::fmt::Write for CadenceUart<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        for b in s.bytes() {
            // Terminals want CR LF.
            if b == b'\n' {
                self.write_byte(b'\r');
            }
            self.write_byte(b);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::fmt::Write;

    #[repr(align(8))]
    struct Regs([u8; CadenceUart::REGS_LEN]);

    #[test]
    fn enable_and_write_go_to_the_registers() {
        let mut mem = Regs([0; CadenceUart::REGS_LEN]);
        let regs = IoRegion::from_slice(&mut mem.0);
        let mut uart = CadenceUart::new(regs).unwrap();
        uart.enable();
        assert_eq!(regs.read_u32(CR).unwrap(), 0x14);
        assert_eq!(regs.read_u32(MR).unwrap(), 0x20);
        uart.write_str("hi\n").unwrap();
        // RAM keeps only the last FIFO write.
        assert_eq!(regs.read_u32(FIFO).unwrap(), u32::from(b'\n'));
        // RX: empty flag clear, a byte waiting.
        regs.write_u32(FIFO, u32::from(b'x')).unwrap();
        assert_eq!(uart.read_byte(), Some(b'x'));
        regs.write_u32(SR, SR_RXEMPTY).unwrap();
        assert_eq!(uart.read_byte(), None);
    }

    #[test]
    fn a_full_fifo_drops_instead_of_hanging() {
        let mut mem = Regs([0; CadenceUart::REGS_LEN]);
        let regs = IoRegion::from_slice(&mut mem.0);
        regs.write_u32(SR, SR_TXFULL).unwrap();
        let uart = CadenceUart::new(regs).unwrap();
        assert!(!uart.write_byte(b'a'));
        assert_eq!(regs.read_u32(FIFO).unwrap(), 0);
    }

    #[test]
    fn a_short_register_window_is_rejected() {
        let mut mem = [0u8; 16];
        let regs = IoRegion::from_slice(&mut mem);
        assert!(matches!(
            CadenceUart::new(regs),
            Err(openamp_metal::Error::OutOfRange { .. })
        ));
    }
}
