//! `Remoteproc::load` of hostile firmware, then `create_virtio` on what it
//! found, on a platform made of plain memory.
//!
//! An input that starts with the ELF magic is loaded as it is, on a
//! platform laid out like the ZCU102 boards (the committed board firmware
//! is a seed). Any other input describes an image: ELF32 or ELF64, its
//! machine, loadable segments anywhere (inside memory, across its ends,
//! overlapping, wrapping, vaddr != paddr) and a `.resource_table` section
//! built entry by entry (carveouts, device memory, traces, vdevs with
//! vrings and config space, vendor and unknown entries) with any field,
//! offsets that may lie, placed where its section header may not say; or
//! such a table that the remote writes itself (`attach_table`).
//!
//! Always: no panic, no hang. A refused image is refused before the
//! platform is asked for memory and with memory untouched; a loaded one
//! has every segment's bytes where its header says and zeros after them.
//! Every transport `create_virtio` gives has vrings large enough for their
//! layout, inside memory, clear of each other, of the table and of the
//! buffers; a driver and a device on them exchange a buffer.

#![no_main]

use std::cell::RefCell;

use libfuzzer_sys::fuzz_target;
use openamp_metal::{IoAttr, IoRegion, NoCache, Notify, PhysMap};
use openamp_remoteproc::elf::{ElfLimits, LoadOptions};
use openamp_remoteproc::{
    Error, Mapping, Remoteproc, RemoteprocOps, Role, SliceStore, State, VdevTransport,
};
use openamp_rsc_table::ResourceTable;
use openamp_virtio::transport::{device_poll_ready, driver_ready, driver_start};
use openamp_virtio::{DeviceQueue, DriverQueue, Segment, Transport, VringLayout};

const PAGE: usize = 4096;
const ANY: u32 = 0xffff_ffff;

#[derive(Clone, Copy)]
#[repr(C, align(4096))]
struct Page([u8; PAGE]);

thread_local! {
    /// The platform's memory, kept from run to run and zeroed each time.
    static POOL: RefCell<Vec<Page>> = const { RefCell::new(Vec::new()) };
}

/// Whether `bytes` are all zero (through `memcmp`: a loop over them would
/// be a traced comparison per byte, most of a run).
fn zero(bytes: &[u8]) -> bool {
    static ZEROS: [u8; PAGE] = [0; PAGE];
    bytes.chunks(PAGE).all(|c| c == &ZEROS[..c.len()])
}

/// A memory of the platform: device address and size.
#[derive(Clone, Copy)]
struct Bank {
    da: u64,
    size: usize,
}

/// Board-like memory for the real firmware: the R5's DDR window and its
/// trace buffer, the A53's, a pool for what the table leaves to the host.
const BOARD: [Bank; 3] = [
    Bank {
        da: 0x3ed0_0000,
        size: 0x1_0000,
    },
    Bank {
        da: 0x3fd0_0000,
        size: 0x2000,
    },
    Bank {
        da: 0x1000_0000,
        size: 0x1_4000,
    },
];
const BOARD_POOL: Bank = Bank {
    da: 0x7000_0000,
    size: 0xc000,
};
/// Small memory for described images.
const SMALL: [Bank; 2] = [
    Bank {
        da: 0x1000_0000,
        size: 0x4000,
    },
    Bank {
        da: 0x2000_0000,
        size: 0x4000,
    },
];
const SMALL_POOL: Bank = Bank {
    da: 0x3000_0000,
    size: 0x4000,
};
/// Where `mmap` puts a carveout whose address is "any".
const ANY_DA: u64 = 0x5000_0000;
const ANY_SIZE: usize = 0x2000;
/// The host's buffers, which the remote does not see as memory.
const BUFS: usize = 0x1000;

/// `FUZZ_TRACE=1` prints what each run did, to read a crash.
fn tracing() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("FUZZ_TRACE").is_some())
}

macro_rules! trace {
    ($($t:tt)*) => {
        if tracing() {
            eprintln!($($t)*);
        }
    };
}

