//! [`Remoteproc`]: one remote processor, its state, its memory and its table.

use openamp_metal::{IoRegion, Notify};
use openamp_rsc_table::ResourceTable;

use crate::elf::{self, ElfImage, ElfLoader, LoadOptions};
use crate::mem::{MemPool, MemoryMap};
use crate::ops::{OpsNotifier, RemoteprocOps};
use crate::rsc::{handle_resources, map_da, NotifyTarget, Resources};
use crate::state::{next, target, Event, State};
use crate::store::ImageStore;
use crate::trace::TraceBuffer;
use crate::vdev::{copy_table, find_vdev_by_notify_id, Role, VdevTransport, MAX_TABLE_SIZE};
use crate::{Error, Result};

/// A remote processor, driven through a platform's [`RemoteprocOps`].
///
/// Every operation checks the state machine first (see
/// [`state::next`](crate::state::next)) and refuses a transition it does
/// not allow with [`Error::InvalidTransition`], changing nothing. A platform
/// operation that fails while starting, stopping, suspending or resuming
/// leaves the remote in [`State::Error`]; `config` and loading failures leave
/// the state as it was.
#[derive(Debug)]
pub struct Remoteproc<'a, O> {
    ops: O,
    state: State,
    map: MemoryMap<'a>,
    pool: Option<MemPool<'a>>,
    table: Option<IoRegion<'a>>,
    resources: Resources<'a>,
    entry: Option<u64>,
}

