//! A spin [`Mutex`], as libmetal's: usable across cores and from `static`s.

use core::cell::UnsafeCell;
use core::marker::PhantomData;
use core::ops::{Deref, DerefMut};
use core::sync::atomic::{AtomicBool, Ordering};

/// A mutual-exclusion lock that spins while it waits.
///
/// It is meant for short sections between threads or cores of one coherent
/// system. It does not mask interrupts: code that shares data with an
/// interrupt handler on the same core should use `critical-section` instead.
///
/// ```
/// use openamp_metal::Mutex;
/// static COUNT: Mutex<u32> = Mutex::new(0);
/// *COUNT.lock() += 1;
/// assert!(!COUNT.is_locked());
/// let held = COUNT.try_lock().unwrap();
/// assert!(COUNT.try_lock().is_none());
/// drop(held);
/// assert_eq!(*COUNT.lock(), 1);
/// ```
pub struct Mutex<T: ?Sized> {
    locked: AtomicBool,
    value: UnsafeCell<T>,
}

// SAFETY: the lock hands out access to `value` to one holder at a time, so the
// Mutex can be shared between threads whenever `T` may be sent between them.
unsafe impl<T: ?Sized + Send> Sync for Mutex<T> {}
// SAFETY: moving the Mutex moves the `T`.
unsafe impl<T: ?Sized + Send> Send for Mutex<T> {}

impl<T> Mutex<T> {
    /// An unlocked mutex holding `value`; `const` so it can be a `static`.
    pub const fn new(value: T) -> Self {
        Mutex {
            locked: AtomicBool::new(false),
            value: UnsafeCell::new(value),
        }
    }

    /// Consumes the mutex and returns its value.
    pub fn into_inner(self) -> T {
        self.value.into_inner()
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Takes the lock if it is free, without waiting.
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        // Acquire pairs with the Release in `MutexGuard::drop`, so the previous
        // holder's writes to `value` are visible to us.
        self.locked
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .ok()
            .map(|_| MutexGuard {
                mutex: self,
                _value: PhantomData,
            })
    }

    /// Takes the lock, spinning until it is free.
    pub fn lock(&self) -> MutexGuard<'_, T> {
        loop {
            if let Some(guard) = self.try_lock() {
                return guard;
            }
            // Spin on a plain load so that waiting cores do not keep stealing
            // the cache line from the holder.
            let mut spins = 0u32;
            while self.locked.load(Ordering::Relaxed) {
                core::hint::spin_loop();
                spins = spins.saturating_add(1);
                // Under an OS the holder may have been preempted: give it the
                // CPU rather than burn our time slice.
                #[cfg(feature = "std")]
                if spins > 64 {
                    std::thread::yield_now();
                }
            }
        }
    }

    /// Whether somebody holds the lock right now (a hint: it may change at once).
    pub fn is_locked(&self) -> bool {
        self.locked.load(Ordering::Relaxed)
    }

    /// Mutable access without locking: `&mut self` proves nobody else holds it.
    pub fn get_mut(&mut self) -> &mut T {
        self.value.get_mut()
    }
}

impl<T: Default> Default for Mutex<T> {
    fn default() -> Self {
        Mutex::new(T::default())
    }
}

impl<T: ?Sized> core::fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Mutex")
            .field("locked", &self.is_locked())
            .finish_non_exhaustive()
    }
}

