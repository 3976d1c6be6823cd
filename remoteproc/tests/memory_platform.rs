//! Loading a real firmware into ordinary memory with `MemoryPlatform`, as
//! the firmware sees its addresses.

use openamp_metal::IoRegion;
use openamp_remoteproc::elf::LoadOptions;
use openamp_remoteproc::{Error, MemPool, MemoryPlatform, Remoteproc, Role, SliceStore, State};
use openamp_rsc_table::{ResourceTable, FW_RSC_ADDR_ANY};
use openamp_virtio::Transport;

/// The R5 smoke firmware: linked at 0x3ED00000, a trace buffer at
/// 0x3FD01000, its two vrings left to the host.
const FIRMWARE: &[u8] = include_bytes!("fixtures/zcu102-r5-smoke.elf");
const BASE: u64 = 0x3ED0_0000;
const SIZE: usize = 0x0100_2000;
const POOL: u64 = 0x3F00_0000;

#[test]
fn a_firmware_loads_into_a_vec_at_its_own_addresses() {
    let mut ram = vec![0u8; SIZE];
    let platform = MemoryPlatform::new(&mut ram, BASE).unwrap();
    let pool = platform.pool(POOL, 0x10_0000).unwrap();
    let mut rproc = Remoteproc::new(platform).unwrap();
    rproc.set_pool(pool);
    rproc.config().unwrap();
    let image = rproc
        .load(
            &mut SliceStore::new(FIRMWARE),
            "smoke",
            &LoadOptions::default(),
        )
        .unwrap();
    assert_eq!(rproc.state(), State::Ready);
    assert!(image.entry >= BASE);
    // The host placed both vrings in the pool and wrote where into the
    // table, as 32-bit device addresses of this memory.
    let table = rproc.table().unwrap();
    let mut bytes = vec![0u8; table.size().min(0x1000)];
    table.read_bytes(0, &mut bytes).unwrap();
    let parsed = ResourceTable::parse(&bytes).unwrap();
    let (_, vdev) = parsed.find_vdev(7).unwrap();
    for v in vdev.vrings() {
        assert_ne!(v.da, FW_RSC_ADDR_ANY);
        assert!((POOL..POOL + 0x10_0000).contains(&u64::from(v.da)), "{v:?}");
        assert_eq!(v.pa, v.da, "pa is the memory's physical address");
    }
    assert_eq!(rproc.traces()[0].da, 0x3FD0_1000);
    // Its vdev is a working transport, and the platform counts kicks.
    let at = (POOL + 0x8_0000 - BASE) as usize;
    let bufs = rproc.ops().region().sub_region(at, 0x1000).unwrap();
    let notify_id = rproc.resources().vdevs[0].notify_id;
    let host = rproc.create_virtio(notify_id, Role::Driver, bufs).unwrap();
    assert_eq!(host.device_id(), 7);
    host.notify(0).unwrap();
    drop(host);
    assert_eq!(rproc.ops().kicks().0, 1);
    rproc.start().unwrap();
    assert!(rproc.ops().is_running());
}

/// Memory whose physical addresses are a 64-bit process's virtual ones
/// cannot hold a table's 32-bit addresses: the error says which entry and
/// field.
#[test]
fn an_address_too_large_names_its_entry_and_field() {
    let mut ram = vec![0u8; SIZE];
    let platform = MemoryPlatform::new(&mut ram, BASE).unwrap();
    let mut far = vec![0u8; 0x10_0000];
    let far = IoRegion::from_slice(&mut far);
    if far.offset_to_phys(0).unwrap() <= u64::from(u32::MAX) {
        panic!("this test needs a 64-bit address space above 4 GiB");
    }
    let mut rproc = Remoteproc::new(platform).unwrap();
    rproc.set_pool(MemPool::new(far, POOL));
    rproc.config().unwrap();
    let err = rproc
        .load(
            &mut SliceStore::new(FIRMWARE),
            "smoke",
            &LoadOptions::default(),
        )
        .unwrap_err();
    match &err {
        Error::AddressTooLarge {
            entry,
            field,
            value,
        } => {
            assert_eq!((*entry, *field), (0, "vring 0 pa"), "{err}");
            assert!(*value > u64::from(u32::MAX));
        }
        other => panic!("unexpected {other}"),
    }
    assert!(
        err.to_string().starts_with("entry 0: vring 0 pa 0x"),
        "{err}"
    );
}

#[test]
fn memory_outside_the_platform_is_unmapped_and_any_comes_from_the_top() {
    use openamp_remoteproc::RemoteprocOps;
    let mut ram = vec![0u8; 0x4000];
    let mut p = MemoryPlatform::new(&mut ram, 0x1000).unwrap();
    assert!(matches!(
        p.mmap(None, Some(0x0800), 0x100),
        Err(Error::Unmapped { .. })
    ));
    assert!(matches!(
        p.mmap(None, Some(0x4F00), 0x200),
        Err(Error::Unmapped { .. })
    ));
    let a = p.mmap(None, None, 0x1000).unwrap();
    assert_eq!(a.da, 0x4000);
    let b = p.mmap(None, None, 0x800).unwrap();
    assert_eq!(b.da, 0x3000);
    assert!(matches!(
        p.mmap(None, None, 0x4000),
        Err(Error::OutOfMemory { .. })
    ));
}
