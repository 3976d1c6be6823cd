//! The life-cycle states of a remote processor and the transitions between them.

use core::fmt;

/// The states of a remote processor, as OpenAMP names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Not initialised, or powered off.
    Offline,
    /// Configured, firmware not yet loaded.
    Configured,
    /// Firmware loaded (or the table attached), ready to start.
    Ready,
    /// Running.
    Running,
    /// Suspended.
    Suspended,
    /// Crashed or failed.
    Error,
    /// Stopped after running.
    Stopped,
}

impl State {
    /// Every state, in declaration order.
    pub const ALL: [State; 7] = [
        State::Offline,
        State::Configured,
        State::Ready,
        State::Running,
        State::Suspended,
        State::Error,
        State::Stopped,
    ];

    /// The state's name, lower case, as Linux's sysfs `state` file spells the
    /// ones it shares.
    pub const fn name(self) -> &'static str {
        match self {
            State::Offline => "offline",
            State::Configured => "configured",
            State::Ready => "ready",
            State::Running => "running",
            State::Suspended => "suspended",
            State::Error => "error",
            State::Stopped => "stopped",
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What drives a transition: the operations of
/// [`Remoteproc`](crate::Remoteproc), and a crash report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Event {
    /// `config`: the platform is set up, the table (if any) is known.
    Config,
    /// `load` or `attach`: firmware in place, resources handled.
    Load,
    /// `start`.
    Start,
    /// `suspend` (a platform that supports it).
    Suspend,
    /// `resume` after a suspend.
    Resume,
    /// `stop`.
    Stop,
    /// `shutdown`: stop if running, release everything, back to offline.
    Shutdown,
    /// Something failed: the remote crashed or an operation of the platform
    /// failed half-way.
    Fail,
}

impl Event {
    /// Every event.
    pub const ALL: [Event; 8] = [
        Event::Config,
        Event::Load,
        Event::Start,
        Event::Suspend,
        Event::Resume,
        Event::Stop,
        Event::Shutdown,
        Event::Fail,
    ];
}

/// The state `event` leads to from `from`, or `None` if the transition is
/// not allowed.
///
/// | from | allowed events |
/// |---|---|
/// | offline | config, shutdown (stays offline) |
/// | configured | load, config, shutdown, fail |
/// | ready | start, load (again), shutdown, fail |
/// | running | stop, suspend, shutdown, fail |
/// | suspended | resume, stop, shutdown, fail |
/// | stopped | start, load, shutdown, fail |
/// | error | stop, shutdown |
pub const fn next(from: State, event: Event) -> Option<State> {
    use Event as E;
    use State as S;
    Some(match (from, event) {
        (_, E::Shutdown) => S::Offline,
        (S::Offline, E::Config) | (S::Configured, E::Config) => S::Configured,
        (S::Configured | S::Ready | S::Stopped, E::Load) => S::Ready,
        (S::Ready | S::Stopped, E::Start) => S::Running,
        (S::Running, E::Suspend) => S::Suspended,
        (S::Suspended, E::Resume) => S::Running,
        (S::Running | S::Suspended | S::Error, E::Stop) => S::Stopped,
        (S::Configured | S::Ready | S::Running | S::Suspended | S::Stopped, E::Fail) => S::Error,
        _ => return None,
    })
}

/// The state an event aims at, used to name the target in errors.
pub const fn target(event: Event) -> State {
    match event {
        Event::Config => State::Configured,
        Event::Load => State::Ready,
        Event::Start | Event::Resume => State::Running,
        Event::Suspend => State::Suspended,
        Event::Stop => State::Stopped,
        Event::Shutdown => State::Offline,
        Event::Fail => State::Error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn event() -> impl Strategy<Value = Event> {
        proptest::sample::select(Event::ALL.to_vec())
    }

    proptest! {
        /// Any sequence of events: every allowed one lands in `next`'s
        /// state; every refused one leaves the state as it was.
        #[test]
        fn sequences_follow_the_table(events in proptest::collection::vec(event(), 0..64)) {
            let mut s = State::Offline;
            for e in events {
                match next(s, e) {
                    Some(to) => {
                        if e == Event::Shutdown { prop_assert_eq!(to, State::Offline); }
                        if e == Event::Start || e == Event::Resume { prop_assert_eq!(to, State::Running); }
                        s = to;
                    }
                    None => prop_assert_ne!(e, Event::Shutdown),
                }
            }
        }
    }

    #[test]
    fn the_machine_is_as_documented() {
        use Event as E;
        use State as S;
        // Running is reached only through start or resume.
        for from in State::ALL {
            for e in Event::ALL {
                if next(from, e) == Some(S::Running) {
                    assert!(matches!(e, E::Start | E::Resume), "{from} {e:?}");
                }
            }
        }
        assert_eq!(next(S::Offline, E::Start), None);
        assert_eq!(next(S::Running, E::Load), None);
        assert_eq!(next(S::Error, E::Start), None);
        assert_eq!(next(S::Error, E::Stop), Some(S::Stopped));
        assert_eq!(next(S::Stopped, E::Start), Some(S::Running));
        // Every state can be left for offline.
        for from in State::ALL {
            assert_eq!(next(from, E::Shutdown), Some(S::Offline));
        }
    }
}