struct Input<'d>(&'d [u8]);

impl Input<'_> {
    fn bytes(&mut self, n: usize) -> u64 {
        let (a, b) = self.0.split_at(n.min(self.0.len()));
        self.0 = b;
        a.iter()
            .rev()
            .fold(0u64, |acc, &x| (acc << 8) | u64::from(x))
    }
    fn u8(&mut self) -> u8 {
        self.bytes(1) as u8
    }
    fn u16(&mut self) -> u16 {
        self.bytes(2) as u16
    }
    fn u32(&mut self) -> u32 {
        self.bytes(4) as u32
    }
}

/// The platform: memories at device addresses, a bump allocator for
/// "any", and a record of what it was asked.
struct Platform<'a> {
    banks: Vec<(Bank, IoRegion<'a>)>,
    any: IoRegion<'a>,
    any_next: usize,
    get_mem: bool,
    vendor: u8,
    mmaps: usize,
    /// `get_mem` calls.
    asked: std::cell::Cell<usize>,
    notified: RefCell<Vec<u32>>,
}

impl<'a> Platform<'a> {
    fn find(&self, da: u64, len: u64) -> Option<Mapping<'a>> {
        self.banks.iter().find_map(|(b, r)| {
            let off = da.checked_sub(b.da)?;
            let end = off.checked_add(len)?;
            (end <= b.size as u64).then(|| Mapping {
                da,
                region: r.sub_region(off as usize, len as usize).unwrap(),
            })
        })
    }
}

impl<'a> RemoteprocOps<'a> for Platform<'a> {
    fn mmap(
        &mut self,
        pa: Option<u64>,
        da: Option<u64>,
        len: u64,
    ) -> openamp_remoteproc::Result<Mapping<'a>> {
        self.mmaps += 1;
        match da.or(pa) {
            Some(a) => self.find(a, len).ok_or(Error::Unmapped { da: a, len }),
            None => {
                let start = self.any_next.next_multiple_of(PAGE);
                let oom = Error::OutOfMemory {
                    len: len as usize,
                    align: PAGE,
                    free: ANY_SIZE.saturating_sub(start),
                };
                let end = usize::try_from(len)
                    .ok()
                    .and_then(|l| start.checked_add(l))
                    .ok_or(oom.clone())?;
                if end > ANY_SIZE {
                    return Err(oom);
                }
                self.any_next = end;
                Ok(Mapping {
                    da: ANY_DA + start as u64,
                    region: self.any.sub_region(start, end - start).unwrap(),
                })
            }
        }
    }

    fn get_mem(&self, da: u64, len: u64) -> Option<Mapping<'a>> {
        self.asked.set(self.asked.get() + 1);
        if !self.get_mem {
            return None;
        }
        // The whole memory that holds it, as a platform that mapped it
        // all at start-up answers.
        self.banks.iter().find_map(|(b, r)| {
            let off = da.checked_sub(b.da)?;
            (off.checked_add(len)? <= b.size as u64).then_some(Mapping {
                da: b.da,
                region: *r,
            })
        })
    }

    fn handle_rsc(
        &mut self,
        _index: usize,
        kind: u32,
        entry: IoRegion<'a>,
    ) -> openamp_remoteproc::Result<bool> {
        match self.vendor & 3 {
            0 => Ok(false),
            1 => {
                // A handler that writes its entry: only inside it.
                let _ = entry.write_u8(entry.size().saturating_sub(1), kind as u8);
                Ok(true)
            }
            2 => Err(Error::Unsupported {
                op: "vendor resource",
            }),
            _ => Ok(kind % 2 == 0),
        }
    }

    fn start(&mut self) -> openamp_remoteproc::Result<()> {
        Ok(())
    }

    fn stop(&mut self) -> openamp_remoteproc::Result<()> {
        Ok(())
    }

    fn shutdown(&mut self) -> openamp_remoteproc::Result<()> {
        self.any_next = 0;
        Ok(())
    }

    fn notify(&self, id: u32) -> openamp_remoteproc::Result<()> {
        self.notified.borrow_mut().push(id);
        Ok(())
    }
}

