//! `Remoteproc::load` on the corpus of firmware images that
//! `openamp-rsc-table`'s parser and inspector tests run too
//! (`rsc-table/tests/common/firmware.rs`): each broken image or table is
//! refused with the very error the ELF checks and the parser give, before
//! the platform is asked for any memory and before anything is written;
//! each valid one is loaded and its table handled.

#[path = "../../rsc-table/tests/common/firmware.rs"]
mod firmware;

use openamp_metal::{IoAttr, IoRegion, PhysMap};
use openamp_remoteproc::elf::LoadOptions;
use openamp_remoteproc::{Error, Mapping, Remoteproc, RemoteprocOps, SliceStore, State};
use openamp_rsc_table::{Entry, ResourceTable};

use firmware::{Firmware, DATA_ADDR, DATA_LOAD_ADDR, MEM_BASE, MEM_SIZE, TEXT, TEXT_ADDR};

/// Where the platform puts a carveout whose table entry says "any".
const ANY_DA: u64 = MEM_BASE + 0x2_8000;

/// A platform with one memory at device address [`MEM_BASE`], which
/// records every range it is asked for.
#[derive(Debug)]
struct Board<'a> {
    mem: IoRegion<'a>,
    asked: Vec<(Option<u64>, u64)>,
}

impl<'a> RemoteprocOps<'a> for Board<'a> {
    fn mmap(
        &mut self,
        _pa: Option<u64>,
        da: Option<u64>,
        len: u64,
    ) -> openamp_remoteproc::Result<Mapping<'a>> {
        self.asked.push((da, len));
        let da = da.unwrap_or(ANY_DA);
        let unmapped = || Error::Unmapped { da, len };
        let off = da.checked_sub(MEM_BASE).ok_or_else(unmapped)? as usize;
        let region = self
            .mem
            .sub_region(off, len as usize)
            .map_err(|_| unmapped())?;
        Ok(Mapping { da, region })
    }
    fn start(&mut self) -> openamp_remoteproc::Result<()> {
        Ok(())
    }
    fn stop(&mut self) -> openamp_remoteproc::Result<()> {
        Ok(())
    }
    fn notify(&self, _id: u32) -> openamp_remoteproc::Result<()> {
        Ok(())
    }
}

/// Memory filled with a pattern that no load writes.
fn memory() -> Vec<u64> {
    vec![0xa5a5_a5a5_a5a5_a5a5; MEM_SIZE / 8]
}

fn bytes(words: &mut [u64]) -> &mut [u8] {
    zerocopy::IntoBytes::as_mut_bytes(words)
}

/// What loading an image on a fresh board did.
struct Outcome {
    result: Result<(), Error>,
    /// The ranges the platform was asked for (device address, length).
    asked: Vec<(Option<u64>, u64)>,
    /// The memory afterwards.
    after: Vec<u8>,
    /// The table as handled (with the host's writes), if any.
    table: Option<Vec<u8>>,
}

/// Loads `image` on a fresh board.
fn load(image: &[u8]) -> Outcome {
    let mut words = memory();
    let base = bytes(&mut words).as_mut_ptr();
    // SAFETY: `words` outlives the region (both live to the end of this
    // function) and is used only through it from here on. Physical
    // addresses are device addresses, as on a board without an IOMMU.
    #[allow(unsafe_code)]
    let mem = unsafe {
        IoRegion::new(
            base,
            MEM_SIZE,
            PhysMap::Contiguous(MEM_BASE),
            IoAttr::UNCACHED,
        )
    }
    .unwrap();
    let mut rproc = Remoteproc::new(Board {
        mem,
        asked: Vec::new(),
    })
    .unwrap();
    rproc.config().unwrap();
    let result = rproc
        .load(
            &mut SliceStore::new(image),
            "firmware",
            &LoadOptions::default(),
        )
        .map(|_| ());
    let state = rproc.state();
    assert_eq!(
        state,
        if result.is_ok() {
            State::Ready
        } else {
            State::Configured
        },
        "a refused image leaves the state as it was"
    );
    let table = rproc.table().map(|t| {
        let mut b = vec![0u8; t.size()];
        t.read_bytes(0, &mut b).unwrap();
        b
    });
    let asked = rproc.ops().asked.clone();
    drop(rproc);
    let mut after = vec![0u8; MEM_SIZE];
    mem.read_bytes(0, &mut after).unwrap();
    Outcome {
        result,
        asked,
        after,
        table,
    }
}

#[test]
fn every_broken_image_is_refused_before_anything_happens() {
    let cases = firmware::broken_elfs()
        .into_iter()
        .chain(firmware::broken_tables());
    let untouched = bytes(&mut memory()).to_vec();
    let mut n = 0;
    for c in cases {
        let Outcome {
            result,
            asked,
            after,
            ..
        } = load(&c.bytes);
        // The same error as the parser's and the inspector's, as
        // `Error::Elf` for the image and `Error::Table` for its table.
        let want = if c.want.is_elf() {
            Error::Elf(c.want)
        } else {
            Error::Table(c.want)
        };
        assert_eq!(result, Err(want), "{}", c.name);
        assert_eq!(asked, [], "{}: the platform was asked for memory", c.name);
        assert!(after == untouched, "{}: memory was written", c.name);
        n += 1;
    }
    assert!(n >= 30, "{n} cases");
}

#[test]
fn every_valid_image_is_loaded_and_its_table_handled() {
    for (name, image) in firmware::valid_elfs() {
        let Outcome {
            result,
            asked,
            after,
            table,
        } = load(&image);
        assert_eq!(result, Ok(()), "{name}");
        assert!(!asked.is_empty(), "{name}");
        // The code, in place.
        let text = (u64::from(TEXT_ADDR) - MEM_BASE) as usize;
        assert_eq!(after[text..text + 16], TEXT, "{name}");
        // The table, where its segment is loaded, with the host's writes:
        // the placed carveout's da and pa.
        let fw = Firmware::good();
        let table = table.unwrap_or_else(|| panic!("{name}: no table"));
        let data = if name.contains("another address") {
            DATA_LOAD_ADDR
        } else {
            DATA_ADDR
        };
        let at = (u64::from(data) - MEM_BASE) as usize;
        assert_eq!(
            after[at..at + fw.table_len],
            table[..fw.table_len],
            "{name}"
        );
        let t = ResourceTable::parse(&table).unwrap();
        let Entry::Carveout(c) = t.entry(0).unwrap().entry else {
            panic!("{name}: entry 0 is the carveout")
        };
        // Physical address = device address on this board.
        assert_eq!(u64::from(c.pa), u64::from(c.da), "{name}: pa written");
        if name.contains("places") {
            assert_eq!(u64::from(c.da), ANY_DA, "{name}: da written");
        }
        // The .bss after it is zeroed.
        let bss = at + fw.table_len;
        assert!(
            after[bss..bss + firmware::BSS as usize]
                .iter()
                .all(|&b| b == 0),
            "{name}: .bss zeroed"
        );
    }
}

/// Before this corpus, a trace buffer whose range wrapped made the host ask
/// its platform for 0x100 bytes at 0xffffff01: now nothing is asked.
#[test]
fn a_wrapping_trace_buffer_asks_the_platform_for_nothing() {
    let c = firmware::broken_tables()
        .into_iter()
        .find(|c| c.name == "trace da + len wraps")
        .unwrap();
    let Outcome { result, asked, .. } = load(&c.bytes);
    let msg = result.unwrap_err().to_string();
    assert_eq!(
        msg,
        "resource table: entry 2 (trace): da 0xffffff01 + len 0x100 wraps past 4 GiB"
    );
    assert_eq!(asked, []);
}
