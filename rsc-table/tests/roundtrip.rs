//! Builder -> bytes -> parser round trips, and the writer seen through the parser.

mod common;

use common::{MixedTable, R5Table, MIXED, R5};
use openamp_metal::IoRegion;
use openamp_rsc_table::{
    Carveout, Devmem, Entry, Error, Field, ResourceTable, TableWriter, Trace, VdevResource, Vring,
    FW_RSC_ADDR_ANY, RSC_CARVEOUT,
};
use proptest::prelude::*;

fn config() -> ProptestConfig {
    ProptestConfig {
        // Miri is slow: a few cases still run every path.
        cases: if cfg!(miri) { 3 } else { 256 },
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn vring(notifyid: u32) -> impl Strategy<Value = Vring> {
    (any::<u32>(), 0u32..=16, 0u32..=15, any::<u32>()).prop_map(move |(da, a, n, pa)| {
        let mut v = Vring::new(da, 1 << a, 1 << n, notifyid);
        v.pa = pa;
        v
    })
}

/// A length that fits after every one of `addrs` below 4 GiB (the parser
/// refuses ranges that wrap; `corpus.rs` tests that).
fn fit(len: u32, addrs: &[u32]) -> u32 {
    addrs
        .iter()
        .filter(|&&a| a != FW_RSC_ADDR_ANY)
        .fold(len, |l, &a| l.min(u32::MAX - a))
}

fn name() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9_.-]{0,31}"
}

fn r5_table() -> impl Strategy<Value = R5Table> {
    (
        any::<[u32; 3]>(),
        (any::<u32>(), 0u32..100)
            .prop_flat_map(|(f, id)| (Just(f), Just(id), vring(id + 1), vring(id + 2))),
        any::<u8>(),
        (any::<u32>(), any::<u32>(), name()),
    )
        .prop_map(|([vid, gf, _], (df, id, v0, v1), status, (da, len, n))| {
            let mut t = R5;
            t.rpmsg = VdevResource::new(vid, id, df, [v0, v1]);
            t.rpmsg.vdev.gfeatures = gf;
            t.rpmsg.vdev.status = status;
            t.trace = Trace::new(da, fit(len, &[da]), &n);
            t
        })
}

fn mixed_table() -> impl Strategy<Value = MixedTable> {
    (
        (any::<[u32; 4]>(), name()),
        (any::<[u32; 4]>(), name()),
        (any::<[u8; 5]>(), vring(11)),
        any::<[u8; 6]>(),
        (vring(21), vring(22), any::<u32>()),
    )
        .prop_map(|((c, cn), (d, dn), (cfg, cv), oem, (r0, r1, df))| {
            let mut t = MIXED;
            t.mem = Carveout::new(c[0], c[1], fit(c[2], &c[..2]), c[3], &cn);
            t.uart = Devmem::new(d[0], d[1], fit(d[2], &d[..2]), d[3], &dn);
            t.console = VdevResource::new(3, 10, 0, [cv]).with_config(cfg);
            t.oem.data = oem;
            t.rpmsg = VdevResource::new(7, 20, df, [r0, r1]);
            t
        })
}