struct NoKick;
impl Notify for NoKick {
    fn notify(&self, _id: u32) -> openamp_metal::Result<()> {
        Ok(())
    }
}

fuzz_target!(|data: &[u8]| {
    let raw = data.starts_with(b"\x7fELF");
    let (banks, pool): (&[Bank], Bank) = if raw {
        (&BOARD, BOARD_POOL)
    } else {
        (&SMALL, SMALL_POOL)
    };
    let total: usize = banks.iter().map(|b| b.size).sum::<usize>() + pool.size + ANY_SIZE + BUFS;
    let mut mem = POOL.with(|p| p.take());
    if mem.len() < total / PAGE {
        mem.resize(total / PAGE, Page([0; PAGE]));
    }
    for p in mem[..total / PAGE].iter_mut() {
        p.0.fill(0);
    }
    run(&mut mem[..total / PAGE], banks, pool, data, raw);
    POOL.with(|p| *p.borrow_mut() = mem);
});

fn run(mem: &mut [Page], banks: &[Bank], pool_bank: Bank, data: &[u8], raw: bool) {
    let base = mem.as_mut_ptr().cast::<u8>();
    let size = mem.len() * PAGE;
    // SAFETY: `mem` is borrowed for the whole run and only used through
    // this region; its "physical" addresses are not used.
    let all = unsafe { IoRegion::new(base, size, PhysMap::None, IoAttr::UNCACHED) }.unwrap();
    let mut at = 0;
    let mut carve = |len: usize, da: u64| {
        let r = all.sub_region(at, len).unwrap();
        at += len;
        // SAFETY: a part of `mem`, as above, now with device addresses as
        // its physical ones (no IOMMU).
        unsafe { IoRegion::new(r.as_ptr(), len, PhysMap::Contiguous(da), IoAttr::UNCACHED) }
            .unwrap()
    };
    let regions: Vec<(Bank, IoRegion<'_>)> =
        banks.iter().map(|b| (*b, carve(b.size, b.da))).collect();
    let pool = carve(pool_bank.size, pool_bank.da);
    let any = carve(ANY_SIZE, ANY_DA);
    let bufs = carve(BUFS, 0x6000_0000);

    let mut inp = Input(if raw { &[] } else { data });
    let flags = if raw { 0x08 } else { inp.u8() };
    let platform = Platform {
        banks: regions.clone(),
        any,
        any_next: 0,
        get_mem: flags & 0x10 != 0,
        vendor: flags >> 5,
        mmaps: 0,
        asked: std::cell::Cell::new(0),
        notified: RefCell::new(Vec::new()),
    };
    let mut rproc = Remoteproc::new(platform).unwrap();
    rproc.config().unwrap();
    if flags & 0x08 != 0 {
        rproc.set_pool(openamp_remoteproc::MemPool::new(pool, pool_bank.da));
    }
    let chunk = [4096, 1, 7, 64, 0, 512, 3, 100][usize::from(inp.u8() & 7)];
    let limits = ElfLimits::DEFAULT;
    let opts = LoadOptions { limits, chunk };

    let image;
    let result = if raw {
        image = Vec::new();
        rproc
            .load(&mut SliceStore::new(data), "fw", &opts)
            .map(Some)
    } else if flags & 0x80 != 0 {
        // The remote writes its own table; the host attaches to it.
        image = Vec::new();
        let table = table(&mut inp);
        let (b, r) = regions[0];
        let off = (usize::from(inp.u16()) % b.size) & !7;
        let n = table.len().min(b.size - off);
        r.write_bytes(off, &table[..n]).unwrap();
        let len = if inp.u8() & 1 != 0 { n } else { b.size - off };
        rproc
            .attach_table(r.sub_region(off, len).unwrap())
            .map(|()| None)
    } else {
        image = describe(&mut inp, flags);
        rproc
            .load(&mut SliceStore::new(&image), "fw", &opts)
            .map(Some)
    };
    let attached = !raw && flags & 0x80 != 0;
    trace!(
        "raw {raw} attached {attached} chunk {chunk} -> {:?}",
        result
            .as_ref()
            .map(|i| i.as_ref().map(|i| (i.segments().len(), i.resource_table)))
    );
    match &result {
        Ok(None) => assert_eq!(rproc.state(), State::Ready),
        Ok(Some(img)) => {
            assert_eq!(rproc.state(), State::Ready);
            assert_eq!(rproc.entry(), Some(img.entry));
            assert_eq!(rproc.table().is_some(), img.resource_table.is_some());
            // Every segment where its header says, zeros after its bytes.
            for s in img.segments() {
                let r = openamp_remoteproc::AddressSpace::da_region(rproc.memory(), s.da, s.memsz)
                    .expect("a loaded segment is not in memory");
                let mut got = vec![0u8; s.memsz as usize];
                r.read_bytes(0, &mut got).unwrap();
                let file = if raw { data } else { &image[..] };
                let bytes = &file[s.offset as usize..(s.offset + s.filesz) as usize];
                let (head, tail) = got.split_at(s.filesz as usize);
                // Later segments may not overlap (the checks refuse that),
                // but the table handling writes into the table.
                if img.resource_table.is_none_or(|t| t.segment != s.index) {
                    assert_eq!(head, bytes, "segment {} loaded wrong", s.index);
                }
                assert!(zero(tail), "segment {} not zero-filled", s.index);
            }
        }
        Err(Error::Elf(_) | Error::Table(_) | Error::TableTooLarge { .. }) if !attached => {
            assert_eq!(rproc.state(), State::Configured);
            // Memory it could have written is memory the platform gave, or
            // the pool: neither was touched.
            let p = rproc.ops();
            assert_eq!(
                (p.mmaps, p.asked.get()),
                (0, 0),
                "the platform was asked for memory for a refused image"
            );
            let mut b = vec![0u8; pool.size()];
            pool.read_bytes(0, &mut b).unwrap();
            assert!(zero(&b), "a refused image wrote the pool");
        }
        Err(_) => assert_eq!(rproc.state(), State::Configured),
    }
    if result.is_err() {
        return;
    }

    // What the table set up.
    let res = rproc.resources().clone();
    for t in &res.traces {
        let _ = t.text();
        let _ = t.reader().read_new();
    }
    for id in [0, 1, 2, ANY, inp.u32()] {
        if let Some(t) = rproc.dispatch(id) {
            assert!(res.vdevs.iter().any(|v| v.index == t.vdev));
        }
    }
    for v in res.vdevs.iter().take(2) {
        let host = rproc.create_virtio_with(v.notify_id, Role::Driver, bufs, NoKick);
        let remote = rproc.create_virtio_with(v.notify_id, Role::Device, bufs, NoKick);
        let table = rproc.table().unwrap();
        trace!(
            "vdev {v:?}: host {:?} remote {:?}",
            host.as_ref().map(|_| ()),
            remote.as_ref().map(|_| ())
        );
        for t in [&host, &remote].into_iter().flatten() {
            check_transport(t, &table, &bufs, &mut inp);
        }
        if let (Ok(h), Ok(r)) = (&host, &remote) {
            exchange(h, r, &bufs, &mut inp);
        }
    }
    if inp.u8() & 1 != 0 {
        let _ = rproc.shutdown();
        assert_eq!(rproc.state(), State::Offline);
    }
}

/// The transport's vrings are where the library promises them to be.
fn check_transport<N: Notify>(
    t: &VdevTransport<'_, N>,
    table: &IoRegion<'_>,
    bufs: &IoRegion<'_>,
    inp: &mut Input<'_>,
) {
    let span = |r: &IoRegion<'_>| (r.as_ptr() as usize, r.as_ptr() as usize + r.size());
    let overlap = |a: (usize, usize), b: (usize, usize)| a.0 < b.1 && b.0 < a.1;
    // The table as parsed from its bytes (the region may be longer).
    let mut copy = vec![0u8; table.size().min(0x10000)];
    table.read_bytes(0, &mut copy).unwrap();
    let len = ResourceTable::parse(&copy)
        .expect("a transport over a table that does not parse")
        .size();
    let table_span = (table.as_ptr() as usize, table.as_ptr() as usize + len);
    let n = t.num_queues();
    assert!(n > 0);
    let mut seen = Vec::new();
    for q in 0..n {
        let v = t.vring(q).expect("a listed vring is missing");
        let need = VringLayout::size_for(v.num, v.align).expect("a vring with a bad layout");
        assert!(
            v.ring.size() >= need,
            "vring {q}: {} bytes for a layout of {need}",
            v.ring.size()
        );
        let s = span(&v.ring);
        assert!(!overlap(s, span(bufs)), "vring {q} overlaps the buffers");
        assert!(
            !overlap(s, table_span),
            "vring {q} overlaps the resource table"
        );
        for o in &seen {
            assert!(!overlap(s, *o), "vring {q} overlaps another");
        }
        seen.push(s);
        assert!(t.vring_da(q).is_ok());
    }
    assert!(t.vring(n).is_err());
    let _ = t.device_features();
    let _ = t.driver_features();
    let _ = t.status();
    let mut b = [0u8; 8];
    let off = usize::from(inp.u8());
    let len = usize::from(inp.u8() & 7);
    let r = t.read_config(off, &mut b[..len]);
    assert_eq!(
        r.is_ok(),
        off + len <= t.config_len(),
        "config read {off}+{len} of {}",
        t.config_len()
    );
    let w = t.write_config(off, &b[..len]);
    assert_eq!(w.is_ok(), off + len <= t.config_len());
    let _ = t.notify(u16::from(inp.u8() & 3));
    let _ = t.queue_for_notify_id(inp.u32() & 7);
}

/// Host and remote negotiate over the table and move one buffer through
/// vring 0, each with its own transport's view of the ring.
fn exchange<N: Notify>(
    h: &VdevTransport<'_, N>,
    r: &VdevTransport<'_, N>,
    bufs: &IoRegion<'_>,
    inp: &mut Input<'_>,
) {
    let _ = r.set_device_features(inp.u32());
    let Ok(f) = driver_start(h, !0) else { return };
    let (Ok(hv), Ok(rv)) = (h.vring(0), r.vring(0)) else {
        return;
    };
    assert_eq!((hv.num, hv.align), (rv.num, rv.align));
    assert_eq!(
        hv.ring.as_ptr(),
        rv.ring.as_ptr(),
        "host and remote see vring 0 in different places"
    );
    let Ok(mut drv) = DriverQueue::<'_, 256>::new(hv.ring, *bufs, hv.config(f), NoCache) else {
        return;
    };
    driver_ready(h).unwrap();
    let Ok(Some(rf)) = device_poll_ready(r) else {
        panic!("the remote did not see DRIVER_OK");
    };
    assert_eq!(rf, f, "the two sides negotiated different features");
    let mut dev = DeviceQueue::<'_, 256>::resume(rv.ring, *bufs, rv.config(rf), NoCache).unwrap();
    drv.add_inbuf(Segment::new(0, 64)).unwrap();
    let c = dev
        .pop_avail()
        .unwrap()
        .expect("the remote does not see the host's buffer");
    dev.write(&c, 0, b"ping").unwrap();
    dev.push_used(&c, 4).unwrap();
    let u = drv
        .pop_used()
        .unwrap()
        .expect("the host does not see the remote's answer");
    assert_eq!(u.written, 4);
    let mut got = [0u8; 4];
    bufs.read_bytes(0, &mut got).unwrap();
    assert_eq!(&got, b"ping");
    trace!("exchanged");
}

