//! Starting the ZynqMP's R5 cores from the A53.
//!
//! Under QEMU the A53 runs at EL1 and QEMU's built-in PSCI firmware powers
//! the R5 on ([`psci_cpu_on`]). On a real ZCU102, ARM Trusted Firmware passes
//! the request to the platform management unit, which owns the RPU: the
//! usual call is the PM API's `pm_request_wakeup` ([`pm_request_wakeup`]).
//! QEMU runs no PMU firmware, so the latter is written from Xilinx's
//! published PM API and not tested here.

/// PSCI `CPU_ON` (SMC64): powers `cpu` on at `entry`. Returns PSCI's status
/// (0 = success, -2 invalid parameters, -4 already on).
pub fn psci_cpu_on(cpu: u64, entry: u64) -> i64 {
    let ret: i64;
    // SAFETY: an SMC with the PSCI CPU_ON function id only asks firmware to
    // power on another core at `entry`; it clobbers x0-x3 per the SMC calling
    // convention, which the operands declare, and touches none of our memory.
    unsafe {
        core::arch::asm!(
            "smc #0",
            inout("x0") u64::from(crate::machine::zynqmp::PSCI_CPU_ON) => ret,
            inout("x1") cpu => _,
            inout("x2") entry => _,
            inout("x3") 0u64 => _,
            options(nostack)
        )
    };
    ret
}

/// SiP service id of Xilinx's PM API calls through ATF.
const PM_SIP_SVC: u64 = 0xC200_0000;
/// PM API id of `pm_request_wakeup`.
const PM_REQUEST_WAKEUP: u64 = 10;
/// PM node id of RPU core 0.
pub const NODE_RPU_0: u32 = 7;
/// PM node id of RPU core 1.
pub const NODE_RPU_1: u32 = 8;
/// PM node id of R5 core 0's ATCM.
pub const NODE_TCM_0_A: u32 = 15;
/// PM node id of R5 core 0's BTCM.
pub const NODE_TCM_0_B: u32 = 16;
/// PM node id of R5 core 1's ATCM.
pub const NODE_TCM_1_A: u32 = 17;
/// PM node id of R5 core 1's BTCM.
pub const NODE_TCM_1_B: u32 = 18;
/// PM API id of `pm_request_node`.
const PM_REQUEST_NODE: u64 = 13;
/// `capabilities` of `pm_request_node`: access (the node powered and usable).
const PM_CAP_ACCESS: u32 = 1;
/// Highest quality of service.
const MAX_QOS: u32 = 100;
/// `ack` argument: wait until the PMU has done it.
const REQUEST_ACK_BLOCKING: u32 = 2;

/// Asks the PMU (through ATF) for `node` with access capability, e.g. the
/// R5's TCM banks before the A53 writes them ([`NODE_TCM_0_A`],
/// [`NODE_TCM_0_B`]). Returns the PM status word (0 = success). Hardware
/// only: see the module docs.
pub fn pm_request_node(node: u32) -> u32 {
    let arg0 = u64::from(node) | (u64::from(PM_CAP_ACCESS) << 32);
    let arg1 = u64::from(MAX_QOS) | (u64::from(REQUEST_ACK_BLOCKING) << 32);
    pm_call(PM_REQUEST_NODE, arg0, arg1)
}

fn pm_call(api: u64, arg0: u64, arg1: u64) -> u32 {
    let ret: u64;
    // SAFETY: an SMC to ATF's SiP service with a PM API call only asks
    // firmware to act on a node; the operands declare every register the SMC
    // calling convention lets it clobber, and it touches none of our memory.
    unsafe {
        core::arch::asm!(
            "smc #0",
            inout("x0") PM_SIP_SVC | api => ret,
            inout("x1") arg0 => _,
            inout("x2") arg1 => _,
            inout("x3") 0u64 => _,
            options(nostack)
        )
    };
    ret as u32
}

/// Asks the PMU (through ATF) to wake RPU node `node` at `entry`, which for
/// an R5 must be its reset vector: 0 (low vectors, ATCM) or 0xFFFF_0000
/// (high vectors); the PMU firmware takes no other address. Returns the PM
/// status word (0 = success). Hardware only: see the module docs.
pub fn pm_request_wakeup(node: u32, entry: u64) -> u32 {
    // Arguments go two 32-bit words per register: node and the low address
    // word with bit 0 set ("use this address"), then the high address word
    // and the acknowledgement mode.
    let arg0 = u64::from(node) | (((entry as u32 as u64) | 1) << 32);
    let arg1 = (entry >> 32) | (u64::from(REQUEST_ACK_BLOCKING) << 32);
    pm_call(PM_REQUEST_WAKEUP, arg0, arg1)
}
