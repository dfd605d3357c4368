//! The state record as the run writes it: every change is saved at once, atomically.

use std::sync::{Arc, Mutex, MutexGuard};

use crate::plan::StepId;
use crate::state::{Layout, Outcome, State, StateError};

/// The run's [`State`], shared by its steps; every update is written to `state.json`
/// before it returns.
#[derive(Debug, Clone)]
pub struct Journal {
    layout: Layout,
    state: Arc<Mutex<State>>,
}

impl Journal {
    /// Starts recording `state` (writing it once at once).
    pub fn open(layout: Layout, state: State) -> Result<Self, StateError> {
        state.save(&layout)?;
        Ok(Self {
            layout,
            state: Arc::new(Mutex::new(state)),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A copy of the record as it is now.
    pub fn snapshot(&self) -> State {
        self.lock().clone()
    }

    /// Changes the record and writes it.
    pub fn update<T>(&self, change: impl FnOnce(&mut State) -> T) -> Result<T, StateError> {
        let mut state = self.lock();
        let out = change(&mut state);
        state.save(&self.layout)?;
        Ok(out)
    }

    pub fn start(&self, id: &StepId) -> Result<(), StateError> {
        self.update(|s| s.start(id))
    }

    pub fn finish(&self, id: &StepId, outcome: Outcome) -> Result<(), StateError> {
        self.update(|s| s.finish(id, outcome))
    }

    pub fn layout(&self) -> &Layout {
        &self.layout
    }
}