/// One resource table, entry by entry.
fn table(inp: &mut Input<'_>) -> Vec<u8> {
    let b = inp.u8();
    let n = usize::from(b & 7).min(6);
    let mut entries: Vec<Vec<u8>> = Vec::new();
    let da = |inp: &mut Input<'_>| -> u32 {
        match inp.u8() & 7 {
            0 | 1 => ANY,
            2 => 0x1000_0000 + u32::from(inp.u16() & 0x3ff0),
            3 => 0x2000_0000 + u32::from(inp.u16() & 0x3ff0),
            4 => 0x1000_0000 + u32::from(inp.u16()),
            5 => 0x3000_0000 + u32::from(inp.u16() & 0x3000),
            _ => inp.u32(),
        }
    };
    for _ in 0..n {
        let kind = inp.u8();
        let mut e = Vec::new();
        let w32 = |e: &mut Vec<u8>, v: u32| e.extend_from_slice(&v.to_le_bytes());
        match kind & 7 {
            // Carveout or device memory: da, pa, len, flags, reserved, name.
            0 | 1 => {
                w32(&mut e, u32::from(kind & 1));
                let d = da(inp);
                w32(&mut e, d);
                w32(&mut e, if inp.u8() & 1 != 0 { d } else { da(inp) });
                w32(&mut e, u32::from(inp.u16() & 0x1fff));
                w32(&mut e, 0);
                w32(&mut e, 0);
                e.extend_from_slice(&[b'c'; 32]);
            }
            // Trace: da, len, reserved, name.
            2 => {
                w32(&mut e, 2);
                w32(&mut e, da(inp));
                w32(&mut e, u32::from(inp.u16() & 0x1fff));
                w32(&mut e, 0);
                let mut name = [0u8; 32];
                name[..5].copy_from_slice(b"trace");
                if kind & 8 != 0 {
                    name = [b't'; 32];
                }
                e.extend_from_slice(&name);
            }
            // Vdev with vrings and config space.
            3 | 4 => {
                w32(&mut e, 3);
                w32(&mut e, if kind & 8 != 0 { inp.u32() } else { 7 });
                w32(&mut e, [0, 1, 2, ANY][usize::from(kind >> 4 & 3)]);
                w32(&mut e, if kind & 0x40 != 0 { inp.u32() } else { 1 });
                w32(&mut e, 0);
                let config_len = u32::from(inp.u8() & 0x1f);
                w32(&mut e, config_len);
                e.push(0);
                let vrings = [2u8, 1, 0, 3][usize::from(kind >> 6)];
                e.push(vrings);
                e.extend_from_slice(&[0, 0]);
                for i in 0..vrings {
                    let v = inp.u8();
                    let align = [16u32, 4096, 64, 4, 0, 3, 256, 16][usize::from(v & 7)];
                    let num = [16u32, 8, 256, 1, 0, 3, 64, 32768][usize::from(v >> 3 & 7)];
                    let d = match v >> 6 {
                        0 | 1 => ANY,
                        2 => 0x1000_0000 + u32::from(inp.u16() & 0x3000),
                        _ => da(inp),
                    };
                    w32(&mut e, d);
                    w32(&mut e, align);
                    w32(&mut e, num);
                    w32(
                        &mut e,
                        if inp.u8() & 1 != 0 {
                            ANY
                        } else {
                            u32::from(i) + 1
                        },
                    );
                    w32(&mut e, 0);
                }
                e.extend((0..config_len).map(|i| i as u8));
            }
            // Vendor entry.
            5 => {
                w32(&mut e, 128 + u32::from(inp.u16()) % 385);
                e.extend((0..inp.u8() & 15).map(|i| i as u8));
            }
            // Unknown type.
            _ => {
                w32(&mut e, [4, 127, 513, u32::MAX][usize::from(kind >> 4 & 3)]);
                e.extend_from_slice(&[0; 8]);
            }
        }
        // Entries are 4-byte aligned in real tables.
        while e.len() % 4 != 0 {
            e.push(0);
        }
        entries.push(e);
    }
    let header = 16 + 4 * entries.len();
    let mut t = Vec::new();
    t.extend_from_slice(
        &(if b & 0x08 != 0 {
            u32::from(inp.u8())
        } else {
            1
        })
        .to_le_bytes(),
    );
    let num = if b & 0x10 != 0 {
        u32::from(inp.u8())
    } else {
        entries.len() as u32
    };
    t.extend_from_slice(&num.to_le_bytes());
    t.extend_from_slice(&[0; 8]);
    let mut off = header;
    let lie = if b & 0x20 != 0 {
        Some((usize::from(inp.u8()), inp.u32()))
    } else {
        None
    };
    for (i, e) in entries.iter().enumerate() {
        let o = match lie {
            Some((k, v)) if k % entries.len().max(1) == i => v,
            _ => off as u32,
        };
        t.extend_from_slice(&o.to_le_bytes());
        off += e.len();
    }
    for e in &entries {
        t.extend_from_slice(e);
    }
    if b & 0x40 != 0 {
        // Cut short.
        let keep = usize::from(inp.u8()) % (t.len() + 1);
        t.truncate(keep);
    }
    t
}