/// Proof that the lock is held; gives access to the value and unlocks on drop.
///
/// A guard may be sent to another thread when `T: Send` (the lock is a plain
/// flag, so any thread may release it), and shared between threads only
/// when `T: Sync` as well: `&MutexGuard<T>` hands out `&T` to every thread
/// that holds it, so a guard of a `Cell` must stay on one thread.
///
/// ```compile_fail
/// use core::cell::Cell;
/// use openamp_metal::Mutex;
/// let m = Mutex::new(Cell::new(0u32));
/// let g = m.lock();
/// std::thread::scope(|s| {
///     s.spawn(|| g.set(1)); // error: `Cell<u32>` cannot be shared between threads
///     g.set(2);
/// });
/// ```
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct MutexGuard<'a, T: ?Sized> {
    mutex: &'a Mutex<T>,
    /// The guard acts as a `&mut T`, and takes its auto traits: `Sync` only
    /// if `T` is (`&Mutex<T>` alone would be `Sync` whenever `T: Send`).
    _value: PhantomData<&'a mut T>,
}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard exists only while this thread holds the lock, so
        // no other reference to `value` is live.
        unsafe { &*self.mutex.value.get() }
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`, and `&mut self` makes this the only borrow.
        unsafe { &mut *self.mutex.value.get() }
    }
}

impl<T: ?Sized> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        // Release publishes our writes to `value` to the next holder.
        self.mutex.locked.store(false, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::cell::Cell;
    use core::sync::atomic::AtomicU32;

    /// Compile-time checks of the guard's auto traits. `Sync` is probed with
    /// two blanket impls of one trait, one of them only for `Sync` types:
    /// for a `Sync` type, the probe's type parameter cannot be inferred and
    /// the crate does not build.
    mod auto_traits {
        use super::*;

        trait NotSync<Which> {
            const OK: () = ();
        }
        impl<T: ?Sized> NotSync<()> for T {}
        struct IfSync;
        impl<T: ?Sized + Sync> NotSync<IfSync> for T {}

        const fn is_sync<T: ?Sized + Sync>() {}
        const fn is_send<T: ?Sized + Send>() {}

        // A guard of a `Cell` (Send, not Sync) is not `Sync`.
        const _: () = <MutexGuard<'static, Cell<u32>> as NotSync<_>>::OK;
        // A guard of a `Sync` type is, and any guard of a `Send` type is `Send`.
        const _: () = is_sync::<MutexGuard<'static, AtomicU32>>();
        const _: () = is_sync::<MutexGuard<'static, u64>>();
        const _: () = is_send::<MutexGuard<'static, Cell<u32>>>();
    }

    /// Sharing one guard between threads, soundly: the value is `Sync`.
    /// Under Miri this is the data-race check of the guard's `Sync` bound.
    #[test]
    fn a_guard_of_a_sync_value_is_shared_between_threads() {
        let m = Mutex::new(AtomicU32::new(0));
        let rounds = if cfg!(miri) { 20 } else { 1000 };
        let g = m.lock();
        std::thread::scope(|s| {
            for _ in 0..2 {
                s.spawn(|| {
                    for _ in 0..rounds {
                        g.fetch_add(1, Ordering::Relaxed);
                    }
                });
            }
        });
        assert_eq!(g.load(Ordering::Relaxed), 2 * rounds);
        drop(g);
        assert!(!m.is_locked());
    }

    /// A guard sent to another thread is released there.
    #[test]
    fn a_guard_is_released_by_the_thread_it_was_sent_to() {
        let m = Mutex::new(Cell::new(1u32));
        let g = m.lock();
        std::thread::scope(|s| {
            s.spawn(move || {
                g.set(g.get() + 1);
                drop(g);
            });
        });
        assert!(!m.is_locked());
        assert_eq!(m.lock().get(), 2);
    }

    #[test]
    fn lock_is_exclusive_across_threads() {
        let m = Mutex::new(0u64);
        let threads = if cfg!(miri) { 2 } else { 4 };
        let rounds = if cfg!(miri) { 50 } else { 10_000 };
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(|| {
                    for _ in 0..rounds {
                        *m.lock() += 1;
                    }
                });
            }
        });
        assert_eq!(m.into_inner(), threads * rounds);
    }

    #[test]
    fn try_lock_fails_while_held() {
        let m = Mutex::new(());
        let g = m.lock();
        assert!(m.is_locked());
        assert!(m.try_lock().is_none());
        drop(g);
        assert!(!m.is_locked());
        assert!(m.try_lock().is_some());
    }
}