/// `addr` if `len` bytes fit after it below 4 GiB, else the highest that fits.
fn fit_addr(addr: u32, len: u32) -> u32 {
    if addr == FW_RSC_ADDR_ANY {
        addr
    } else {
        addr.min(u32::MAX - len)
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn r5_round_trip(t in r5_table()) {
        let mut bytes = vec![0u8; R5Table::SIZE];
        prop_assert_eq!(t.write_to(&mut bytes), Ok(R5Table::SIZE));
        let table = ResourceTable::parse(&bytes).unwrap();
        prop_assert_eq!(table.len(), 2);
        prop_assert_eq!(table.size(), R5Table::SIZE);
        let e: Vec<_> = table.entries().collect();
        prop_assert_eq!(e.len(), 2);
        prop_assert_eq!(e[0].offset, R5Table::OFFSETS[0] as usize);
        let Entry::Vdev(v) = e[0].entry else { panic!("{:?}", e[0]) };
        prop_assert_eq!(v.vdev, t.rpmsg.vdev);
        prop_assert_eq!(v.vrings().collect::<Vec<_>>(), t.rpmsg.vrings.to_vec());
        prop_assert_eq!(e[1].entry, Entry::Trace(t.trace));
    }

    #[test]
    fn mixed_round_trip(t in mixed_table()) {
        let mut bytes = vec![0xAAu8; MixedTable::SIZE + 8];
        prop_assert_eq!(t.write_to(&mut bytes), Ok(MixedTable::SIZE));
        let table = ResourceTable::parse(&bytes[..MixedTable::SIZE]).unwrap();
        let e: Vec<_> = table.entries().collect();
        prop_assert_eq!(e.len(), 6);
        for (i, entry) in e.iter().enumerate() {
            prop_assert_eq!(entry.offset, MixedTable::OFFSETS[i] as usize);
        }
        prop_assert_eq!(e[0].entry, Entry::Carveout(t.mem));
        prop_assert_eq!(e[1].entry, Entry::Devmem(t.uart));
        let Entry::Vdev(console) = e[2].entry else { panic!("{:?}", e[2]) };
        prop_assert_eq!(console.vdev, t.console.vdev);
        prop_assert_eq!(console.vdev.config_len, 5);
        prop_assert_eq!(console.config(), &t.console.config[..]);
        prop_assert_eq!(console.vring(0), Some(t.console.vrings[0]));
        prop_assert_eq!(console.vring(1), None);
        let Entry::Vendor(oem) = e[3].entry else { panic!("{:?}", e[3]) };
        prop_assert_eq!(&oem.data[..6], &t.oem.data[..]);
        prop_assert!(oem.data[6..].iter().all(|&b| b == 0), "padding is zeroed");
        prop_assert_eq!(e[4].entry, Entry::Trace(t.trace));
        let Entry::Vdev(rpmsg) = e[5].entry else { panic!("{:?}", e[5]) };
        prop_assert_eq!(rpmsg.vrings().collect::<Vec<_>>(), t.rpmsg.vrings.to_vec());
        prop_assert_eq!(table.find_vdev(7).map(|(i, _)| i), Some(5));
    }

    #[test]
    fn writer_then_parser(
        t in mixed_table(),
        status in any::<u8>(),
        gf in any::<u32>(),
        pa in any::<u32>(),
        da in any::<u32>(),
        ring in 0u8..2,
        notify in 1000u32..2000,
    ) {
        let mut bytes = vec![0u8; MixedTable::SIZE];
        t.write_to(&mut bytes).unwrap();
        let mut words = common::aligned(&bytes);
        let region = IoRegion::from_slice(zerocopy::IntoBytes::as_mut_bytes(&mut words[..]));
        let w = TableWriter::new(region);
        w.set_vdev_status(5, status).unwrap();
        w.set_vdev_gfeatures(5, gf).unwrap();
        w.set_vring_da(5, ring, da).unwrap();
        w.set_vring_pa(5, ring, pa).unwrap();
        w.set_vring_notify_id(5, ring, notify).unwrap();
        // A carveout address whose range would wrap is refused, unwritten.
        let len = t.mem.len;
        let (cpa, cda) = (fit_addr(pa, len), fit_addr(da, len));
        let wraps = |field, addr| Err(Error::RangeWraps { index: 0, kind: RSC_CARVEOUT, field, addr, len });
        if cpa != pa {
            prop_assert_eq!(w.set_carveout_pa(0, pa), wraps(Field::Pa, pa));
        }
        if cda != da {
            prop_assert_eq!(w.set_carveout_da(0, da), wraps(Field::Da, da));
        }
        w.set_carveout_pa(0, cpa).unwrap();
        w.set_carveout_da(0, cda).unwrap();
        prop_assert_eq!(w.vdev_status(5), Ok(status));

        let mut buf = [0u8; 1024];
        let table = ResourceTable::read_from_region(&region, 0, &mut buf).unwrap();
        let (_, v) = table.find_vdev(7).unwrap();
        prop_assert_eq!(v.vdev.status, status);
        prop_assert_eq!(v.vdev.gfeatures, gf);
        let r = v.vring(ring).unwrap();
        prop_assert_eq!((r.da, r.pa, r.notifyid), (da, pa, notify));
        let Entry::Carveout(c) = table.entry(0).unwrap().entry else { panic!() };
        prop_assert_eq!((c.da, c.pa), (cda, cpa));
    }

    /// Whatever the bytes, the parser answers without panicking, and what it
    /// accepts it can hand out in full.
    #[test]
    fn corrupted_tables_never_panic(
        flips in proptest::collection::vec((0usize..MixedTable::SIZE, any::<u8>()), 1..8),
        cut in 0usize..=MixedTable::SIZE,
    ) {
        let mut bytes = common::mixed_bytes();
        for (at, v) in flips {
            bytes[at] = v;
        }
        if let Ok(t) = ResourceTable::parse(&bytes[..cut]) {
            prop_assert_eq!(t.entries().count(), t.len());
            prop_assert!(t.size() <= cut);
        }
    }
}
