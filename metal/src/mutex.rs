//! A spin [`Mutex`], as libmetal's: usable across cores and from `static`s.

use core::cell::UnsafeCell;
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
            .map(|_| MutexGuard { mutex: self })
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
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct MutexGuard<'a, T: ?Sized> {
    mutex: &'a Mutex<T>,
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