impl<'a, O: RemoteprocOps<'a>> Remoteproc<'a, O> {
    /// Initialises the platform (`init`); the remote starts offline.
    pub fn new(mut ops: O) -> Result<Self> {
        ops.init()?;
        Ok(Remoteproc {
            ops,
            state: State::Offline,
            map: MemoryMap::new(),
            pool: None,
            table: None,
            resources: Resources::default(),
            entry: None,
        })
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// The platform.
    pub fn ops(&self) -> &O {
        &self.ops
    }

    /// The platform, mutably.
    pub fn ops_mut(&mut self) -> &mut O {
        &mut self.ops
    }

    /// Memory known so far (from `mmap`, carveouts, [`add_memory`](Self::add_memory)).
    pub fn memory(&self) -> &MemoryMap<'a> {
        &self.map
    }

    /// Declares memory the remote sees at `da`.
    pub fn add_memory(&mut self, da: u64, region: IoRegion<'a>) {
        self.map.add(da, region);
    }

    /// Memory for carveouts and vrings whose address is "host chooses".
    pub fn set_pool(&mut self, pool: MemPool<'a>) {
        self.pool = Some(pool);
    }

    /// The firmware's entry point, once loaded.
    pub fn entry(&self) -> Option<u64> {
        self.entry
    }

    /// The resource table in the remote's memory, once loaded or attached.
    pub fn table(&self) -> Option<IoRegion<'a>> {
        self.table
    }

    /// What handling the table set up.
    pub fn resources(&self) -> &Resources<'a> {
        &self.resources
    }

    /// The trace buffers of the table.
    pub fn traces(&self) -> &[TraceBuffer<'a>] {
        &self.resources.traces
    }

    /// Where a kick with `notify_id` goes.
    pub fn dispatch(&self, notify_id: u32) -> Option<NotifyTarget> {
        self.resources.dispatch(notify_id)
    }

    /// Kicks the remote with `notify_id`.
    pub fn notify(&self, notify_id: u32) -> Result<()> {
        self.ops.notify(notify_id)
    }

    /// The state `event` leads to, or the error naming both states.
    fn check(&self, event: Event) -> Result<State> {
        next(self.state, event).ok_or(Error::InvalidTransition {
            from: self.state,
            to: target(event),
        })
    }

    /// Runs a platform operation for `event`; on failure the remote is in
    /// [`State::Error`] if `fail` says so.
    fn run(
        &mut self,
        event: Event,
        fail: bool,
        op: impl FnOnce(&mut O) -> Result<()>,
    ) -> Result<()> {
        let to = self.check(event)?;
        match op(&mut self.ops) {
            Ok(()) => {
                self.state = to;
                Ok(())
            }
            Err(e) => {
                if fail {
                    self.state = next(self.state, Event::Fail).unwrap_or(State::Error);
                }
                Err(e)
            }
        }
    }

    /// Configures the platform (`config`): offline -> configured.
    pub fn config(&mut self) -> Result<()> {
        self.run(Event::Config, false, |o| o.config())
    }

    /// Loads the ELF image `name` from `store`: copies its segments into the
    /// memory `mmap` gives, finds and handles its resource table.
    /// configured, ready or stopped -> ready.
    ///
    /// The image's headers ([`elf::parse`]) and its resource table are
    /// checked before anything is written; a refused image is
    /// [`Error::Elf`] or [`Error::Table`], naming the segment or entry.
    pub fn load(
        &mut self,
        store: &mut impl ImageStore,
        name: &str,
        opts: &LoadOptions<'_>,
    ) -> Result<ElfImage> {
        let to = self.check(Event::Load)?;
        let size = store.open(name)?;
        let result = self.load_open(store, size, opts);
        store.close();
        let image = result?;
        self.state = to;
        Ok(image)
    }

    fn load_open(
        &mut self,
        store: &mut impl ImageStore,
        size: u64,
        opts: &LoadOptions<'_>,
    ) -> Result<ElfImage> {
        let image = elf::parse(store, size, opts)?;
        // The table is checked from the image before anything is written:
        // a broken one (an entry whose range wraps past 4 GiB, say) refuses
        // the image with memory as it was, and the platform is never asked
        // for memory the table names.
        if let Some(bytes) = elf::read_table(&image, store, MAX_TABLE_SIZE)? {
            ResourceTable::parse(&bytes)?;
        }
        let ops = &mut self.ops;
        let map = &mut self.map;
        let mut loader = ElfLoader::new(image, opts, |da, len| map_da(ops, map, None, da, len))?;
        loader.run(store)?;
        let image = loader.image().clone();
        self.entry = Some(image.entry);
        match image.resource_table {
            Some(t) => {
                let region = map_da(&mut self.ops, &mut self.map, None, t.da, t.size)?;
                self.handle_table(region)?;
            }
            None => {
                self.table = None;
                self.resources = Resources::default();
            }
        }
        Ok(image)
    }

    /// Goes to ready without loading anything, for a remote whose program is
    /// not ours to load (a Linux process, a firmware in flash, the kernel's
    /// remoteproc). configured, ready or stopped -> ready.
    pub fn prepare(&mut self) -> Result<()> {
        let to = self.check(Event::Load)?;
        self.state = to;
        Ok(())
    }

    /// Takes the resource table at the start of `table` (already in the
    /// remote's memory, e.g. written by the remote itself) and handles its
    /// resources. Allowed where loading is (-> ready), and while running
    /// (the state stays), for a remote that writes its table when it starts.
    pub fn attach_table(&mut self, table: IoRegion<'a>) -> Result<()> {
        let to = match self.state {
            State::Running => State::Running,
            _ => self.check(Event::Load)?,
        };
        self.handle_table(table)?;
        self.state = to;
        Ok(())
    }

    fn handle_table(&mut self, table: IoRegion<'a>) -> Result<()> {
        let res = handle_resources(table, &mut self.ops, &mut self.map, self.pool.as_mut())?;
        self.table = Some(table);
        self.resources = res;
        Ok(())
    }

    /// Starts the remote: ready or stopped -> running.
    pub fn start(&mut self) -> Result<()> {
        self.run(Event::Start, true, |o| o.start())
    }

    /// Stops the remote: running, suspended or error -> stopped.
    pub fn stop(&mut self) -> Result<()> {
        self.run(Event::Stop, true, |o| o.stop())
    }

    /// Suspends the remote: running -> suspended.
    pub fn suspend(&mut self) -> Result<()> {
        self.run(Event::Suspend, true, |o| o.suspend())
    }

    /// Resumes the remote: suspended -> running.
    pub fn resume(&mut self) -> Result<()> {
        self.run(Event::Resume, true, |o| o.resume())
    }

    /// Reports that the remote crashed or a platform step failed: -> error.
    pub fn crashed(&mut self) -> Result<()> {
        let to = self.check(Event::Fail)?;
        self.state = to;
        Ok(())
    }

    /// Stops the remote if it runs, powers it off (`shutdown`), and forgets
    /// its table and memory: any state -> offline, even if a platform step
    /// failed (whose error is returned).
    pub fn shutdown(&mut self) -> Result<()> {
        let stop = match self.state {
            State::Running | State::Suspended => self.ops.stop(),
            _ => Ok(()),
        };
        let off = self.ops.shutdown();
        self.state = State::Offline;
        self.table = None;
        self.resources = Resources::default();
        self.entry = None;
        self.map = MemoryMap::new();
        if let Some(p) = self.pool.as_mut() {
            p.reset();
        }
        stop.and(off)
    }

    /// Shuts down and releases the platform (`remove`).
    pub fn remove(mut self) -> Result<O> {
        let r = if self.state == State::Offline {
            Ok(())
        } else {
            self.shutdown()
        };
        self.ops.remove();
        r.map(|()| self.ops)
    }

    /// The transport of the vdev whose notify id is `notify_id`, in `role`,
    /// kicking through the platform's `notify`; `buffers` is where the
    /// host's buffers live. Vrings the table left to the host were placed
    /// when the table was handled (from the [pool](Self::set_pool)).
    pub fn create_virtio(
        &self,
        notify_id: u32,
        role: Role,
        buffers: IoRegion<'a>,
    ) -> Result<VdevTransport<'a, OpsNotifier<'_, O>>> {
        self.create_virtio_with(notify_id, role, buffers, OpsNotifier(&self.ops))
    }

    /// As [`create_virtio`](Self::create_virtio), kicking through `notifier`
    /// instead of the platform, so the transport does not borrow `self`.
    pub fn create_virtio_with<N: Notify>(
        &self,
        notify_id: u32,
        role: Role,
        buffers: IoRegion<'a>,
        notifier: N,
    ) -> Result<VdevTransport<'a, N>> {
        let (table, index) = self.vdev_index(notify_id)?;
        match role {
            Role::Driver => VdevTransport::host(table, index, &self.map, None, buffers, notifier),
            Role::Device => VdevTransport::remote(table, index, &self.map, buffers, notifier),
        }
    }

    fn vdev_index(&self, notify_id: u32) -> Result<(IoRegion<'a>, usize)> {
        let table = self.table.ok_or(Error::NoTable)?;
        let bytes = copy_table(&table)?;
        let parsed = ResourceTable::parse(&bytes)?;
        Ok((table, find_vdev_by_notify_id(&parsed, notify_id)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mem::Mapping;
    use crate::state::Event;
    use proptest::prelude::*;

    /// A platform whose start and stop fail when told to.
    #[derive(Debug, Default)]
    struct Fake {
        fail: bool,
    }
    impl<'a> RemoteprocOps<'a> for Fake {
        fn mmap(&mut self, _: Option<u64>, _: Option<u64>, _: u64) -> Result<Mapping<'a>> {
            Err(Error::Unsupported { op: "mmap" })
        }
        fn start(&mut self) -> Result<()> {
            if self.fail {
                Err(Error::Unsupported { op: "start" })
            } else {
                Ok(())
            }
        }
        fn stop(&mut self) -> Result<()> {
            if self.fail {
                Err(Error::Unsupported { op: "stop" })
            } else {
                Ok(())
            }
        }
        fn suspend(&mut self) -> Result<()> {
            self.start()
        }
        fn resume(&mut self) -> Result<()> {
            self.start()
        }
        fn notify(&self, _: u32) -> Result<()> {
            Ok(())
        }
    }

    fn apply(r: &mut Remoteproc<'_, Fake>, e: Event) -> Result<()> {
        match e {
            Event::Config => r.config(),
            Event::Load => r.prepare(),
            Event::Start => r.start(),
            Event::Suspend => r.suspend(),
            Event::Resume => r.resume(),
            Event::Stop => r.stop(),
            Event::Shutdown => r.shutdown(),
            Event::Fail => r.crashed(),
        }
    }

    proptest! {
        /// Remoteproc follows the model: allowed transitions land where
        /// `next` says (or in error when the platform fails), refused ones
        /// change nothing and name both states.
        #[test]
        fn remoteproc_follows_the_model(
            steps in proptest::collection::vec(
                (proptest::sample::select(Event::ALL.to_vec()), proptest::bool::weighted(0.2)),
                0..64,
            )
        ) {
            let mut r = Remoteproc::new(Fake::default()).unwrap();
            for (e, fail) in steps {
                r.ops_mut().fail = fail;
                let before = r.state();
                let got = apply(&mut r, e);
                match next(before, e) {
                    None => {
                        prop_assert_eq!(got, Err(Error::InvalidTransition { from: before, to: target(e) }));
                        prop_assert_eq!(r.state(), before);
                    }
                    Some(to) => {
                        let platform_fails = fail && matches!(
                            e, Event::Start | Event::Stop | Event::Suspend | Event::Resume
                        );
                        if platform_fails {
                            prop_assert!(got.is_err());
                            prop_assert_eq!(r.state(), State::Error);
                        } else if e == Event::Shutdown {
                            prop_assert_eq!(r.state(), State::Offline);
                        } else {
                            prop_assert_eq!(got, Ok(()));
                            prop_assert_eq!(r.state(), to);
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn refusals_name_both_states() {
        let mut buf = [0u8; 16];
        let mut r = Remoteproc::new(Fake::default()).unwrap();
        let e = r.stop().unwrap_err();
        assert_eq!(e.to_string(), "cannot go from offline to stopped");
        r.config().unwrap();
        let err = r
            .create_virtio(0, Role::Driver, IoRegion::from_slice(&mut buf))
            .unwrap_err();
        assert_eq!(err, Error::NoTable);
    }
}