/// An ELF image from the input: class, machine, segments, table section.
fn describe(inp: &mut Input<'_>, flags: u8) -> Vec<u8> {
    let is64 = flags & 1 != 0;
    let machine: u16 = match flags >> 1 & 3 {
        0 => {
            if is64 {
                183
            } else {
                40
            }
        }
        1 => {
            if is64 {
                40
            } else {
                183
            }
        }
        2 => inp.u16(),
        _ => 0,
    };
    let entry = inp.u32();
    let nseg = 1 + usize::from(inp.u8() & 3);
    // Segments: (type, paddr, vaddr, filesz, memsz); the data follows the
    // headers in the file, in order.
    let mut segs = Vec::new();
    for i in 0..nseg {
        let b = inp.u8();
        let off = u64::from(inp.u16() & 0x3ff8);
        let paddr = match b & 7 {
            0 | 1 => 0x1000_0000 + off,
            2 => 0x2000_0000 + off,
            3 => 0x3000_0000 + off,
            4 => 0x1000_0000 + 0x3ff0,
            5 => {
                if is64 {
                    u64::MAX - 0x10
                } else {
                    0xffff_fff0
                }
            }
            6 => u64::from(inp.u32()),
            _ => segs
                .last()
                .map_or(0x1000_0000, |s: &(u32, u64, u64, u64, u64)| {
                    s.1.wrapping_add(8)
                }),
        };
        let vaddr = if b & 8 != 0 {
            paddr.wrapping_add(0x100_0000)
        } else {
            paddr
        };
        let filesz = u64::from(inp.u16() & 0x7ff);
        let memsz = match b >> 4 & 3 {
            0 | 1 => filesz + u64::from(inp.u16() & 0x7ff),
            2 => filesz,
            _ => filesz.saturating_sub(1 + u64::from(inp.u8())),
        };
        let ptype = if b & 0x40 != 0 && i > 0 {
            [0, 4, 6, 0x6474_e551][usize::from(b >> 6 & 3)]
        } else {
            1
        };
        segs.push((ptype, paddr, vaddr, filesz, memsz));
    }
    // The table, in one segment's bytes.
    let with_table = inp.u8();
    let table = if with_table & 1 != 0 {
        table(inp)
    } else {
        Vec::new()
    };
    let tseg = usize::from(with_table >> 1 & 3) % nseg;
    if with_table & 1 != 0 {
        let s = &mut segs[tseg];
        s.3 = s.3.max(table.len() as u64 + 8);
        s.4 = s.4.max(s.3);
    }
    let (eh, ph, sh) = if is64 { (64, 56, 64) } else { (52, 32, 40) };
    let phoff = eh as u64;
    let mut data_off = phoff + (ph * nseg) as u64;
    let mut offsets = Vec::new();
    for s in &segs {
        offsets.push(data_off);
        data_off += s.3;
    }
    let table_at = inp.u8() as u64 & 0x7 & !3;
    let shstrtab: &[u8] = b"\0.resource_table\0.shstrtab\0";
    let strtab_off = data_off;
    let shoff = (strtab_off + shstrtab.len() as u64 + 7) & !7;
    let shnum = 3u16;
    let mut f = Vec::new();
    let w16 = |f: &mut Vec<u8>, v: u16| f.extend_from_slice(&v.to_le_bytes());
    let w32 = |f: &mut Vec<u8>, v: u32| f.extend_from_slice(&v.to_le_bytes());
    let w64 = |f: &mut Vec<u8>, v: u64| f.extend_from_slice(&v.to_le_bytes());
    let wa = |f: &mut Vec<u8>, v: u64| {
        if is64 {
            f.extend_from_slice(&v.to_le_bytes())
        } else {
            f.extend_from_slice(&(v as u32).to_le_bytes())
        }
    };
    // ELF header.
    f.extend_from_slice(b"\x7fELF");
    f.push(if is64 { 2 } else { 1 });
    f.push(1);
    f.push(1);
    f.extend_from_slice(&[0; 9]);
    w16(&mut f, 2);
    w16(&mut f, machine);
    w32(&mut f, 1);
    wa(&mut f, u64::from(entry));
    wa(&mut f, phoff);
    wa(&mut f, if with_table & 0x10 != 0 { 0 } else { shoff });
    w32(&mut f, 0);
    w16(&mut f, eh as u16);
    w16(&mut f, ph as u16);
    w16(&mut f, nseg as u16);
    w16(&mut f, sh as u16);
    w16(&mut f, shnum);
    w16(&mut f, 2);
    // Program headers.
    for (s, off) in segs.iter().zip(&offsets) {
        let (ptype, paddr, vaddr, filesz, memsz) = *s;
        w32(&mut f, ptype);
        if is64 {
            w32(&mut f, 7);
            w64(&mut f, *off);
            w64(&mut f, vaddr);
            w64(&mut f, paddr);
            w64(&mut f, filesz);
            w64(&mut f, memsz);
            w64(&mut f, 8);
        } else {
            w32(&mut f, *off as u32);
            w32(&mut f, vaddr as u32);
            w32(&mut f, paddr as u32);
            w32(&mut f, filesz as u32);
            w32(&mut f, memsz as u32);
            w32(&mut f, 7);
            w32(&mut f, 8);
        }
    }
    // Segment bytes, the table inside one of them.
    for (i, s) in segs.iter().enumerate() {
        let start = f.len();
        f.extend((0..s.3).map(|k| (k as u8).wrapping_mul(13).wrapping_add(i as u8)));
        if with_table & 1 != 0 && i == tseg {
            let at = start + table_at as usize;
            let n = table.len().min(f.len() - at);
            f[at..at + n].copy_from_slice(&table[..n]);
        }
    }
    f.extend_from_slice(shstrtab);
    while (f.len() as u64) < shoff {
        f.push(0);
    }
    // Section headers: null, .resource_table, .shstrtab.
    let shdr = |f: &mut Vec<u8>, name: u32, ty: u32, addr: u64, off: u64, size: u64| {
        w32(f, name);
        w32(f, ty);
        wa(f, 3);
        wa(f, addr);
        wa(f, off);
        wa(f, size);
        w32(f, 0);
        w32(f, 0);
        wa(f, 8);
        wa(f, 0);
    };
    shdr(&mut f, 0, 0, 0, 0, 0);
    let (tvaddr, toff) = (
        segs[tseg].2.wrapping_add(table_at),
        offsets[tseg] + table_at,
    );
    let (addr, off) = match with_table >> 5 & 3 {
        0 | 1 => (tvaddr, toff),
        // The header says another address, or another place in the file.
        2 => (tvaddr.wrapping_add(8), toff),
        _ => (tvaddr, toff + 4),
    };
    let size = if with_table & 0x80 != 0 {
        u64::from(inp.u16())
    } else {
        table.len() as u64
    };
    if with_table & 1 != 0 {
        shdr(&mut f, 1, 1, addr, off, size);
    } else {
        shdr(&mut f, 1, 8, 0, 0, 0);
        // Not named .resource_table: no table.
        let at = f.len() - sh;
        f[at] = 17;
    }
    shdr(&mut f, 17, 3, 0, strtab_off, shstrtab.len() as u64);
    f
}
