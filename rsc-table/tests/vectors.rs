//! The shared-memory images taken from OpenAMP's C echo demo parse to exactly
//! what `vectors/README.md` says.

mod common;

use openamp_metal::IoRegion;
use openamp_rsc_table::{
    status, Entry, ResourceTable, TableWriter, Vdev, Vring, VIRTIO_ID_RPMSG, VIRTIO_RPMSG_F_NS,
};
use zerocopy::IntoBytes;

fn load(name: &str) -> Vec<u32> {
    // The images are part of the repository: their absence is a failure.
    let dir = common::vectors_dir().expect("vectors/ of the repository (or OPENAMP_VECTORS)");
    let bytes = std::fs::read(dir.join(name)).expect("vector readable");
    assert_eq!(bytes.len(), 0x80000, "{name} is the 512 KiB shm image");
    common::aligned(&bytes)
}

/// The vdev and vrings the README describes, with the host's fields given.
fn expected(gfeatures: u32, status: u8) -> (Vdev, [Vring; 2]) {
    let mut vdev = Vdev::new(VIRTIO_ID_RPMSG, 0, VIRTIO_RPMSG_F_NS, 2);
    vdev.gfeatures = gfeatures;
    vdev.status = status;
    let vrings = [
        Vring::new(0x4000, 0x1000, 256, 1),
        Vring::new(0x8000, 0x1000, 256, 2),
    ];
    (vdev, vrings)
}

fn check(words: &mut [u32], gfeatures: u32, status: u8) {
    let region = IoRegion::from_slice(words.as_mut_bytes());
    let mut buf = [0u8; 256];
    let table = ResourceTable::read_from_region(&region, 0, &mut buf).expect("valid table");
    assert_eq!(table.len(), 1);
    assert_eq!(table.offset(0), Ok(20));
    assert_eq!(table.size(), 20 + 28 + 2 * 20);
    let entries: Vec<_> = table.entries().collect();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].offset, 20);
    let Entry::Vdev(v) = entries[0].entry else {
        panic!("entry 0 is not a vdev: {:?}", entries[0]);
    };
    let (vdev, vrings) = expected(gfeatures, status);
    assert_eq!(v.vdev, vdev);
    assert_eq!(v.vrings().collect::<Vec<_>>(), vrings);
    assert!(v.config().is_empty());
}

#[test]
#[cfg_attr(miri, ignore)]
fn remote_initialized_parses_as_documented() {
    let mut words = load("remote-initialized.shm");
    check(&mut words, 0, 0);
}

#[test]
#[cfg_attr(miri, ignore)]
fn after_echo_parses_as_documented() {
    let mut words = load("after-echo.shm");
    check(&mut words, VIRTIO_RPMSG_F_NS, status::DRIVER_OK);
    let region = IoRegion::from_slice(words.as_mut_bytes());
    let writer = TableWriter::new(region);
    assert_eq!(
        writer.vdev_status(0).unwrap() & status::DRIVER_OK,
        status::DRIVER_OK
    );
    assert_eq!(writer.vdev_dfeatures(0), Ok(VIRTIO_RPMSG_F_NS));
}

/// What OpenAMP's C host wrote into the table, our writer writes the same way.
#[test]
#[cfg_attr(miri, ignore)]
fn writer_turns_one_image_into_the_other() {
    let (mut before, after) = (load("remote-initialized.shm"), load("after-echo.shm"));
    let writer = TableWriter::new(IoRegion::from_slice(before.as_mut_bytes()));
    writer.set_vdev_gfeatures(0, VIRTIO_RPMSG_F_NS).unwrap();
    writer.set_vdev_status(0, status::DRIVER_OK).unwrap();
    let end = 20 + 28 + 2 * 20;
    assert_eq!(before.as_bytes()[..end], after.as_bytes()[..end]);
}
